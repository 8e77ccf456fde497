import Foundation
import PostgresNIO
import StowageMonitoring

/// One query of GetMetricData or of a metric-math alarm: a stored series' statistic, or an expression.
public struct MetricQuerySpec: Sendable {
    public var id: String
    public var identity: MetricIdentity?
    public var statistic: Statistic
    public var period: Int64
    public var expression: MetricExpression?
    public init(id: String, identity: MetricIdentity?, statistic: Statistic, period: Int64, expression: MetricExpression?) {
        self.id = id; self.identity = identity; self.statistic = statistic; self.period = period; self.expression = expression
    }
}

/// Reads series and answers statistics and metric math: shared by the CloudWatch actions, alarms and scaling.
extension MetricStore {
    /// A series' rollups merged into periods aligned to `start`; empty for an unknown series.
    public func periods(_ conn: PostgresConnection, account: String, _ identity: MetricIdentity, start: Int64, end: Int64,
                        period: Int64) async throws -> (unit: String?, periods: [(Int64, Rollup)])
    {
        guard let found = try await series(conn, account: account, identity) else { return (nil, []) }
        let minutes = try await minutes(conn, account: account, series: found.id, start: start, end: end)
        return (found.unit, PeriodAggregation.aggregate(minutes, start: start, period: period))
    }

    /// Evaluates every query (stat queries first, then expressions in dependency order) over [start, end).
    public func evaluate(_ conn: PostgresConnection, account: String, _ queries: [MetricQuerySpec], start: Int64, end: Int64)
        async throws -> [String: TimeSeries]
    {
        var results: [String: TimeSeries] = [:]
        var statSeries: [TimeSeries] = []
        for q in queries {
            guard let identity = q.identity else { continue }
            let (_, periods) = try await periods(conn, account: account, identity, start: start, end: end, period: q.period)
            var s: TimeSeries = [:]
            for (t, r) in periods { if let v = r.value(of: q.statistic) { s[t] = v } }
            results[q.id] = s
            statSeries.append(s)
        }
        var pending = queries.filter { $0.expression != nil }
        while !pending.isEmpty {
            guard let index = pending.firstIndex(where: { q in
                (q.expression?.references ?? []).allSatisfy { results[$0] != nil }
            }) else {
                throw MetricMathError("Expressions refer to each other in a cycle or to unknown ids: \(pending.map(\.id).joined(separator: ", ")).")
            }
            let q = pending.remove(at: index)
            guard let expression = q.expression else { continue }
            switch try MetricMath.evaluate(expression, results, all: statSeries) {
            case .series(let s): results[q.id] = s
            case .scalar(let v):
                let times = Set(statSeries.flatMap(\.keys))
                results[q.id] = Dictionary(uniqueKeysWithValues: times.map { ($0, v) })
            case .array:
                throw MetricMathError("Expression \(q.id) returns several time series; reduce them with SUM, AVG, MIN or MAX.")
            }
        }
        return results
    }
}
