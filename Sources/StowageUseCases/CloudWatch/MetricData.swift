import Foundation
import StowageModel
import StowageMonitoringRules
import StowageStore
import StowageTelemetryStore

/// CloudWatch metrics: datapoints written and read for one account. The door has checked the request (names,
/// units, times, statistics, periods) and authorized it.
public struct MetricData: Sendable {
    let tenant: TenantContext
    let store: MetricStore

    public init(tenant: TenantContext, store: MetricStore) { self.tenant = tenant; self.store = store }

    var account: String { tenant.account }

    /// PutMetricData: every point or none.
    public func put(_ points: [MetricPoint]) async throws {
        try await tenant.database.transaction { [self] conn in try await store.put(conn, account: account, points) }
    }

    /// GetMetricStatistics: the series' unit and its rollup per period in [start, end).
    public func periods(_ identity: MetricIdentity, start: Int64, end: Int64, period: Int64) async throws
        -> (unit: String?, periods: [(Int64, Rollup)])
    {
        try await tenant.database.withConnection { [self] conn in
            try await store.periods(conn, account: account, identity, start: start, end: end, period: period)
        }
    }

    /// GetMetricData: each query's series by id; an expression that cannot be computed throws `MetricMathError`.
    public func evaluate(_ queries: [MetricQuerySpec], start: Int64, end: Int64) async throws -> [String: TimeSeries] {
        try await tenant.database.withConnection { [self] conn in
            try await store.evaluate(conn, account: account, queries, start: start, end: end)
        }
    }

    /// ListMetrics: a page of series in id order after `after`.
    public func list(namespace: String?, name: String?, dimensions: [CloudWatch.DimensionFilter], activeSince: Date?, after: Int64?,
                     limit: Int) async throws -> [(id: Int64, identity: MetricIdentity)]
    {
        try await tenant.database.withConnection { [self] conn in
            try await store.list(conn, account: account, namespace: namespace, name: name, dimensions: dimensions,
                                 activeSince: activeSince, after: after, limit: limit)
        }
    }
}
