import Foundation
import PostgresNIO
import StowageModel
import StowageMonitoringRules
import StowageTelemetryStore

/// CloudWatch Logs: groups, streams, direct writes, reads, searches and the live tail's polls, each call in one
/// transaction or one lease. The door has checked the names and authorized the call.
public struct LogGroups: Sendable {
    let tenant: TenantContext
    let store: TelemetryStore

    public init(tenant: TenantContext, store: TelemetryStore) { self.tenant = tenant; self.store = store }

    var account: String { tenant.account }

    static func notFound(_ what: String) -> APIError { .resourceNotFound("The specified \(what) does not exist.") }

    func write(_ body: @escaping @Sendable (PostgresConnection) async throws -> Void) async throws {
        try await tenant.database.transaction { try await body($0) }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await tenant.database.withConnection { try await body($0) }
    }

    func requireGroup(_ conn: PostgresConnection, _ group: String) async throws {
        guard try await store.groupExists(conn, account: account, group: group) else { throw Self.notFound("log group") }
    }

    func requireStream(_ conn: PostgresConnection, _ group: String, _ stream: String) async throws {
        let exists = try await store.streamExists(conn, account: account, group: group, stream: stream)
        guard exists.group else { throw Self.notFound("log group") }
        guard exists.stream else { throw Self.notFound("log stream") }
    }

    public func createGroup(_ group: String, retentionDays: Int?) async throws {
        try await write { [self] conn in
            guard try await store.createGroup(conn, account: account, group: group, retentionDays: retentionDays) else {
                throw APIError("ResourceAlreadyExistsException", "The specified log group already exists.", restStatus: 409)
            }
        }
    }

    public func deleteGroup(_ group: String) async throws {
        try await write { [self] conn in
            guard try await store.deleteGroup(conn, account: account, group: group) else { throw Self.notFound("log group") }
        }
    }

    public func setRetention(_ group: String, days: Int) async throws {
        try await write { [self] conn in
            guard try await store.setRetention(conn, account: account, group: group, days: days) else { throw Self.notFound("log group") }
        }
    }

    /// A page of groups in name order after `after`.
    public func groups(prefix: String?, after: String?, limit: Int) async throws -> [TelemetryStore.LogGroupRow] {
        try await read { [self] in try await store.groups($0, account: account, prefix: prefix, after: after, limit: limit) }
    }

    /// A page of the group's streams, which must exist; `after` is an offset.
    public func streams(_ group: String, prefix: String?, byLastEvent: Bool, descending: Bool, after: String?, limit: Int) async throws
        -> [TelemetryStore.StreamRow]
    {
        try await read { [self] conn in
            try await requireGroup(conn, group)
            return try await store.streams(conn, account: account, group: group, prefix: prefix, byLastEvent: byLastEvent,
                                           descending: descending, after: after, limit: limit)
        }
    }

    public func createStream(_ group: String, _ stream: String) async throws {
        try await write { [self] conn in
            try await requireGroup(conn, group)
            guard try await store.createStream(conn, account: account, group: group, stream: stream) else {
                throw APIError("ResourceAlreadyExistsException", "The specified log stream already exists.", restStatus: 409)
            }
        }
    }

    /// PutLogEvents: the events the door accepted (inside the time window), into an existing stream.
    public func put(_ group: String, _ stream: String, _ events: [AgentProtocol.LogEvent]) async throws {
        try await write { [self] conn in
            try await requireStream(conn, group, stream)
            try await store.insertLogs(conn, account: account, group: group, stream: stream, events)
        }
    }

    /// GetLogEvents: a page of one stream, positions `(ms, seq)` exclusive.
    public func events(_ group: String, _ stream: String, start: Int64?, end: Int64?, after: (Int64, Int64)?, before: (Int64, Int64)?,
                       fromHead: Bool, limit: Int) async throws -> [(event: Logs.OutputLogEvent, seq: Int64)]
    {
        try await read { [self] conn in
            try await requireStream(conn, group, stream)
            return try await store.events(conn, account: account, group: group, stream: stream, start: start, end: end, after: after,
                                          before: before, fromHead: fromHead, limit: limit)
        }
    }

    /// FilterLogEvents: at most `window` stored events are examined; `resume` is where the next page starts.
    public func filter(_ group: String, streams: [String]?, streamPrefix: String?, start: Int64?, end: Int64?, after: (Int64, Int64)?,
                       pattern: FilterPattern, limit: Int, window: Int) async throws
        -> (events: [Logs.FilteredLogEvent], resume: (Int64, Int64)?)
    {
        try await read { [self] conn in
            try await requireGroup(conn, group)
            return try await store.filter(conn, account: account, group: group, streams: streams, streamPrefix: streamPrefix, start: start,
                                          end: end, after: after, pattern: pattern, limit: limit, window: window)
        }
    }

    /// Where a live tail of the group starts: after its newest event of the last five minutes.
    public func tailStart(_ group: String) async throws -> Int64 {
        try await read { [self] conn in
            try await requireGroup(conn, group)
            return try await store.latestSequence(conn, account: account, group: group)
        }
    }

    /// One poll of a live tail: events timed from `since` (epoch ms) with a sequence after `afterSeq`.
    public func tail(_ group: String, since: Int64, afterSeq: Int64, limit: Int) async throws -> [(event: Logs.FilteredLogEvent, seq: Int64)] {
        try await read { [self] in try await store.tail($0, account: account, group: group, since: since, afterSeq: afterSeq, limit: limit) }
    }
}
