import Foundation
import StowageModel
import StowageMonitoringRules
import StowageStore
import StowageTelemetryStore

/// What an alarm action job reads and writes in the database: the key its webhooks are signed with, the outcome in
/// the alarm's history, and a step-scaling policy run. Delivering the webhook is the worker's (it holds the HTTP
/// client and the outbound policy), between these calls and outside any transaction.
public struct AlarmActions: Sendable {
    let system: SystemContext

    public init(_ system: SystemContext) { self.system = system }

    /// The key the account's alarm webhooks are signed with, made on first use.
    public func webhookSecret(account: String) async throws -> String {
        try await system.database.transaction { conn in try await AlarmStore(logger: system.logger).webhookSecret(conn, account: account) }
    }

    /// Says in the alarm's history what became of one of its actions.
    public func record(account: String, alarm: String, _ summary: String) async throws {
        try await system.database.transaction { conn in
            try await AlarmStore(logger: system.logger).history(conn, account: account, alarm: alarm, type: "Action", summary: summary)
        }
    }

    /// `…:scalingPolicy:<resourceId>:resource/ecs/<resourceId>:policyName/<name>` → (resourceId, name).
    static func parsePolicyArn(_ arn: String) -> (String, String)? {
        guard let a = arn.range(of: ":scalingPolicy:"), let b = arn.range(of: ":resource/", range: a.upperBound..<arn.endIndex),
              let c = arn.range(of: ":policyName/") else { return nil }
        return (String(arn[a.upperBound..<b.lowerBound]), String(arn[c.upperBound...]))
    }

    /// Runs the step-scaling policy `arn` for an alarm that is still in ALARM, under its scalable target's row lock:
    /// the breach (the alarm's latest datapoint against its threshold) picks the step, the target's bounds, the
    /// policy's cooldown and the target's suspensions hold it back. A policy that is gone is said in the history.
    public func runStepPolicy(account: String, arn: String, alarm: String) async throws {
        guard let (resourceId, name) = Self.parsePolicyArn(arn) else {
            try await record(account: account, alarm: alarm, "Action \(arn) is not a scaling policy ARN")
            return
        }
        try await system.database.transaction { conn in
            let scaling = ScalingStore(logger: system.logger)
            guard let target = try await scaling.targets(conn, account: account, resourceIds: [resourceId], lock: true).first,
                  let policy = try await scaling.policies(conn, account: account, resourceId: resourceId, names: [name]).first,
                  let config = policy.request.stepScalingPolicyConfiguration,
                  let kind = StepScaling.AdjustmentType(rawValue: config.adjustmentType ?? "") else {
                try await AlarmStore(logger: system.logger).history(conn, account: account, alarm: alarm, type: "Action",
                                                             summary: "Scaling policy \(arn) no longer exists")
                return
            }
            guard let row = try await AlarmStore(logger: system.logger).get(conn, account: account, names: [alarm], prefix: nil, state: nil,
                                                                     after: nil, limit: 1).first,
                  row.state == "ALARM", let threshold = row.definition.threshold else { return }
            let now = system.clock.now()
            let cooldown = TimeInterval(config.cooldown ?? 300)
            let last = [policy.lastScaleOut, policy.lastScaleIn].compactMap { $0 }.max()
            if let last, now.timeIntervalSince(last) < cooldown { return }
            let latest = row.reasonData.flatMap { text -> Double? in
                guard let data = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)),
                      case .object(let o) = data, case .array(let points)? = o["recentDatapoints"], case .number(let v)? = points.last else { return nil }
                return v
            }
            let lessThan = row.definition.comparisonOperator.hasPrefix("Less")
            let breach = latest.map { $0 - threshold } ?? (lessThan ? -1e-9 : 0)
            let rules = StepScaling(adjustmentType: kind, steps: (config.stepAdjustments ?? []).map {
                StepAdjustment(lower: $0.metricIntervalLowerBound, upper: $0.metricIntervalUpperBound, adjustment: $0.scalingAdjustment)
            }, minAdjustmentMagnitude: config.minAdjustmentMagnitude)
            guard let service = try await ServiceStore(logger: system.logger).get(conn, account: account, cluster: target.cluster,
                                                                            names: [target.service]).first else { return }
            let current = service.desiredCount
            guard let wanted = rules.apply(current: current, breach: breach, minCapacity: target.minCapacity, maxCapacity: target.maxCapacity),
                  wanted != current else { return }
            if wanted > current, target.suspended.dynamicScalingOutSuspended == true { return }
            if wanted < current, target.suspended.dynamicScalingInSuspended == true { return }
            let cause = "monitor alarm \(alarm) in state ALARM triggered policy \(name) (metric \(latest.map(formatted) ?? "n/a"), threshold \(formatted(threshold)))"
            try await scaling.setCapacity(conn, target: target, to: wanted, description: "Setting desired count to \(wanted).", cause: cause)
            try await scaling.markScaled(conn, account: account, resourceId: resourceId, policy: name, out: wanted > current)
        }
    }
}
