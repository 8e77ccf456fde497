import Foundation
import StowageModel
import StowageMonitoringRules
import StowageTelemetryStore
import StowageUseCases

/// CloudWatch's metric and alarm actions (`GraniteServiceVersion20100801.<Action>`, JSON protocol).
enum CloudWatchActions {
    static func invalid(_ message: String) -> APIError { APIError("InvalidParameterValue", message) }
    static let units: Set<String> = [
        "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes", "Bits", "Kilobits",
        "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second", "Kilobytes/Second", "Megabytes/Second",
        "Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second",
        "Terabits/Second", "Count/Second", "None",
    ]
    /// GetMetricData's ceiling on datapoints one request may ask for.
    static let maxDatapoints = 100_800

    /// Runs a check shared with the worker, answering its refusal in CloudWatch's error format.
    static func checked<T>(_ body: () throws(MetricRequestError) -> T) throws(APIError) -> T {
        do { return try body() } catch { throw APIError(error.code, error.message) }
    }

    static func identity(_ namespace: String, _ name: String, _ dimensions: [CloudWatch.Dimension]?) throws(APIError) -> MetricIdentity {
        try checked { () throws(MetricRequestError) in try MetricIdentity.checked(namespace, name, dimensions) }
    }

    static func putMetricData(_ input: CloudWatch.PutMetricDataRequest, _ c: Caller) async throws -> Empty {
        guard !input.namespace.hasPrefix("AWS/") else { throw invalid("The value AWS/ for parameter Namespace is invalid: AWS/ is reserved.") }
        guard (1...1000).contains(input.metricData.count) else { throw invalid("MetricData must hold 1 to 1000 items.") }
        let now = c.backend.clock.now().timeIntervalSince1970
        var points: [MetricPoint] = []
        for (i, datum) in input.metricData.enumerated() {
            let id = try identity(input.namespace, datum.metricName, datum.dimensions)
            let unit = datum.unit ?? "None"
            guard units.contains(unit) else { throw invalid("MetricData.member.\(i + 1).Unit \(unit) is not a CloudWatch unit.") }
            let ts = datum.timestamp?.timeIntervalSince1970 ?? now
            guard ts >= now - 14 * 86400, ts <= now + 7200 else {
                throw invalid("MetricData.member.\(i + 1).Timestamp must be within the last two weeks and at most two hours ahead.")
            }
            let given = [datum.value != nil, datum.statisticValues != nil, datum.values != nil].filter { $0 }.count
            guard given == 1 else {
                throw APIError("InvalidParameterCombination", "MetricData.member.\(i + 1) must have exactly one of Value, StatisticValues and Values.")
            }
            let rollup: Rollup
            if let v = datum.value {
                guard v.isFinite, let r = Rollup(values: [v]) else { throw invalid("MetricData.member.\(i + 1).Value must be a finite number.") }
                rollup = r
            } else if let s = datum.statisticValues {
                guard s.sampleCount > 0, s.minimum <= s.maximum, [s.sum, s.minimum, s.maximum].allSatisfy(\.isFinite) else {
                    throw invalid("MetricData.member.\(i + 1).StatisticValues needs SampleCount > 0 and Minimum <= Maximum.")
                }
                rollup = Rollup(statisticSet: s.sampleCount, sum: s.sum, minimum: s.minimum, maximum: s.maximum)
            } else {
                let values = datum.values ?? []
                let counts = datum.counts ?? Array(repeating: 1, count: values.count)
                guard (1...150).contains(values.count), counts.count == values.count, values.allSatisfy(\.isFinite), counts.allSatisfy({ $0 > 0 }) else {
                    throw invalid("MetricData.member.\(i + 1): Values needs 1 to 150 finite numbers and Counts, when given, one positive count each.")
                }
                var sketch = QuantileSketch()
                for (v, n) in zip(values, counts) { sketch.add(v, count: Int(n.rounded())) }
                rollup = Rollup(sampleCount: counts.reduce(0, +), sum: zip(values, counts).reduce(0) { $0 + $1.0 * $1.1 },
                                minimum: values.min() ?? 0, maximum: values.max() ?? 0, sketch: sketch)
            }
            points.append(MetricPoint(identity: id, unit: unit, minute: Int64(ts) / 60 * 60, rollup: rollup))
        }
        try await c.authorize(["*"])
        try await c.metricData.put(points)
        return Empty()
    }

    static func statistics(_ names: [String]?, _ extended: [String]?) throws(APIError) -> [(String, Statistic)] {
        let out = try checked { () throws(MetricRequestError) -> [(String, Statistic)] in
            var out: [(String, Statistic)] = []
            for n in names ?? [] { out.append((n, try MetricQuerySpec.checkStatistic(n, extended: false, field: "Statistics member"))) }
            for n in extended ?? [] { out.append((n, try MetricQuerySpec.checkStatistic(n, extended: true, field: "ExtendedStatistics member"))) }
            return out
        }
        guard !out.isEmpty else { throw APIError("MissingParameter", "Statistics or ExtendedStatistics must be given.") }
        guard out.count <= 10 else { throw invalid("At most 10 statistics may be requested at once.") }
        return out
    }

    static func period(_ p: Int) throws(APIError) {
        try checked { () throws(MetricRequestError) in try MetricQuerySpec.checkPeriod(p) }
    }

    static func getMetricStatistics(_ input: CloudWatch.GetMetricStatisticsRequest, _ c: Caller) async throws
        -> CloudWatch.GetMetricStatisticsResponse
    {
        let id = try identity(input.namespace, input.metricName, input.dimensions)
        try period(input.period)
        let stats = try statistics(input.statistics, input.extendedStatistics)
        let start = Int64(input.startTime.timeIntervalSince1970) / 60 * 60
        let end = Int64(input.endTime.timeIntervalSince1970.rounded(.up))
        guard start < end else { throw invalid("The parameter StartTime must be before EndTime.") }
        guard (end - start) / Int64(input.period) <= 1440 else {
            throw invalid("You have requested up to \((end - start) / Int64(input.period)) datapoints, which exceeds the limit of 1440. Use a longer Period or a shorter time range.")
        }
        try await c.authorize(["*"])
        let (unit, periods) = try await c.metricData.periods(id, start: start, end: end, period: Int64(input.period))
        if let wanted = input.unit, let unit, wanted != unit { return .init(label: input.metricName, datapoints: []) }
        let points = periods.map { t, r in
            var d = CloudWatch.Datapoint(timestamp: Date(timeIntervalSince1970: TimeInterval(t)))
            d.unit = unit
            var extended: [String: Double] = [:]
            for (name, s) in stats {
                let v = r.value(of: s)
                switch s {
                case .average: d.average = v
                case .sum: d.sum = v
                case .minimum: d.minimum = v
                case .maximum: d.maximum = v
                case .sampleCount: d.sampleCount = v
                case .percentile: extended[name] = v
                }
            }
            if !extended.isEmpty { d.extendedStatistics = extended }
            return d
        }
        return .init(label: input.metricName, datapoints: points)
    }

    static func getMetricData(_ input: CloudWatch.GetMetricDataRequest, _ c: Caller) async throws -> CloudWatch.GetMetricDataResponse {
        let specs = try checked { () throws(MetricRequestError) in try MetricQuerySpec.parse(input.metricDataQueries) }
        let start = Int64(input.startTime.timeIntervalSince1970) / 60 * 60
        let end = Int64(input.endTime.timeIntervalSince1970.rounded(.up))
        guard start < end else { throw invalid("The parameter StartTime must be before EndTime.") }
        let ascending: Bool
        switch input.scanBy ?? "TimestampDescending" {
        case "TimestampDescending": ascending = false
        case "TimestampAscending": ascending = true
        default: throw invalid("ScanBy must be TimestampDescending or TimestampAscending.")
        }
        let statPeriods = specs.compactMap { $0.identity == nil ? nil : $0.period }
        let requested = specs.reduce(0) { sum, s in
            sum + Int((end - start) / (s.identity == nil ? (statPeriods.min() ?? s.period) : s.period))
        }
        guard requested <= maxDatapoints else {
            throw invalid("You have requested up to \(requested) datapoints, which exceeds the limit of \(maxDatapoints).")
        }
        let pageSize = input.maxDatapoints ?? maxDatapoints
        guard pageSize > 0 else { throw invalid("MaxDatapoints must be positive.") }
        let offset = try PageToken.decode(input.nextToken).flatMap { $0.first.flatMap(Int.init) } ?? 0
        try await c.authorize(["*"])
        let series: [String: TimeSeries]
        do {
            series = try await c.metricData.evaluate(specs, start: start, end: end)
        } catch let error as MetricMathError { throw invalid(error.message) }
        var results: [CloudWatch.MetricDataResult] = []
        var position = 0
        var remaining = pageSize
        var more = false
        for q in input.metricDataQueries where q.returnData ?? true {
            let s = series[q.id] ?? [:]
            let times = ascending ? s.keys.sorted() : s.keys.sorted(by: >)
            let skip = max(0, min(times.count, offset - position))
            position += times.count
            let take = Array(times.dropFirst(skip).prefix(remaining))
            remaining -= take.count
            if skip + take.count < times.count { more = true }
            let label = q.label ?? q.metricStat?.metric.metricName ?? q.id
            results.append(.init(id: q.id, label: label, timestamps: take.map { Date(timeIntervalSince1970: TimeInterval($0)) },
                                 values: take.map { s[$0] ?? 0 }, statusCode: skip + take.count < times.count ? "PartialData" : "Complete"))
        }
        let token = more ? PageToken.encode([String(offset + pageSize)]) : nil
        return .init(metricDataResults: results, nextToken: token, messages: [])
    }

    static func listMetrics(_ input: CloudWatch.ListMetricsRequest, _ c: Caller) async throws -> CloudWatch.ListMetricsResponse {
        let filters = input.dimensions ?? []
        guard filters.count <= 10 else { throw invalid("At most 10 dimension filters may be given.") }
        let after = try PageToken.decode(input.nextToken).flatMap { $0.first.flatMap(Int64.init) }
        var activeSince: Date?
        if let window = input.recentlyActive {
            guard window == "PT3H" else { throw invalid("RecentlyActive must be PT3H.") }
            activeSince = c.backend.clock.now().addingTimeInterval(-3 * 3600)
        }
        try await c.authorize(["*"])
        let page = 500
        let rows = try await c.metricData.list(namespace: input.namespace, name: input.metricName, dimensions: filters,
                                               activeSince: activeSince, after: after, limit: page + 1)
        let metrics = rows.prefix(page).map { row in
            CloudWatch.Metric(namespace: row.identity.namespace, metricName: row.identity.name, dimensions: row.identity.dimensions)
        }
        let token = rows.count > page ? rows.prefix(page).last.map { PageToken.encode([String($0.id)]) } : nil
        return .init(metrics: Array(metrics), nextToken: token)
    }
}

extension Caller {
    /// The metric use cases, acting for this caller's account.
    var metricData: MetricData { MetricData(tenant: tenant, store: backend.metricStore) }
}

/// The CloudWatch actions by name (`GraniteServiceVersion20100801.<Action>`).
public enum CloudWatchOperations {
    public static let all: [Operation] = [
        Operation.json(.cloudwatch, "PutMetricData", .write, CloudWatchActions.putMetricData),
        Operation.json(.cloudwatch, "GetMetricStatistics", .read, CloudWatchActions.getMetricStatistics),
        Operation.json(.cloudwatch, "GetMetricData", .read, CloudWatchActions.getMetricData),
        Operation.json(.cloudwatch, "ListMetrics", .read, CloudWatchActions.listMetrics),
        Operation.json(.cloudwatch, "PutMetricAlarm", .write, AlarmActions.put),
        Operation.json(.cloudwatch, "DescribeAlarms", .read, AlarmActions.describe),
        Operation.json(.cloudwatch, "DeleteAlarms", .write, AlarmActions.delete),
        Operation.json(.cloudwatch, "SetAlarmState", .write, AlarmActions.setState),
        Operation.json(.cloudwatch, "DescribeAlarmHistory", .read, AlarmActions.history),
    ]
}
