import Foundation
import Logging
import PostgresNIO
import StowageModel
import StowageStore

/// One API call on record: who, what, on which resources, from where, and what came of it.
public struct AuditEvent: Sendable, Equatable {
    public var accountId: String
    public var time: Date
    public var eventId: String
    public var principalArn: String
    public var action: String
    public var resources: [String]
    public var sourceIp: String
    public var requestId: String
    public var allowed: Bool
    public var errorCode: String?
    public var errorMessage: String?
    /// "console" for a call the web console made for a signed-in person; nil for a signed API call.
    public var via: String?

    public init(accountId: String, time: Date, eventId: String, principalArn: String, action: String, resources: [String],
                sourceIp: String, requestId: String, allowed: Bool, errorCode: String?, errorMessage: String?, via: String? = nil) {
        self.via = via
        self.accountId = accountId; self.time = time; self.eventId = eventId; self.principalArn = principalArn
        self.action = action; self.resources = resources; self.sourceIp = sourceIp; self.requestId = requestId
        self.allowed = allowed; self.errorCode = errorCode; self.errorMessage = errorMessage
    }
}

/// Filters of a LookupEvents query; all optional, ANDed.
public struct AuditQuery: Sendable {
    public var principalArn: String?
    public var action: String?
    public var resource: String?
    public var start: Date?
    public var end: Date?
    /// Continue after this (time, event id), newest first.
    public var after: (Date, String)?
    public var limit: Int

    public init(principalArn: String? = nil, action: String? = nil, resource: String? = nil, start: Date? = nil, end: Date? = nil,
                after: (Date, String)? = nil, limit: Int = 50) {
        self.principalArn = principalArn; self.action = action; self.resource = resource; self.start = start; self.end = end
        self.after = after; self.limit = limit
    }
}

/// The append-only audit table: batched inserts, filtered reads newest first.
public struct AuditStore: Sendable {
    public let logger: Logger
    public init(logger: Logger) { self.logger = logger }

    public func insert(_ conn: PostgresConnection, _ events: [AuditEvent]) async throws {
        guard !events.isEmpty else { return }
        try await conn.query("""
            INSERT INTO audit_events (account_id, ts, event_id, principal_arn, action, resources, source_ip, request_id,
                                      allowed, error_code, error_message, via)
            SELECT a, t, e, p, act, CASE WHEN r = '' THEN '{}'::text[] ELSE string_to_array(r, E'\\n') END, ip, rid, ok,
                   NULLIF(code, ''), NULLIF(msg, ''), NULLIF(v, '')
            FROM unnest(\(events.map(\.accountId)), \(events.map(\.time)), \(events.map(\.eventId)), \(events.map(\.principalArn)),
                        \(events.map(\.action)), \(events.map { $0.resources.joined(separator: "\n") }), \(events.map(\.sourceIp)),
                        \(events.map(\.requestId)), \(events.map(\.allowed)), \(events.map { $0.errorCode ?? "" }),
                        \(events.map { $0.errorMessage ?? "" }), \(events.map { $0.via ?? "" }))
                 AS u(a, t, e, p, act, r, ip, rid, ok, code, msg, v)
            ON CONFLICT DO NOTHING
            """, logger: logger)
    }

    public func lookup(_ conn: PostgresConnection, account: String, _ q: AuditQuery) async throws -> [AuditEvent] {
        let far = Date(timeIntervalSince1970: 4_102_444_800)
        let rows = try await conn.query("""
            SELECT ts, event_id, principal_arn, action, array_to_string(resources, E'\\n'), source_ip, request_id, allowed,
                   coalesce(error_code, ''), coalesce(error_message, ''), coalesce(via, '')
            FROM audit_events
            WHERE account_id = \(account)
              AND ts >= \(q.start ?? Date(timeIntervalSince1970: 0)) AND ts < \(q.end ?? far)
              AND (\(q.principalArn ?? "") = '' OR principal_arn = \(q.principalArn ?? ""))
              AND (\(q.action ?? "") = '' OR action = \(q.action ?? ""))
              AND (\(q.resource ?? "") = '' OR resources @> ARRAY[\(q.resource ?? "")]::text[])
              AND (ts, event_id) < (\(q.after?.0 ?? far), \(q.after?.1 ?? ""))
            ORDER BY ts DESC, event_id DESC
            LIMIT \(q.limit)
            """, logger: logger)
        var out: [AuditEvent] = []
        for try await (ts, id, principal, action, resources, ip, rid, ok, code, msg, via)
            in rows.decode((Date, String, String, String, String, String, String, Bool, String, String, String).self) {
            out.append(AuditEvent(accountId: account, time: ts, eventId: id, principalArn: principal, action: action,
                                  resources: resources.isEmpty ? [] : resources.components(separatedBy: "\n"), sourceIp: ip,
                                  requestId: rid, allowed: ok, errorCode: code.isEmpty ? nil : code, errorMessage: msg.isEmpty ? nil : msg,
                                  via: via.isEmpty ? nil : via))
        }
        return out
    }
}
