import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import PostgresNIO
import StowageModel
import StowageMonitoringRules
import StowageStore
import StowageTelemetryStore

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
        let now = context.clock.now()
        let written = try await context.database.transaction { conn in
            try await MetricStore(logger: context.logger).rollupECS(conn, from: now.addingTimeInterval(-180), to: now.addingTimeInterval(60))
        }
        context.logger.debug("rolled up AWS/ECS metrics", metadata: ["rollups": "\(written)"])
    }

    /// The latest `evaluationPeriods` periods' values of an alarm's metric (oldest first; nil where no data).
    static func alarmValues(_ conn: PostgresConnection, _ store: MetricStore, account: String, _ d: CloudWatch.AlarmDefinition,
                            now: Date) async throws -> [Double?]
    {
        guard let (specs, judged, period) = try? MetricQuerySpec.alarm(d) else { return [] }
        let end = Int64(now.timeIntervalSince1970) / 60 * 60
        let start = end - period * Int64(d.evaluationPeriods)
        let series = try await store.evaluate(conn, account: account, specs, start: start, end: end)[judged] ?? [:]
        return (0..<d.evaluationPeriods).map { series[start + Int64($0) * period] }
    }

    static func evaluateAlarms(_ context: JobContext) async throws {
        let now = context.clock.now()
        try await context.database.transaction { conn in
            let alarms = AlarmStore(logger: context.logger)
            let metrics = MetricStore(logger: context.logger)
            var after: (String, String)?
            while true {
                let batch = try await alarms.get(conn, account: after?.0, names: nil, prefix: nil, state: nil, after: after?.1,
                                                 limit: 500, lock: true)
                for row in batch {
                    let d = row.definition
                    guard let comparison = ComparisonOperator(rawValue: d.comparisonOperator), let threshold = d.threshold else { continue }
                    let rule = AlarmRule(threshold: threshold, comparison: comparison, evaluationPeriods: d.evaluationPeriods,
                                         datapointsToAlarm: d.datapointsToAlarm ?? d.evaluationPeriods,
                                         treatMissingData: TreatMissingData(rawValue: d.treatMissingData ?? "missing") ?? .missing)
                    let values = try await alarmValues(conn, metrics, account: row.account, d, now: now)
                    let current = AlarmState(rawValue: row.state) ?? .insufficientData
                    let (state, reason) = rule.evaluate(values, current: current)
                    let latest = values.last(where: { $0 != nil }) ?? nil
                    let data = try latest.map { value in
                        try ECSJSON.encodeString(JSONValue.object(["version": .string("1.0"), "recentDatapoints": .array([.number(value)]),
                                                                   "threshold": .number(threshold)]))
                    }
                    let changed = try await alarms.transition(conn, account: row.account, alarm: d, from: row.state, to: state.rawValue,
                                                              reason: reason, reasonData: data)
                    // Step scaling keeps acting while the alarm stays in ALARM (each run gated by its cooldown).
                    if !changed, state == .alarm, d.actionsEnabled ?? true {
                        let policies = (d.alarmActions ?? []).filter { $0.contains(":scalingPolicy:") }
                        try await alarms.enqueueActions(conn, account: row.account, alarm: d.alarmName, state: state.rawValue, reason: reason,
                                                        actions: policies)
                    }
                }
                guard batch.count == 500, let last = batch.last else { break }
                after = (last.account, last.definition.alarmName)
            }
        }
    }

    /// Runs one alarm action: a signed webhook POST (retried by the queue on failure) or a step-scaling policy.
    static func alarmAction(_ context: JobContext, _ settings: MonitoringSettings) async throws {
        let action = try context.payload("action")
        let alarm = try context.payload("alarm")
        let state = try context.payload("state")
        let reason = try context.payload("reason")
        let account = context.job.account
        if action.hasPrefix("http://") || action.hasPrefix("https://") {
            let secret = try await context.database.transaction { conn in
                try await AlarmStore(logger: context.logger).webhookSecret(conn, account: account)
            }
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
                try await recordAction(context, alarm: alarm, "Failed to deliver webhook \(action): \(error)")
                context.logger.warning("webhook refused", metadata: ["url": "\(action)", "reason": "\(error.reason)"])
                return
            } catch {
                try await recordAction(context, alarm: alarm, "Failed to deliver webhook \(action): \(error) (attempt \(context.job.attempts))")
                throw error
            }
            guard (200..<300).contains(status) else {
                try await recordAction(context, alarm: alarm, "Webhook \(action) answered \(status) (attempt \(context.job.attempts))")
                throw Webhook.Refused(status: status)
            }
            try await recordAction(context, alarm: alarm, "Successfully executed action \(action)")
            return
        }
        try await runStepPolicy(context, arn: action, alarm: alarm)
    }

    static func recordAction(_ context: JobContext, alarm: String, _ summary: String) async throws {
        try await context.database.transaction { conn in
            try await AlarmStore(logger: context.logger).history(conn, account: context.job.account, alarm: alarm, type: "Action", summary: summary)
        }
    }

    /// `…:scalingPolicy:<resourceId>:resource/ecs/<resourceId>:policyName/<name>` → (resourceId, name).
    static func parsePolicyArn(_ arn: String) -> (String, String)? {
        guard let a = arn.range(of: ":scalingPolicy:"), let b = arn.range(of: ":resource/", range: a.upperBound..<arn.endIndex),
              let c = arn.range(of: ":policyName/") else { return nil }
        return (String(arn[a.upperBound..<b.lowerBound]), String(arn[c.upperBound...]))
    }

    static func runStepPolicy(_ context: JobContext, arn: String, alarm: String) async throws {
        guard let (resourceId, name) = parsePolicyArn(arn) else {
            try await recordAction(context, alarm: alarm, "Action \(arn) is not a scaling policy ARN")
            return
        }
        let account = context.job.account
        try await context.database.transaction { conn in
            let scaling = ScalingStore(logger: context.logger)
            guard let target = try await scaling.targets(conn, account: account, resourceIds: [resourceId], lock: true).first,
                  let policy = try await scaling.policies(conn, account: account, resourceId: resourceId, names: [name]).first,
                  let config = policy.request.stepScalingPolicyConfiguration,
                  let kind = StepScaling.AdjustmentType(rawValue: config.adjustmentType ?? "") else {
                try await AlarmStore(logger: context.logger).history(conn, account: account, alarm: alarm, type: "Action",
                                                                     summary: "Scaling policy \(arn) no longer exists")
                return
            }
            guard let row = try await AlarmStore(logger: context.logger).get(conn, account: account, names: [alarm], prefix: nil, state: nil,
                                                                             after: nil, limit: 1).first,
                  row.state == "ALARM", let threshold = row.definition.threshold else { return }
            let now = context.clock.now()
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
            guard let service = try await ServiceStore(logger: context.logger).get(conn, account: account, cluster: target.cluster,
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

    /// Scheduled actions, then target tracking, for every scalable target. Each target is its own
    /// transaction: one that cannot be evaluated (a conflict, a bad metric) is logged and retried on the
    /// next pass without holding back the others.
    static func evaluateScaling(_ context: JobContext, _ settings: MonitoringSettings) async throws {
        let listed = try await context.database.transaction { conn in
            try await ScalingStore(logger: context.logger).targets(conn, account: nil, resourceIds: nil)
        }
        var failed = 0
        for target in listed {
            do {
                try await evaluateScaling(context, settings, account: target.account, resourceId: target.resourceId)
            } catch {
                failed += 1
                context.logger.warning("scalable target not evaluated", metadata: [
                    "account": "\(target.account)", "resource": "\(target.resourceId)", "error": "\(String(reflecting: error))"])
            }
        }
        if failed > 0 { context.logger.warning("scaling pass incomplete", metadata: ["failed": "\(failed)", "targets": "\(listed.count)"]) }
    }

    /// One scalable target's scheduled actions and target tracking, under its row lock.
    static func evaluateScaling(_ context: JobContext, _ settings: MonitoringSettings, account: String, resourceId: String) async throws {
        let now = context.clock.now()
        let nowSeconds = Int64(now.timeIntervalSince1970)
        try await context.database.transaction { conn in
            let scaling = ScalingStore(logger: context.logger)
            let services = ServiceStore(logger: context.logger)
            let metrics = MetricStore(logger: context.logger)
            for var target in try await scaling.targets(conn, account: account, resourceIds: [resourceId], lock: true) {
                if target.suspended.scheduledScalingSuspended != true {
                    for action in try await scaling.scheduled(conn, account: target.account, resourceId: target.resourceId, names: nil) {
                        guard let schedule = try? ScheduleExpression.parse(action.schedule) else { continue }
                        let anchor = Int64((action.start ?? action.createdAt).timeIntervalSince1970)
                        let last = Int64((action.lastFired ?? action.createdAt).timeIntervalSince1970)
                        guard let due = schedule.next(after: last, anchor: anchor), due <= nowSeconds else { continue }
                        if let start = action.start, Double(due) < start.timeIntervalSince1970 { continue }
                        if let end = action.end, Double(due) > end.timeIntervalSince1970 { continue }
                        target.minCapacity = action.minCapacity ?? target.minCapacity
                        target.maxCapacity = max(action.maxCapacity ?? target.maxCapacity, target.minCapacity)
                        try await scaling.upsertTarget(conn, target)
                        try await scaling.markFired(conn, action, at: now)
                        try await scaling.activity(conn, account: target.account, resourceId: target.resourceId, dimension: target.dimension,
                                                   description: "Setting min capacity to \(target.minCapacity) and max capacity to \(target.maxCapacity)",
                                                   cause: "scheduled action name \(action.name) was triggered", status: "Successful", message: nil)
                    }
                }
                guard let service = try await services.get(conn, account: target.account, cluster: target.cluster, names: [target.service]).first,
                      service.status == "ACTIVE" else { continue }
                var current = service.desiredCount
                if let bounded = TargetTracking.bounded(current, min: target.minCapacity, max: target.maxCapacity) {
                    try await scaling.setCapacity(conn, target: target, to: bounded.capacity,
                                                  description: "Setting desired count to \(bounded.capacity).", cause: bounded.cause)
                    current = bounded.capacity
                }
                for policy in try await scaling.policies(conn, account: target.account, resourceId: target.resourceId, names: nil)
                where policy.type == "TargetTrackingScaling" {
                    guard let tt = policy.request.targetTrackingScalingPolicyConfiguration else { continue }
                    let identity: MetricIdentity
                    let stat: Statistic
                    let metricName: String
                    if let custom = tt.customizedMetricSpecification {
                        identity = MetricIdentity(namespace: custom.namespace, name: custom.metricName, dimensions: custom.dimensions ?? [])
                        stat = Statistic(custom.statistic) ?? .average
                        metricName = custom.metricName
                    } else {
                        metricName = tt.predefinedMetricSpecification?.predefinedMetricType == "ECSServiceAverageMemoryUtilization"
                            ? "MemoryUtilization" : "CPUUtilization"
                        identity = MetricIdentity(namespace: "AWS/ECS", name: metricName, dimensions: [
                            .init(name: "ClusterName", value: target.cluster), .init(name: "ServiceName", value: target.service)])
                        stat = .average
                    }
                    let rules = TargetTracking(target: tt.targetValue, minCapacity: target.minCapacity, maxCapacity: target.maxCapacity,
                                               scaleOutCooldown: Double(tt.scaleOutCooldown ?? 300), scaleInCooldown: Double(tt.scaleInCooldown ?? 300),
                                               disableScaleIn: tt.disableScaleIn ?? false || target.suspended.dynamicScalingInSuspended == true,
                                               scaleOutDatapoints: settings.scaleOutDatapoints, scaleInDatapoints: settings.scaleInDatapoints)
                    // The current minute counts too (it holds what agents shipped so far): decisions come a minute sooner.
                    let minutes = max(settings.scaleOutDatapoints, settings.scaleInDatapoints)
                    let end = nowSeconds / 60 * 60 + 60
                    let start = end - Int64(minutes) * 60
                    let (_, periods) = try await metrics.periods(conn, account: target.account, identity, start: start, end: end, period: 60)
                    let byMinute = Dictionary(periods, uniquingKeysWith: { a, _ in a })
                    let recent = (0..<minutes).map { byMinute[start + Int64($0) * 60]?.value(of: stat) }
                    guard let decision = rules.decide(current: current, recent: recent, metricName: metricName,
                                                      sinceScaleOut: policy.lastScaleOut.map { now.timeIntervalSince($0) },
                                                      sinceScaleIn: policy.lastScaleIn.map { now.timeIntervalSince($0) }) else { continue }
                    if decision.capacity > current, target.suspended.dynamicScalingOutSuspended == true { continue }
                    try await scaling.setCapacity(conn, target: target, to: decision.capacity,
                                                  description: "Setting desired count to \(decision.capacity).", cause: decision.cause)
                    try await scaling.markScaled(conn, account: target.account, resourceId: target.resourceId, policy: policy.name,
                                                 out: decision.capacity > current)
                    current = decision.capacity
                }
            }
        }
    }
}
