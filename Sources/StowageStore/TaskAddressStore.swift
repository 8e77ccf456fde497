import Foundation
import Logging
import PostgresNIO
import StowageModel

/// awsvpc tasks' own addresses (`tasks.private_ipv4_address`), as their agents reported them: what DescribeTasks,
/// `ip` targets and Cloud Map records carry. Apart from TaskStore's row, because only these readers need it.
public struct TaskAddressStore: Sendable {
    public let logger: Logger
    public init(logger: Logger) { self.logger = logger }

    /// Records reported addresses of tasks placed on `instance` (a task of another instance is left alone).
    public func record(_ conn: PostgresConnection, account: String, cluster: String, instance: String, _ addresses: [String: String])
        async throws
    {
        guard !addresses.isEmpty else { return }
        let ids = addresses.keys.sorted()
        try await conn.query("""
            UPDATE tasks t SET private_ipv4_address = v.address
            FROM unnest(\(ids)::text[], \(ids.map { addresses[$0] ?? "" })::text[]) AS v(task_id, address)
            WHERE t.account_id = \(account) AND t.cluster_name = \(cluster) AND t.task_id = v.task_id AND t.instance_id = \(instance)
              AND t.private_ipv4_address IS DISTINCT FROM v.address
            """, logger: logger)
    }

    /// The recorded addresses of the named tasks, by task id.
    public func addresses(_ conn: PostgresConnection, account: String, cluster: String, ids: [String]) async throws -> [String: String] {
        let rows = try await conn.query("""
            SELECT task_id, private_ipv4_address FROM tasks
            WHERE account_id = \(account) AND cluster_name = \(cluster) AND task_id = ANY(\(ids)) AND private_ipv4_address IS NOT NULL
            """, logger: logger)
        var out: [String: String] = [:]
        for try await (id, address) in rows.decode((String, String).self) { out[id] = address }
        return out
    }

    /// The live task holding each of `addresses` that one holds, across accounts (`stowage lb`'s view).
    public func holders(_ conn: PostgresConnection, addresses: [String]) async throws -> [String: String] {
        guard !addresses.isEmpty else { return [:] }
        let rows = try await conn.query("""
            SELECT private_ipv4_address, task_id FROM tasks
            WHERE private_ipv4_address = ANY(\(addresses)) AND last_status <> 'STOPPED'
            """, logger: logger)
        var out: [String: String] = [:]
        for try await (address, task) in rows.decode((String, String).self) { out[address] = task }
        return out
    }

    /// The account's live task that holds `address`, if one does: a tenant's `ip` target in the task range must be
    /// one of its own tasks, never another tenant's.
    public func liveTask(_ conn: PostgresConnection, account: String, address: String) async throws -> String? {
        try await conn.first("""
            SELECT task_id FROM tasks
            WHERE account_id = \(account) AND private_ipv4_address = \(address) AND last_status <> 'STOPPED'
            LIMIT 1
            """, as: String.self, logger: logger)
    }
}
