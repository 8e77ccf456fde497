import Foundation
import StowageModel
import StowageMonitoringRules
import StowageStore
import StowageTelemetryStore

/// The auto scaling pass over every scalable target: its scheduled actions, then target tracking. Each target is
/// its own transaction under its row lock: one that cannot be evaluated (a conflict, a bad metric) is reported and
/// tried again on the next pass without holding back the others.
public struct ScalingPasses: Sendable {
    let system: SystemContext
    /// 1-minute datapoints beyond the target before target tracking scales out, and in.
    let scaleOutDatapoints: Int
    let scaleInDatapoints: Int

    public init(_ system: SystemContext, scaleOutDatapoints: Int, scaleInDatapoints: Int) {
        self.system = system; self.scaleOutDatapoints = scaleOutDatapoints; self.scaleInDatapoints = scaleInDatapoints
    }

    /// A target the pass could not evaluate, and why.
    public struct Failure: Sendable {
        public var account: String
        public var resourceId: String
        public var error: any Error
    }

    /// Evaluates every target; returns how many there were and those that failed.
    public func evaluateAll() async throws -> (targets: Int, failures: [Failure]) {
        let listed = try await system.database.transaction { conn in
            try await ScalingStore(logger: system.logger).targets(conn, account: nil, resourceIds: nil)
        }
        var failures: [Failure] = []
        for target in listed {
            do {
                try await evaluate(account: target.account, resourceId: target.resourceId)
            } catch {
                failures.append(Failure(account: target.account, resourceId: target.resourceId, error: error))
            }
        }
        return (listed.count, failures)
    }

    /// One scalable target's scheduled actions and target tracking, under its row lock.
    func evaluate(account: String, resourceId: String) async throws {
        let now = system.clock.now()
        let nowSeconds = Int64(now.timeIntervalSince1970)
        try await system.database.transaction { conn in
            let scaling = ScalingStore(logger: system.logger)
            let services = ServiceStore(logger: system.logger)
            let metrics = MetricStore(logger: system.logger)
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
                                               scaleOutDatapoints: scaleOutDatapoints, scaleInDatapoints: scaleInDatapoints)
                    // The current minute counts too (it holds what agents shipped so far): decisions come a minute sooner.
                    let minutes = max(scaleOutDatapoints, scaleInDatapoints)
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
