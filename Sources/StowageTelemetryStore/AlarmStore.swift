import Foundation
import Logging
import PostgresNIO
import StowageModel
import StowageStore

/// Alarms, their state history, and the actions a state change sets off (queued as jobs, so they retry).
public struct AlarmStore: Sendable {
    public let logger: Logger
    public init(logger: Logger) { self.logger = logger }

    public struct Row: Sendable {
        public var account: String
        public var definition: CloudWatch.AlarmDefinition
        public var state: String
        public var reason: String
        public var reasonData: String?
        public var stateUpdatedAt: Date
        public var configuredAt: Date
    }

    /// Creates or replaces an alarm's definition; a new alarm starts in INSUFFICIENT_DATA.
    public func put(_ conn: PostgresConnection, account: String, _ definition: CloudWatch.AlarmDefinition) async throws {
        let json = try ECSJSON.encodeString(definition)
        let created = try await conn.first("""
            INSERT INTO alarms (account_id, alarm_name, definition) VALUES (\(account), \(definition.alarmName), \(json)::jsonb)
            ON CONFLICT (account_id, alarm_name) DO UPDATE SET definition = EXCLUDED.definition, configuration_updated_at = now()
            RETURNING (xmax = 0)
            """, as: Bool.self, logger: logger) ?? false
        try await history(conn, account: account, alarm: definition.alarmName, type: "ConfigurationUpdate",
                          summary: "Alarm \"\(definition.alarmName)\" \(created ? "created" : "updated")")
    }

    /// With `lock`, rows are locked until the transaction ends, waiting for an evaluation in progress: skipping
    /// locked rows made SetAlarmState answer "does not exist" while the worker evaluated that alarm.
    public func get(_ conn: PostgresConnection, account: String?, names: [String]?, prefix: String?, state: String?,
                    after: String?, limit: Int, lock: Bool = false) async throws -> [Row]
    {
        let rows = try await conn.query("""
            SELECT account_id, definition::text, state_value, state_reason, state_reason_data, state_updated_at, configuration_updated_at
            FROM alarms
            WHERE (\(account)::text IS NULL OR account_id = \(account))
              AND (\(names ?? [])::text[] = '{}' OR alarm_name = ANY(\(names ?? [])::text[]))
              AND alarm_name LIKE \(SQLPattern.prefix(prefix ?? "")) AND (\(state)::text IS NULL OR state_value = \(state))
              AND (account_id, alarm_name) > (\(after == nil ? "" : account ?? ""), \(after ?? ""))
            ORDER BY account_id, alarm_name LIMIT \(limit) \(unescaped: lock ? "FOR UPDATE" : "")
            """, logger: logger)
        var out: [Row] = []
        for try await (acct, json, st, reason, data, updated, configured) in rows.decode((String, String, String, String, String?, Date, Date).self) {
            let def = try ECSJSON.decode(CloudWatch.AlarmDefinition.self, from: json)
            out.append(Row(account: acct, definition: def, state: st, reason: reason, reasonData: data, stateUpdatedAt: updated,
                           configuredAt: configured))
        }
        return out
    }

    /// Deletes every named alarm, or none when one is missing (as CloudWatch does); returns the missing names. The rows
    /// are locked first in name order, the order the evaluator locks them in: deleting many alarms while they are
    /// evaluated deadlocked when the DELETE locked them in its own order.
    public func delete(_ conn: PostgresConnection, account: String, names: [String]) async throws -> [String] {
        let found = try await get(conn, account: account, names: names, prefix: nil, state: nil, after: nil, limit: names.count + 1,
                                  lock: true)
        let missing = names.filter { n in !found.contains { $0.definition.alarmName == n } }
        guard missing.isEmpty else { return missing }
        try await conn.query("DELETE FROM alarms WHERE account_id = \(account) AND alarm_name = ANY(\(names)::text[])", logger: logger)
        return []
    }

    /// Moves an alarm to a state; on an actual change records history and queues the state's actions.
    @discardableResult
    public func transition(_ conn: PostgresConnection, account: String, alarm: CloudWatch.AlarmDefinition, from: String, to: String,
                           reason: String, reasonData: String?) async throws -> Bool
    {
        try await conn.query("""
            UPDATE alarms SET state_value = \(to), state_reason = \(reason), state_reason_data = \(reasonData),
                   state_updated_at = CASE WHEN state_value <> \(to) THEN now() ELSE state_updated_at END, evaluated_at = now()
            WHERE account_id = \(account) AND alarm_name = \(alarm.alarmName)
            """, logger: logger)
        guard from != to else { return false }
        try await history(conn, account: account, alarm: alarm.alarmName, type: "StateUpdate",
                          summary: "Alarm updated from \(from) to \(to)",
                          data: .object(["oldState": .object(["stateValue": .string(from)]),
                                         "newState": .object(["stateValue": .string(to), "stateReason": .string(reason)])]))
        guard alarm.actionsEnabled ?? true else { return true }
        let actions: [String] = switch to {
        case "ALARM": alarm.alarmActions ?? []
        case "OK": alarm.okActions ?? []
        default: alarm.insufficientDataActions ?? []
        }
        try await enqueueActions(conn, account: account, alarm: alarm.alarmName, state: to, reason: reason, actions: actions)
        return true
    }

    /// Alarm actions an account may have queued or running at once. A flapping alarm sets off actions without
    /// bound (each transition, each SetAlarmState); past this many undelivered ones, further actions are dropped
    /// and said so in the alarm's history, so a black-holed endpoint cannot grow the queue without end.
    public static let queuedActionsLimit = 1_000

    public func enqueueActions(_ conn: PostgresConnection, account: String, alarm: String, state: String, reason: String,
                               actions: [String], queuedLimit: Int = queuedActionsLimit) async throws {
        let queued = try await JobQueue(logger: logger).enqueue(conn, account: account, kind: JobKind.alarmAction, payloads: actions.map {
            .object(["alarm": .string(alarm), "state": .string(state), "reason": .string(reason), "action": .string($0)])
        }, maxAttempts: 6, atMost: queuedLimit)
        let dropped = actions.dropFirst(queued)
        guard !dropped.isEmpty else { return }
        try await history(conn, account: account, alarm: alarm, type: "Action",
                          summary: "Dropped \(dropped.count) action(s) for state \(state): this account already has \(queuedLimit) alarm actions "
                              + "waiting to be delivered (\(dropped.joined(separator: ", ")))")
    }

    public func history(_ conn: PostgresConnection, account: String, alarm: String, type: String, summary: String,
                        data: JSONValue = .object([:])) async throws {
        let json = try ECSJSON.encodeString(data)
        try await conn.query("""
            INSERT INTO alarm_history (account_id, alarm_name, item_type, summary, data)
            VALUES (\(account), \(alarm), \(type), \(summary), \(json)::jsonb)
            """, logger: logger)
    }

    public func historyItems(_ conn: PostgresConnection, account: String, alarm: String?, type: String?, start: Date?, end: Date?,
                             before: Int64?, limit: Int) async throws -> [(item: CloudWatch.AlarmHistoryItem, seq: Int64)]
    {
        let rows = try await conn.query("""
            SELECT alarm_name, ts, item_type, summary, data::text, seq FROM alarm_history
            WHERE account_id = \(account) AND (\(alarm)::text IS NULL OR alarm_name = \(alarm))
              AND (\(type)::text IS NULL OR item_type = \(type))
              AND (\(start)::timestamptz IS NULL OR ts >= \(start)) AND (\(end)::timestamptz IS NULL OR ts < \(end))
              AND seq < \(before ?? Int64.max)
            ORDER BY seq DESC LIMIT \(limit)
            """, logger: logger)
        var out: [(item: CloudWatch.AlarmHistoryItem, seq: Int64)] = []
        for try await (name, ts, type, summary, data, seq) in rows.decode((String, Date, String, String, String, Int64).self) {
            out.append((CloudWatch.AlarmHistoryItem(alarmName: name, timestamp: ts, historyItemType: type, historySummary: summary,
                                                    historyData: data), seq))
        }
        return out
    }

    /// The account's webhook signing key, made on first use.
    public func webhookSecret(_ conn: PostgresConnection, account: String) async throws -> String {
        var rng = SystemRandomNumberGenerator()
        let fresh = Hex.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) })
        try await conn.query("""
            INSERT INTO webhook_secrets (account_id, secret) VALUES (\(account), \(fresh)) ON CONFLICT DO NOTHING
            """, logger: logger)
        return try await conn.first("SELECT secret FROM webhook_secrets WHERE account_id = \(account)", as: String.self, logger: logger) ?? fresh
    }
}
