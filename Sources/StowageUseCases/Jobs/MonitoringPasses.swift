import Foundation
import PostgresNIO
import StowageModel
import StowageMonitoringRules
import StowageStore
import StowageTelemetryStore

/// The worker's periodic passes over monitoring data, across all accounts: the built-in AWS/ECS metrics rolled up
/// from what agents shipped, and every alarm judged against its metric.
public struct MonitoringPasses: Sendable {
    let system: SystemContext

    public init(_ system: SystemContext) { self.system = system }

    /// Recomputes the last three minutes and the current one, so samples shipped late still count; returns the
    /// number of rollups written.
    public func rollUpMetrics() async throws -> Int {
        let now = system.clock.now()
        return try await system.database.transaction { conn in
            try await MetricStore(logger: system.logger).rollupECS(conn, from: now.addingTimeInterval(-180), to: now.addingTimeInterval(60))
        }
    }

    /// Every alarm, 500 at a time under their row locks in one transaction. Step scaling keeps acting while an
    /// alarm stays in ALARM (each run gated by its cooldown), so those actions are queued again without a change.
    public func evaluateAlarms() async throws {
        let now = system.clock.now()
        try await system.database.transaction { conn in
            let alarms = AlarmStore(logger: system.logger)
            let metrics = MetricStore(logger: system.logger)
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
                    let values = try await Self.alarmValues(conn, metrics, account: row.account, d, now: now)
                    let current = AlarmState(rawValue: row.state) ?? .insufficientData
                    let (state, reason) = rule.evaluate(values, current: current)
                    let latest = values.last(where: { $0 != nil }) ?? nil
                    let data = try latest.map { value in
                        try ECSJSON.encodeString(JSONValue.object(["version": .string("1.0"), "recentDatapoints": .array([.number(value)]),
                                                                   "threshold": .number(threshold)]))
                    }
                    let changed = try await alarms.transition(conn, account: row.account, alarm: d, from: row.state, to: state.rawValue,
                                                              reason: reason, reasonData: data)
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
}
