import Foundation
import Logging
import PostgresNIO
import StowageModel
import StowageStore

/// Metrics and logs in PostgreSQL: batched ingest, the first reads, and partition maintenance.
public struct TelemetryStore: Sendable {
    public let logger: Logger
    public init(logger: Logger) { self.logger = logger }

    static func date(_ millis: Int64) -> Date { Date(timeIntervalSince1970: TimeInterval(millis) / 1000) }
    static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

    /// Inserts samples in one statement; a repeated sample (same container and time) is ignored.
    public func insertMetrics(_ conn: PostgresConnection, account: String, cluster: String,
                              _ samples: [(taskId: String, sample: AgentProtocol.MetricSample)]) async throws {
        guard !samples.isEmpty else { return }
        func doubles(_ f: (AgentProtocol.MetricSample) -> Double?) -> [String] { samples.map { f($0.sample).map { String($0) } ?? "" } }
        func ints(_ f: (AgentProtocol.MetricSample) -> Int64?) -> [String] { samples.map { f($0.sample).map { String($0) } ?? "" } }
        try await conn.query("""
            INSERT INTO task_metrics (account_id, cluster_name, task_id, container_name, ts, cpu_percent_host, cpu_percent_reserved,
                memory_bytes, memory_percent_reserved, network_rx_bytes, network_tx_bytes, block_read_bytes, block_write_bytes)
            SELECT \(account), \(cluster), t, c, to_timestamp(ms / 1000.0), NULLIF(ch, '')::float8, NULLIF(cr, '')::float8,
                   NULLIF(mb, '')::int8, NULLIF(mp, '')::float8, NULLIF(rx, '')::int8, NULLIF(tx, '')::int8,
                   NULLIF(br, '')::int8, NULLIF(bw, '')::int8
            FROM unnest(\(samples.map(\.taskId))::text[], \(samples.map(\.sample.containerName))::text[],
                        \(samples.map(\.sample.timestamp))::int8[], \(doubles(\.cpuPercentOfHost))::text[],
                        \(doubles(\.cpuPercentOfReservation))::text[], \(ints(\.memoryBytes))::text[],
                        \(doubles(\.memoryPercentOfReservation))::text[], \(ints(\.networkRxBytes))::text[],
                        \(ints(\.networkTxBytes))::text[], \(ints(\.blockReadBytes))::text[], \(ints(\.blockWriteBytes))::text[])
                 AS v(t, c, ms, ch, cr, mb, mp, rx, tx, br, bw)
            ON CONFLICT DO NOTHING
            """, logger: logger)
    }

    /// Creates the group and stream when missing, then inserts the events in one statement.
    public func insertLogs(_ conn: PostgresConnection, account: String, group: String, stream: String,
                           _ events: [AgentProtocol.LogEvent]) async throws {
        guard !events.isEmpty else { return }
        try await conn.query("""
            INSERT INTO log_groups (account_id, group_name) VALUES (\(account), \(group)) ON CONFLICT DO NOTHING
            """, logger: logger)
        let first = events.map(\.timestamp).min() ?? 0
        let last = events.map(\.timestamp).max() ?? 0
        try await conn.query("""
            INSERT INTO log_streams (account_id, group_name, stream_name, first_event_at, last_event_at, last_ingestion_at)
            VALUES (\(account), \(group), \(stream), to_timestamp(\(first) / 1000.0), to_timestamp(\(last) / 1000.0), now())
            ON CONFLICT (account_id, group_name, stream_name) DO UPDATE SET
                first_event_at = LEAST(log_streams.first_event_at, EXCLUDED.first_event_at),
                last_event_at = GREATEST(log_streams.last_event_at, EXCLUDED.last_event_at), last_ingestion_at = now()
            """, logger: logger)
        try await conn.query("""
            INSERT INTO log_events (account_id, group_name, stream_name, ts, message)
            SELECT \(account), \(group), \(stream), to_timestamp(ms / 1000.0), m
            FROM unnest(\(events.map(\.timestamp))::int8[], \(events.map(\.message))::text[]) AS v(ms, m)
            """, logger: logger)
    }

    public func groupExists(_ conn: PostgresConnection, account: String, group: String) async throws -> Bool {
        try await conn.first("""
            SELECT 1 FROM log_groups WHERE account_id = \(account) AND group_name = \(group)
            """, as: Int.self, logger: logger) != nil
    }

    public func streamExists(_ conn: PostgresConnection, account: String, group: String, stream: String) async throws -> (group: Bool, stream: Bool) {
        guard try await groupExists(conn, account: account, group: group) else { return (false, false) }
        let streamFound = try await conn.first("""
            SELECT 1 FROM log_streams WHERE account_id = \(account) AND group_name = \(group) AND stream_name = \(stream)
            """, as: Int.self, logger: logger) != nil
        return (true, streamFound)
    }

    /// A page of one stream's events in time order, after or before a position (timestamp, sequence).
    public func events(_ conn: PostgresConnection, account: String, group: String, stream: String, start: Int64?, end: Int64?,
                       after: (Int64, Int64)?, before: (Int64, Int64)?, fromHead: Bool, limit: Int) async throws
        -> [(event: Logs.OutputLogEvent, seq: Int64)]
    {
        let ascending = after != nil || (before == nil && fromHead)
        let rows = try await conn.query("""
            SELECT (extract(epoch FROM ts) * 1000)::int8, seq, message, (extract(epoch FROM ingested_at) * 1000)::int8
            FROM log_events
            WHERE account_id = \(account) AND group_name = \(group) AND stream_name = \(stream)
              AND (\(start)::int8 IS NULL OR ts >= to_timestamp(\(start ?? 0) / 1000.0))
              AND (\(end)::int8 IS NULL OR ts < to_timestamp(\(end ?? 0) / 1000.0))
              AND (\(after?.0)::int8 IS NULL OR (ts, seq) > (to_timestamp(\(after?.0 ?? 0) / 1000.0), \(after?.1 ?? 0)))
              AND (\(before?.0)::int8 IS NULL OR (ts, seq) < (to_timestamp(\(before?.0 ?? 0) / 1000.0), \(before?.1 ?? 0)))
            ORDER BY ts \(unescaped: ascending ? "ASC" : "DESC"), seq \(unescaped: ascending ? "ASC" : "DESC")
            LIMIT \(limit)
            """, logger: logger)
        var result: [(event: Logs.OutputLogEvent, seq: Int64)] = []
        for try await (ts, seq, message, ingested) in rows.decode((Int64, Int64, String, Int64).self) {
            result.append((Logs.OutputLogEvent(timestamp: ts, message: message, ingestionTime: ingested), seq))
        }
        return ascending ? result : result.reversed()
    }

    /// A task's stored samples, in the shape agents ship them (one idea, one type).
    public func taskDatapoints(_ conn: PostgresConnection, account: String, cluster: String, task: String, taskArn: String,
                               start: Date, end: Date) async throws -> [AgentProtocol.MetricSample]
    {
        let rows = try await conn.query("""
            SELECT container_name, (extract(epoch FROM ts) * 1000)::int8, cpu_percent_host, cpu_percent_reserved, memory_bytes,
                   memory_percent_reserved, network_rx_bytes, network_tx_bytes, block_read_bytes, block_write_bytes
            FROM task_metrics
            WHERE account_id = \(account) AND cluster_name = \(cluster) AND task_id = \(task) AND ts >= \(start) AND ts < \(end)
            ORDER BY ts, container_name
            """, logger: logger)
        var result: [AgentProtocol.MetricSample] = []
        for try await (name, ts, ch, cr, mb, mp, rx, tx, br, bw) in rows.decode(
            (String, Int64, Double?, Double?, Int64?, Double?, Int64?, Int64?, Int64?, Int64?).self)
        {
            var sample = AgentProtocol.MetricSample(taskArn: taskArn, containerName: name, timestamp: ts)
            sample.cpuPercentOfHost = ch
            sample.cpuPercentOfReservation = cr
            sample.memoryBytes = mb
            sample.memoryPercentOfReservation = mp
            sample.networkRxBytes = rx
            sample.networkTxBytes = tx
            sample.blockReadBytes = br
            sample.blockWriteBytes = bw
            result.append(sample)
        }
        return result
    }

    /// Keeps tomorrow's partitions ready, drops the expired ones (returns how many) and applies log groups' retention.
    public func maintain(_ conn: PostgresConnection, logRetentionDays: Int, metricRetentionDays: Int) async throws -> Int {
        let logs = try await conn.first("SELECT stowage_maintain_partitions('log_events', 1, 2, \(logRetentionDays)::int)",
                                        as: Int.self, logger: logger) ?? 0
        let metrics = try await conn.first("SELECT stowage_maintain_partitions('task_metrics', 1, 2, \(metricRetentionDays)::int)",
                                           as: Int.self, logger: logger) ?? 0
        let rollups = try await conn.first("SELECT stowage_maintain_partitions('metric_rollups', 1, 2, \(metricRetentionDays)::int)",
                                           as: Int.self, logger: logger) ?? 0
        // A group's own retention (PutRetentionPolicy) is shorter than the partitions': delete its older lines.
        try await conn.query("""
            DELETE FROM log_events e USING log_groups g
            WHERE g.retention_days IS NOT NULL AND e.account_id = g.account_id AND e.group_name = g.group_name
              AND e.ts < now() - make_interval(days => g.retention_days)
            """, logger: logger)
        return logs + metrics + rollups
    }
}
