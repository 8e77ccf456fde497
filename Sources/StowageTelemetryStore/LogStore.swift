import Foundation
import Logging
import PostgresNIO
import StowageModel
import StowageMonitoringRules
import StowageStore

/// Log groups and streams as CloudWatch Logs manages them, and the searches over their events.
extension TelemetryStore {
    public struct LogGroupRow: Sendable {
        public var name: String
        public var createdAt: Int64
        public var retentionDays: Int?
    }

    public func groups(_ conn: PostgresConnection, account: String, prefix: String?, after: String?, limit: Int) async throws -> [LogGroupRow] {
        let rows = try await conn.query("""
            SELECT group_name, (extract(epoch FROM created_at) * 1000)::int8, retention_days FROM log_groups
            WHERE account_id = \(account) AND group_name LIKE \(SQLPattern.prefix(prefix ?? "")) AND group_name > \(after ?? "")
            ORDER BY group_name LIMIT \(limit)
            """, logger: logger)
        var out: [LogGroupRow] = []
        for try await (name, created, retention) in rows.decode((String, Int64, Int?).self) {
            out.append(LogGroupRow(name: name, createdAt: created, retentionDays: retention))
        }
        return out
    }

    /// Creates a group; false when it already exists.
    public func createGroup(_ conn: PostgresConnection, account: String, group: String, retentionDays: Int?) async throws -> Bool {
        return try await conn.first("""
            INSERT INTO log_groups (account_id, group_name, retention_days) VALUES (\(account), \(group), \(retentionDays))
            ON CONFLICT DO NOTHING RETURNING 1
            """, as: Int.self, logger: logger) != nil
    }

    /// Deletes a group with its streams and events; false when there was none.
    public func deleteGroup(_ conn: PostgresConnection, account: String, group: String) async throws -> Bool {
        try await conn.query("DELETE FROM log_events WHERE account_id = \(account) AND group_name = \(group)", logger: logger)
        try await conn.query("DELETE FROM log_streams WHERE account_id = \(account) AND group_name = \(group)", logger: logger)
        return try await conn.first("""
            DELETE FROM log_groups WHERE account_id = \(account) AND group_name = \(group) RETURNING 1
            """, as: Int.self, logger: logger) != nil
    }

    public func setRetention(_ conn: PostgresConnection, account: String, group: String, days: Int?) async throws -> Bool {
        return try await conn.first("""
            UPDATE log_groups SET retention_days = \(days) WHERE account_id = \(account) AND group_name = \(group) RETURNING 1
            """, as: Int.self, logger: logger) != nil
    }

    public func createStream(_ conn: PostgresConnection, account: String, group: String, stream: String) async throws -> Bool {
        return try await conn.first("""
            INSERT INTO log_streams (account_id, group_name, stream_name) VALUES (\(account), \(group), \(stream))
            ON CONFLICT DO NOTHING RETURNING 1
            """, as: Int.self, logger: logger) != nil
    }

    public struct StreamRow: Sendable {
        public var name: String
        public var createdAt: Int64
        public var first: Int64?
        public var last: Int64?
        public var ingested: Int64?
    }

    /// Streams by name, or by last event time (newest first when descending), after a token position.
    public func streams(_ conn: PostgresConnection, account: String, group: String, prefix: String?, byLastEvent: Bool,
                        descending: Bool, after: String?, limit: Int) async throws -> [StreamRow]
    {
        let order = byLastEvent ? "coalesce(last_event_at, created_at)" : "stream_name"
        let direction = descending ? "DESC" : "ASC"
        let rows = try await conn.query("""
            SELECT stream_name, (extract(epoch FROM created_at) * 1000)::int8, (extract(epoch FROM first_event_at) * 1000)::int8,
                   (extract(epoch FROM last_event_at) * 1000)::int8, (extract(epoch FROM last_ingestion_at) * 1000)::int8
            FROM log_streams
            WHERE account_id = \(account) AND group_name = \(group) AND stream_name LIKE \(SQLPattern.prefix(prefix ?? ""))
            ORDER BY \(unescaped: order) \(unescaped: direction), stream_name \(unescaped: direction)
            OFFSET \(Int(after ?? "0") ?? 0) LIMIT \(limit)
            """, logger: logger)
        var out: [StreamRow] = []
        for try await (name, created, first, last, ingested) in rows.decode((String, Int64, Int64?, Int64?, Int64?).self) {
            out.append(StreamRow(name: name, createdAt: created, first: first, last: last, ingested: ingested))
        }
        return out
    }

    /// One FilterLogEvents page: scans at most `window` events of the group in time order after `after`,
    /// returns those matching (at most `limit`) and where to resume (nil when the range is exhausted).
    /// Plain terms are narrowed in SQL; the full pattern is applied here.
    public func filter(_ conn: PostgresConnection, account: String, group: String, streams: [String]?, streamPrefix: String?,
                       start: Int64?, end: Int64?, after: (Int64, Int64)?, pattern: FilterPattern, limit: Int, window: Int) async throws
        -> (events: [Logs.FilteredLogEvent], resume: (Int64, Int64)?)
    {
        let terms = pattern.requiredSubstrings
        let termFilter = terms.isEmpty ? "true" : terms.indices.map { "strpos(message, $\($0 + 1)) > 0" }.joined(separator: " AND ")
        var bindings = PostgresBindings()
        for t in terms { bindings.append(t) }
        func bind<T: PostgresEncodable & Sendable>(_ v: T) throws -> String { try bindings.append(v); return "$\(bindings.count)" }
        let sql = """
            WITH w AS MATERIALIZED (
                SELECT stream_name, ts, seq, message, ingested_at FROM log_events
                WHERE account_id = \(try bind(account)) AND group_name = \(try bind(group))
                  AND ts >= to_timestamp(\(try bind(start ?? 0)) / 1000.0) AND ts < to_timestamp(\(try bind(end ?? 32_503_680_000_000)) / 1000.0)
                  AND (ts, seq) > (to_timestamp(\(try bind(after?.0 ?? -1)) / 1000.0), \(try bind(after?.1 ?? -1)))
                  AND (\(try bind(streams ?? [])) = '{}'::text[] OR stream_name = ANY(\(try bind(streams ?? []))))
                  AND stream_name LIKE \(try bind(SQLPattern.prefix(streamPrefix ?? "")))
                ORDER BY ts, seq LIMIT \(try bind(window))
            ), last AS (
                SELECT ts, seq, count(*) OVER () AS n FROM w ORDER BY ts DESC, seq DESC LIMIT 1
            )
            SELECT stream_name, (extract(epoch FROM ts) * 1000)::int8, seq, message, (extract(epoch FROM ingested_at) * 1000)::int8, false
            FROM w WHERE \(termFilter)
            UNION ALL
            SELECT '', (extract(epoch FROM ts) * 1000)::int8, seq, '', n, true FROM last
            """
        let rows = try await conn.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger)
        var candidates: [(stream: String, ts: Int64, seq: Int64, message: String, ingested: Int64)] = []
        var windowEnd: (Int64, Int64)?
        var scanned = 0
        for try await (stream, ts, seq, message, ingested, isLast) in rows.decode((String, Int64, Int64, String, Int64, Bool).self) {
            if isLast { windowEnd = (ts, seq); scanned = Int(ingested) } else { candidates.append((stream, ts, seq, message, ingested)) }
        }
        candidates.sort { ($0.ts, $0.seq) < ($1.ts, $1.seq) }
        var events: [Logs.FilteredLogEvent] = []
        for c in candidates where pattern.matches(c.message) {
            events.append(Logs.FilteredLogEvent(logStreamName: c.stream, timestamp: c.ts, message: c.message, ingestionTime: c.ingested,
                                                eventId: "\(c.ts)-\(c.seq)"))
            if events.count == limit { return (events, (c.ts, c.seq)) }
        }
        return (events, scanned >= window ? windowEnd : nil)
    }

    /// Events of a group stored after sequence `afterSeq` with timestamps from `since` on, for the live tail.
    public func tail(_ conn: PostgresConnection, account: String, group: String, since: Int64, afterSeq: Int64, limit: Int) async throws
        -> [(event: Logs.FilteredLogEvent, seq: Int64)]
    {
        let rows = try await conn.query("""
            SELECT stream_name, (extract(epoch FROM ts) * 1000)::int8, seq, message, (extract(epoch FROM ingested_at) * 1000)::int8
            FROM log_events
            WHERE account_id = \(account) AND group_name = \(group) AND ts >= to_timestamp(\(since) / 1000.0) AND seq > \(afterSeq)
            ORDER BY seq LIMIT \(limit)
            """, logger: logger)
        var out: [(event: Logs.FilteredLogEvent, seq: Int64)] = []
        for try await (stream, ts, seq, message, ingested) in rows.decode((String, Int64, Int64, String, Int64).self) {
            out.append((Logs.FilteredLogEvent(logStreamName: stream, timestamp: ts, message: message, ingestionTime: ingested,
                                              eventId: "\(ts)-\(seq)"), seq))
        }
        return out
    }

    /// The group's highest recent event sequence (where a live tail starts), read through the group/time index.
    public func latestSequence(_ conn: PostgresConnection, account: String, group: String) async throws -> Int64 {
        try await conn.first("""
            SELECT coalesce(max(seq), 0)::int8 FROM log_events
            WHERE account_id = \(account) AND group_name = \(group) AND ts > now() - interval '5 minutes'
            """, as: Int64.self, logger: logger) ?? 0
    }
}
