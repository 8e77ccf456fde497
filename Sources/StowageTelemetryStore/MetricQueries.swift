import Foundation
import PostgresNIO
import StowageModel
import StowageMonitoringRules

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

/// A refused metric request: CloudWatch's error code and a message naming the field.
public struct MetricRequestError: Error, Sendable, Equatable {
    public var code: String
    public var message: String
    init(_ message: String, code: String = "InvalidParameterValue") { self.code = code; self.message = message }
}

extension MetricIdentity {
    /// The identity of a metric a request names, checked against CloudWatch's limits.
    public static func checked(_ namespace: String, _ name: String, _ dimensions: [CloudWatch.Dimension]?) throws(MetricRequestError)
        -> MetricIdentity
    {
        guard (1...255).contains(namespace.count) else { throw MetricRequestError("Namespace must be 1 to 255 characters.") }
        guard (1...255).contains(name.count) else { throw MetricRequestError("MetricName must be 1 to 255 characters.") }
        let dims = dimensions ?? []
        guard dims.count <= 30 else { throw MetricRequestError("A metric has at most 30 dimensions, got \(dims.count).") }
        for d in dims {
            guard (1...255).contains(d.name.count), (1...1024).contains(d.value.count) else {
                throw MetricRequestError("Dimension names must be 1 to 255 characters and values 1 to 1024.")
            }
        }
        guard Set(dims.map(\.name)).count == dims.count else {
            throw MetricRequestError("Dimension names must be unique.", code: "InvalidParameterCombination")
        }
        return MetricIdentity(namespace: namespace, name: name, dimensions: dims)
    }
}

extension MetricQuerySpec {
    /// Stowage keeps 1-minute data, so periods are whole minutes.
    public static func checkPeriod(_ p: Int) throws(MetricRequestError) {
        guard p >= 60, p % 60 == 0 else {
            throw MetricRequestError("The parameter Period must be a multiple of 60 (Stowage stores 1-minute data), got \(p).")
        }
    }

    /// A simple statistic (Average, Sum, SampleCount, Minimum, Maximum) or, when `extended`, a percentile.
    public static func checkStatistic(_ text: String, extended: Bool, field: String) throws(MetricRequestError) -> Statistic {
        guard let s = Statistic(text), text.hasPrefix("p") == extended else {
            throw MetricRequestError(extended ? "\(field) \(text) must be a percentile like p99 or p99.9."
                                              : "\(field) \(text) must be one of Average, Sum, SampleCount, Minimum, Maximum.")
        }
        return s
    }

    /// Checks and converts GetMetricData's (and metric-math alarms') queries.
    public static func parse(_ queries: [CloudWatch.MetricDataQuery]) throws(MetricRequestError) -> [MetricQuerySpec] {
        guard (1...500).contains(queries.count) else { throw MetricRequestError("MetricDataQueries must hold 1 to 500 queries.") }
        let known = Set(queries.map(\.id))
        guard known.count == queries.count else { throw MetricRequestError("The ids of MetricDataQueries must be unique.") }
        var specs: [MetricQuerySpec] = []
        for q in queries {
            guard let first = q.id.first, first.isLowercase, q.id.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw MetricRequestError("Query id \(q.id) must start with a lowercase letter and hold only letters, digits and underscores.")
            }
            switch (q.metricStat, q.expression) {
            case (let stat?, nil):
                guard let ns = stat.metric.namespace, let name = stat.metric.metricName else {
                    throw MetricRequestError("Query \(q.id): MetricStat.Metric needs Namespace and MetricName.", code: "MissingParameter")
                }
                try checkPeriod(stat.period)
                guard let s = Statistic(stat.stat) else { throw MetricRequestError("Query \(q.id): Stat \(stat.stat) is not a statistic.") }
                specs.append(MetricQuerySpec(id: q.id, identity: try MetricIdentity.checked(ns, name, stat.metric.dimensions), statistic: s,
                                             period: Int64(stat.period), expression: nil))
            case (nil, let text?):
                let parsed: MetricExpression
                do { parsed = try MetricMath.parse(text) } catch { throw MetricRequestError("Query \(q.id): \(error.message)") }
                if let unknown = parsed.references.subtracting(known).sorted().first {
                    throw MetricRequestError("Query \(q.id): the expression refers to \(unknown), which is not a query id.")
                }
                guard !parsed.references.contains(q.id) else { throw MetricRequestError("Query \(q.id): an expression cannot refer to itself.") }
                if let p = q.period { try checkPeriod(p) }
                specs.append(MetricQuerySpec(id: q.id, identity: nil, statistic: .average, period: Int64(q.period ?? 60), expression: parsed))
            default:
                throw MetricRequestError("Query \(q.id) must have exactly one of MetricStat and Expression.", code: "InvalidParameterCombination")
            }
        }
        return specs
    }

    /// An alarm's queries (one stat query for a single-metric alarm), the id whose series it judges, and its period.
    public static func alarm(_ d: CloudWatch.AlarmDefinition) throws(MetricRequestError) -> (specs: [MetricQuerySpec], judged: String, period: Int64) {
        if let queries = d.metrics {
            let specs = try parse(queries)
            let returned = queries.filter { $0.returnData ?? true }
            guard returned.count == 1, let judged = returned.first?.id else {
                throw MetricRequestError("Exactly one of the alarm's Metrics must have ReturnData true.")
            }
            return (specs, judged, specs.compactMap { $0.identity == nil ? nil : $0.period }.max() ?? 60)
        }
        guard let ns = d.namespace, let name = d.metricName, let period = d.period else {
            throw MetricRequestError("MetricName, Namespace and Period are required (or Metrics).", code: "MissingParameter")
        }
        let identity = try MetricIdentity.checked(ns, name, d.dimensions)
        try checkPeriod(period)
        let statistic: Statistic
        switch (d.statistic, d.extendedStatistic) {
        case (let s?, nil): statistic = try checkStatistic(s, extended: false, field: "Statistic")
        case (nil, let e?): statistic = try checkStatistic(e, extended: true, field: "ExtendedStatistic")
        default:
            throw MetricRequestError("Give exactly one of Statistic and ExtendedStatistic.", code: "InvalidParameterCombination")
        }
        return ([MetricQuerySpec(id: "m", identity: identity, statistic: statistic, period: Int64(period), expression: nil)], "m", Int64(period))
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
