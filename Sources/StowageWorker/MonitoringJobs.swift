import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import StowageModel
import StowageUseCases

/// How often the monitoring jobs run, and the target-tracking windows (1-minute datapoints).
public struct MonitoringSettings: Sendable {
    public var metricsInterval: TimeInterval
    public var alarmInterval: TimeInterval
    public var scalingInterval: TimeInterval
    public var scaleOutDatapoints: Int
    public var scaleInDatapoints: Int
    /// Where alarm webhooks may go: never the control plane's own networks unless allowed here.
    public var outbound = OutboundPolicy()
    public init(metricsInterval: TimeInterval = 15, alarmInterval: TimeInterval = 60, scalingInterval: TimeInterval = 60,
                scaleOutDatapoints: Int = 3, scaleInDatapoints: Int = 15) {
        self.metricsInterval = metricsInterval; self.alarmInterval = alarmInterval; self.scalingInterval = scalingInterval
        self.scaleOutDatapoints = scaleOutDatapoints; self.scaleInDatapoints = scaleInDatapoints
    }
}

/// Built-in metrics, alarm evaluation and actions, and service auto scaling.
enum MonitoringJobs {
    static func rollupMetrics(_ context: JobContext) async throws {
        let written = try await MonitoringPasses(context.system).rollUpMetrics()
        context.logger.debug("rolled up AWS/ECS metrics", metadata: ["rollups": "\(written)"])
    }

    static func evaluateAlarms(_ context: JobContext) async throws {
        try await MonitoringPasses(context.system).evaluateAlarms()
    }

    /// Runs one alarm action: a signed webhook POST (retried by the queue on failure) or a step-scaling policy.
    static func alarmAction(_ context: JobContext, _ settings: MonitoringSettings) async throws {
        let action = try context.payload("action")
        let alarm = try context.payload("alarm")
        let state = try context.payload("state")
        let reason = try context.payload("reason")
        let account = context.job.account
        let actions = AlarmActions(context.system)
        guard action.hasPrefix("http://") || action.hasPrefix("https://") else {
            try await actions.runStepPolicy(account: account, arn: action, alarm: alarm)
            return
        }
        let secret = try await actions.webhookSecret(account: account)
        let timestamp = String(Int64(context.clock.now().timeIntervalSince1970))
        let body = try ECSJSON.encodeString(JSONValue.object([
            "alarmName": .string(alarm), "newStateValue": .string(state), "newStateReason": .string(reason),
            "accountId": .string(account), "timestamp": .string(timestamp),
        ]))
        let mac = HMAC<SHA256>.authenticationCode(for: Data((timestamp + "." + body).utf8), using: SymmetricKey(data: Data(secret.utf8)))
        let headers = [("Content-Type", "application/json"), ("X-Stowage-Timestamp", timestamp),
                       ("X-Stowage-Signature", "sha256=" + Hex.encode(mac))]
        let status: UInt
        do {
            status = try await Webhook.post(action, body: body, headers: headers, policy: settings.outbound)
        } catch let error as Webhook.Forbidden {
            // Retrying cannot help: the address is refused until the operator allows it.
            try await actions.record(account: account, alarm: alarm, "Failed to deliver webhook \(action): \(error)")
            context.logger.warning("webhook refused", metadata: ["url": "\(action)", "reason": "\(error.reason)"])
            return
        } catch {
            try await actions.record(account: account, alarm: alarm, "Failed to deliver webhook \(action): \(error) (attempt \(context.job.attempts))")
            throw error
        }
        guard (200..<300).contains(status) else {
            try await actions.record(account: account, alarm: alarm, "Webhook \(action) answered \(status) (attempt \(context.job.attempts))")
            throw Webhook.Refused(status: status)
        }
        try await actions.record(account: account, alarm: alarm, "Successfully executed action \(action)")
    }

    /// A target that cannot be evaluated is reported here and tried again on the next pass.
    static func evaluateScaling(_ context: JobContext, _ settings: MonitoringSettings) async throws {
        let scaling = ScalingPasses(context.system, scaleOutDatapoints: settings.scaleOutDatapoints, scaleInDatapoints: settings.scaleInDatapoints)
        let pass = try await scaling.evaluateAll()
        for failure in pass.failures {
            context.logger.warning("scalable target not evaluated", metadata: [
                "account": "\(failure.account)", "resource": "\(failure.resourceId)", "error": "\(String(reflecting: failure.error))"])
        }
        if !pass.failures.isEmpty {
            context.logger.warning("scaling pass incomplete", metadata: ["failed": "\(pass.failures.count)", "targets": "\(pass.targets)"])
        }
    }
}
