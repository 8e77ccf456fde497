import Foundation
import StowageModel
import StowageStore
import StowageTelemetryStore

/// CloudWatch alarms: definitions, state and history, each call in one transaction. The door has checked the
/// definition and authorized the call; the worker evaluates alarms (`evaluate-alarms`).
public struct Alarms: Sendable {
    let tenant: TenantContext
    let store: AlarmStore

    public init(tenant: TenantContext, store: AlarmStore) { self.tenant = tenant; self.store = store }

    var account: String { tenant.account }

    /// Creates or replaces the alarm and has it evaluated at once.
    public func put(_ definition: CloudWatch.AlarmDefinition) async throws {
        try await tenant.database.transaction { [self] conn in
            try await store.put(conn, account: account, definition)
            try await JobQueue(logger: tenant.logger).enqueue(conn, account: account, kind: JobKind.evaluateAlarms,
                                                              uniqueKey: "now", payload: .object(["alarm": .string(definition.alarmName)]))
        }
    }

    /// A page in name order after `after`.
    public func list(names: [String]?, prefix: String?, state: String?, after: String?, limit: Int) async throws -> [AlarmStore.Row] {
        try await tenant.database.withConnection { [self] conn in
            try await store.get(conn, account: account, names: names, prefix: prefix, state: state, after: after, limit: limit)
        }
    }

    /// Deletes every named alarm, or none when one is missing (as CloudWatch does).
    public func delete(names: [String]) async throws {
        try await tenant.database.transaction { [self] conn in
            if let name = try await store.delete(conn, account: account, names: names).first {
                throw APIError("ResourceNotFound", "Alarm \(name) does not exist; no alarms were deleted.", restStatus: 404)
            }
        }
    }

    /// SetAlarmState: the alarm is locked while it moves, so an evaluation in progress finishes first.
    public func setState(name: String, to state: String, reason: String, reasonData: String?) async throws {
        try await tenant.database.transaction { [self] conn in
            guard let row = try await store.get(conn, account: account, names: [name], prefix: nil, state: nil, after: nil, limit: 1,
                                                lock: true).first else {
                throw APIError("ResourceNotFound", "Alarm \(name) does not exist.", restStatus: 404)
            }
            try await store.transition(conn, account: account, alarm: row.definition, from: row.state, to: state, reason: reason,
                                       reasonData: reasonData)
        }
    }

    /// Newest first, before the item numbered `before`.
    public func history(alarm: String?, type: String?, start: Date?, end: Date?, before: Int64?, limit: Int) async throws
        -> [(item: CloudWatch.AlarmHistoryItem, seq: Int64)]
    {
        try await tenant.database.withConnection { [self] conn in
            try await store.historyItems(conn, account: account, alarm: alarm, type: type, start: start, end: end, before: before, limit: limit)
        }
    }

    /// The key alarm webhooks are signed with, made on first use.
    public func webhookSecret() async throws -> String {
        try await tenant.database.transaction { [self] conn in try await store.webhookSecret(conn, account: account) }
    }
}
