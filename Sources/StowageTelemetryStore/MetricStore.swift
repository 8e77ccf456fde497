import Foundation
import Logging
import PostgresNIO
import StowageModel
import StowageMonitoringRules
import StowageStore

/// A metric series' identity as CloudWatch defines it: namespace, name and the exact set of dimensions.
public struct MetricIdentity: Sendable, Hashable {
    public var namespace: String
    public var name: String
    /// Sorted by dimension name.
    public var dimensions: [CloudWatch.Dimension]

    public init(namespace: String, name: String, dimensions: [CloudWatch.Dimension]) {
        self.namespace = namespace
        self.name = name
        self.dimensions = dimensions.sorted { $0.name < $1.name }
    }

    /// The canonical text the unique index compares; `rollupECS` builds the same in SQL.
    public var dimensionKey: String { dimensions.map { "\($0.name)=\($0.value)" }.joined(separator: "\u{1F}") }
    /// As stored in `metric_series.dimensions`: CloudWatch's `[{"Name", "Value"}]`.
    var dimensionsJSON: String { (try? ECSJSON.pascalEncoder().encode(dimensions)).map { String(decoding: $0, as: UTF8.self) } ?? "[]" }
}

/// One minute of one series, ready to store.
public struct MetricPoint: Sendable {
    public var identity: MetricIdentity
    public var unit: String
    /// Epoch seconds of the minute.
    public var minute: Int64
    public var rollup: Rollup
    public init(identity: MetricIdentity, unit: String, minute: Int64, rollup: Rollup) {
        self.identity = identity; self.unit = unit; self.minute = minute; self.rollup = rollup
    }
}

/// Metric series and their per-minute rollups in PostgreSQL.
public struct MetricStore: Sendable {
    public let logger: Logger
    public init(logger: Logger) { self.logger = logger }

    /// Merges points into their minutes (adding counts and sums, merging sketches) in two statements.
    public func put(_ conn: PostgresConnection, account: String, _ points: [MetricPoint]) async throws {
        guard !points.isEmpty else { return }
        var merged: [String: MetricPoint] = [:]
        for p in points {
            let key = "\(p.identity.namespace)\u{0}\(p.identity.name)\u{0}\(p.identity.dimensionKey)\u{0}\(p.minute)"
            if var existing = merged[key] { existing.rollup.merge(p.rollup); existing.unit = p.unit; merged[key] = existing }
            else { merged[key] = p }
        }
        var series: [MetricIdentity: String] = [:]
        for p in merged.values { series[p.identity] = p.unit }
        let ids = Array(series.keys)
        try await conn.query("""
            INSERT INTO metric_series (account_id, namespace, metric_name, dimensions, dimension_key, unit)
            SELECT \(account), ns, n, d::jsonb, k, u
            FROM unnest(\(ids.map(\.namespace))::text[], \(ids.map(\.name))::text[], \(ids.map(\.dimensionsJSON))::text[],
                        \(ids.map(\.dimensionKey))::text[], \(ids.map { series[$0] ?? "None" })::text[]) AS v(ns, n, d, k, u)
            ON CONFLICT (account_id, namespace, metric_name, dimension_key) DO UPDATE SET last_seen_at = now(), unit = EXCLUDED.unit
            """, logger: logger)
        let rows = Array(merged.values)
        try await conn.query("""
            INSERT INTO metric_rollups AS r (account_id, series_id, ts, sample_count, sum, minimum, maximum, sketch)
            SELECT \(account), s.series_id, to_timestamp(v.m), v.c, v.s, v.lo, v.hi, v.sk::bigint[]
            FROM unnest(\(rows.map(\.identity.namespace))::text[], \(rows.map(\.identity.name))::text[],
                        \(rows.map(\.identity.dimensionKey))::text[], \(rows.map(\.minute))::int8[],
                        \(rows.map(\.rollup.sampleCount))::float8[], \(rows.map(\.rollup.sum))::float8[],
                        \(rows.map(\.rollup.minimum))::float8[], \(rows.map(\.rollup.maximum))::float8[],
                        \(rows.map { "{" + $0.rollup.sketch.encoded.map(String.init).joined(separator: ",") + "}" })::text[])
                 AS v(ns, n, k, m, c, s, lo, hi, sk)
            JOIN metric_series s ON s.account_id = \(account) AND s.namespace = v.ns AND s.metric_name = v.n AND s.dimension_key = v.k
            ON CONFLICT (account_id, series_id, ts) DO UPDATE SET
                sample_count = r.sample_count + EXCLUDED.sample_count, sum = r.sum + EXCLUDED.sum,
                minimum = LEAST(r.minimum, EXCLUDED.minimum), maximum = GREATEST(r.maximum, EXCLUDED.maximum),
                sketch = stowage_sketch_merge(r.sketch, EXCLUDED.sketch)
            """, logger: logger)
    }

    /// The stored series with exactly this identity.
    public func series(_ conn: PostgresConnection, account: String, _ identity: MetricIdentity) async throws -> (id: Int64, unit: String)? {
        let rows = try await conn.query("""
            SELECT series_id, unit FROM metric_series
            WHERE account_id = \(account) AND namespace = \(identity.namespace) AND metric_name = \(identity.name)
              AND dimension_key = \(identity.dimensionKey)
            """, logger: logger)
        for try await (id, unit) in rows.decode((Int64, String).self) { return (id, unit) }
        return nil
    }

    /// One series' minutes in [start, end), oldest first, as (epoch seconds, rollup).
    public func minutes(_ conn: PostgresConnection, account: String, series: Int64, start: Int64, end: Int64) async throws
        -> [(Int64, Rollup)]
    {
        let rows = try await conn.query("""
            SELECT extract(epoch FROM ts)::int8, sample_count, sum, minimum, maximum, sketch FROM metric_rollups
            WHERE account_id = \(account) AND series_id = \(series) AND ts >= to_timestamp(\(start)) AND ts < to_timestamp(\(end))
            ORDER BY ts
            """, logger: logger)
        var out: [(Int64, Rollup)] = []
        for try await (t, c, s, lo, hi, sk) in rows.decode((Int64, Double, Double, Double, Double, [Int64]).self) {
            out.append((t, Rollup(sampleCount: c, sum: s, minimum: lo, maximum: hi, sketch: QuantileSketch(encoded: sk))))
        }
        return out
    }

    /// ListMetrics: series by namespace, name and dimension filters (a filter without a value matches any value).
    public func list(_ conn: PostgresConnection, account: String, namespace: String?, name: String?,
                     dimensions: [CloudWatch.DimensionFilter], activeSince: Date?, after: Int64?, limit: Int) async throws
        -> [(id: Int64, identity: MetricIdentity)]
    {
        let containment = (try? ECSJSON.pascalEncoder().encode(dimensions))
            .map { String(decoding: $0, as: UTF8.self) } ?? "[]"
        let rows = try await conn.query("""
            SELECT series_id, namespace, metric_name, dimensions::text FROM metric_series
            WHERE account_id = \(account) AND (\(namespace)::text IS NULL OR namespace = \(namespace))
              AND (\(name)::text IS NULL OR metric_name = \(name)) AND dimensions @> \(containment)::jsonb
              AND (\(activeSince)::timestamptz IS NULL OR last_seen_at >= \(activeSince))
              AND series_id > \(after ?? 0)
            ORDER BY series_id LIMIT \(limit)
            """, logger: logger)
        var out: [(id: Int64, identity: MetricIdentity)] = []
        for try await (id, ns, n, dims) in rows.decode((Int64, String, String, String).self) {
            let parsed = (try? ECSJSON.pascalDecoder().decode([CloudWatch.Dimension].self, from: Data(dims.utf8))) ?? []
            out.append((id, MetricIdentity(namespace: ns, name: n, dimensions: parsed)))
        }
        return out
    }

    /// Computes the built-in `AWS/ECS` metrics of every account for the minutes in [from, to) from what
    /// agents shipped, replacing what an earlier pass wrote for those minutes; the reservation and task
    /// count gauges are sampled now into the current minute. Returns the number of rollups written.
    public func rollupECS(_ conn: PostgresConnection, from: Date, to: Date) async throws -> Int {
        try await conn.query("""
            CREATE TEMP TABLE IF NOT EXISTS ecs_points (account_id text, metric_name text, dims jsonb, dim_key text, unit text,
                                                        ts timestamptz, v float8) ON COMMIT DELETE ROWS
            """, logger: logger)
        try await conn.query("""
            WITH m AS (
                SELECT tm.account_id, tm.cluster_name AS c, tm.task_id, tm.container_name AS cn, tm.ts, t.service_name AS s,
                       t.instance_id, date_trunc('minute', tm.ts) AS minute,
                       coalesce(tm.cpu_percent_reserved, tm.cpu_percent_host) AS cpu, tm.memory_percent_reserved AS mem,
                       tm.cpu_percent_host AS cpu_host, tm.memory_bytes
                FROM task_metrics tm
                JOIN tasks t ON t.account_id = tm.account_id AND t.cluster_name = tm.cluster_name AND t.task_id = tm.task_id
                WHERE tm.ts >= \(from) AND tm.ts < \(to)
            ),
            task_level AS (
                SELECT account_id, c, task_id, s, ts, minute, avg(cpu) AS cpu, avg(mem) AS mem FROM m GROUP BY 1, 2, 3, 4, 5, 6
            ),
            host_level AS (
                SELECT m.account_id, m.c, m.instance_id, m.minute, sum(m.cpu_host) AS cpu_host, sum(m.memory_bytes) AS mem_bytes
                FROM (SELECT account_id, c, instance_id, minute, cn, task_id, avg(cpu_host) AS cpu_host, avg(memory_bytes) AS memory_bytes
                      FROM m GROUP BY 1, 2, 3, 4, 5, 6) m
                GROUP BY 1, 2, 3, 4
            ),
            cluster_level AS (
                SELECT h.account_id, h.c, h.minute,
                       sum(h.cpu_host * stowage_resource(ci.registered_resources, 'CPU'))
                           / nullif(sum(stowage_resource(ci.registered_resources, 'CPU')), 0) AS cpu,
                       sum(h.mem_bytes) / nullif(sum(stowage_resource(ci.registered_resources, 'MEMORY') * 1048576.0), 0) * 100 AS mem
                FROM host_level h
                JOIN container_instances ci ON ci.account_id = h.account_id AND ci.cluster_name = h.c AND ci.instance_id = h.instance_id
                GROUP BY 1, 2, 3
            ),
            points AS (
                SELECT account_id, metric, jsonb_build_array(jsonb_build_object('Name', 'ClusterName', 'Value', c),
                           jsonb_build_object('Name', 'ContainerName', 'Value', cn), jsonb_build_object('Name', 'TaskId', 'Value', task_id)) AS dims,
                       'ClusterName=' || c || chr(31) || 'ContainerName=' || cn || chr(31) || 'TaskId=' || task_id AS dim_key, minute, v
                FROM m CROSS JOIN LATERAL (VALUES ('CPUUtilization', cpu), ('MemoryUtilization', mem)) AS x(metric, v)
                UNION ALL
                SELECT account_id, metric, jsonb_build_array(jsonb_build_object('Name', 'ClusterName', 'Value', c),
                           jsonb_build_object('Name', 'TaskId', 'Value', task_id)),
                       'ClusterName=' || c || chr(31) || 'TaskId=' || task_id, minute, v
                FROM task_level CROSS JOIN LATERAL (VALUES ('CPUUtilization', cpu), ('MemoryUtilization', mem)) AS x(metric, v)
                UNION ALL
                SELECT account_id, metric, jsonb_build_array(jsonb_build_object('Name', 'ClusterName', 'Value', c),
                           jsonb_build_object('Name', 'ServiceName', 'Value', s)),
                       'ClusterName=' || c || chr(31) || 'ServiceName=' || s, minute, v
                FROM task_level CROSS JOIN LATERAL (VALUES ('CPUUtilization', cpu), ('MemoryUtilization', mem)) AS x(metric, v)
                WHERE s IS NOT NULL
                UNION ALL
                SELECT account_id, metric, jsonb_build_array(jsonb_build_object('Name', 'ClusterName', 'Value', c)),
                       'ClusterName=' || c, minute, v
                FROM cluster_level CROSS JOIN LATERAL (VALUES ('CPUUtilization', cpu), ('MemoryUtilization', mem)) AS x(metric, v)
            )
            INSERT INTO ecs_points SELECT account_id, metric, dims, dim_key, 'Percent', minute, v FROM points WHERE v IS NOT NULL
            """, logger: logger)
        try await conn.query("""
            WITH reserved AS (
                SELECT ci.account_id, ci.cluster_name AS c,
                       sum(stowage_resource(ci.registered_resources, 'CPU') - stowage_resource(ci.remaining_resources, 'CPU'))
                           / nullif(sum(stowage_resource(ci.registered_resources, 'CPU')), 0) * 100 AS cpu,
                       sum(stowage_resource(ci.registered_resources, 'MEMORY') - stowage_resource(ci.remaining_resources, 'MEMORY'))
                           / nullif(sum(stowage_resource(ci.registered_resources, 'MEMORY')), 0) * 100 AS mem
                FROM container_instances ci
                WHERE ci.status IN ('ACTIVE', 'DRAINING')
                GROUP BY 1, 2
            ),
            counts AS (
                SELECT s.account_id, s.cluster_name AS c, s.service_name AS s, s.desired_count::float8 AS desired,
                       (SELECT count(*) FROM tasks t WHERE t.account_id = s.account_id AND t.cluster_name = s.cluster_name
                          AND t.service_name = s.service_name AND t.last_status = 'RUNNING')::float8 AS running
                FROM services s WHERE s.status = 'ACTIVE'
            )
            INSERT INTO ecs_points
            SELECT account_id, metric, jsonb_build_array(jsonb_build_object('Name', 'ClusterName', 'Value', c)), 'ClusterName=' || c,
                   'Percent', date_trunc('minute', now()), v
            FROM reserved CROSS JOIN LATERAL (VALUES ('CPUReservation', cpu), ('MemoryReservation', mem)) AS x(metric, v)
            WHERE v IS NOT NULL
            UNION ALL
            SELECT account_id, metric, jsonb_build_array(jsonb_build_object('Name', 'ClusterName', 'Value', c),
                       jsonb_build_object('Name', 'ServiceName', 'Value', s)),
                   'ClusterName=' || c || chr(31) || 'ServiceName=' || s, 'Count', date_trunc('minute', now()), v
            FROM counts CROSS JOIN LATERAL (VALUES ('RunningTaskCount', running), ('DesiredTaskCount', desired)) AS x(metric, v)
            """, logger: logger)
        try await conn.query("""
            INSERT INTO metric_series (account_id, namespace, metric_name, dimensions, dimension_key, unit)
            SELECT DISTINCT ON (account_id, metric_name, dim_key) account_id, 'AWS/ECS', metric_name, dims, dim_key, unit FROM ecs_points
            ORDER BY account_id, metric_name, dim_key
            ON CONFLICT (account_id, namespace, metric_name, dimension_key) DO UPDATE SET last_seen_at = now()
            """, logger: logger)
        return try await conn.first("""
            WITH written AS (
            INSERT INTO metric_rollups AS r (account_id, series_id, ts, sample_count, sum, minimum, maximum, sketch)
            SELECT p.account_id, s.series_id, p.ts, count(*), sum(p.v), min(p.v), max(p.v), stowage_sketch_build(array_agg(p.v))
            FROM ecs_points p
            JOIN metric_series s ON s.account_id = p.account_id AND s.namespace = 'AWS/ECS' AND s.metric_name = p.metric_name
                                AND s.dimension_key = p.dim_key
            GROUP BY p.account_id, s.series_id, p.ts
            ON CONFLICT (account_id, series_id, ts) DO UPDATE SET
                sample_count = EXCLUDED.sample_count, sum = EXCLUDED.sum, minimum = EXCLUDED.minimum,
                maximum = EXCLUDED.maximum, sketch = EXCLUDED.sketch
            RETURNING 1)
            SELECT count(*)::int8 FROM written
            """, as: Int.self, logger: logger) ?? 0
    }
}
