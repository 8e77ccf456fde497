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
            SELECT t.private_ipv4_address, t.task_id FROM tasks t
            WHERE t.private_ipv4_address = ANY(\(addresses)) AND t.last_status <> 'STOPPED'
              AND EXISTS (SELECT 1 FROM task_subnets s WHERE s.account_id = t.account_id AND s.cluster_name = t.cluster_name
                          AND s.instance_id = t.instance_id)
            """, logger: logger)
        var out: [String: String] = [:]
        var ambiguous: Set<String> = []
        for try await (address, task) in rows.decode((String, String).self) {
            if out[address] != nil { ambiguous.insert(address) }
            out[address] = task
        }
        // Two live tasks at one address (a report raced a subnet's reassignment): neither is trusted with it.
        for address in ambiguous { out[address] = nil }
        return out
    }

    /// The account's live task that holds `address`, if one does: a tenant's `ip` target in the task range must be
    /// one of its own tasks, never another tenant's. Here and in `holders`, an address counts only while its task's
    /// instance still holds a task subnet: once released (the instance deregistered) the subnet may be another
    /// instance's, of any account, and a task row left RUNNING must not claim it.
    public func liveTask(_ conn: PostgresConnection, account: String, address: String) async throws -> String? {
        try await conn.first("""
            SELECT t.task_id FROM tasks t
            WHERE t.account_id = \(account) AND t.private_ipv4_address = \(address) AND t.last_status <> 'STOPPED'
              AND EXISTS (SELECT 1 FROM task_subnets s WHERE s.account_id = t.account_id AND s.cluster_name = t.cluster_name
                          AND s.instance_id = t.instance_id)
              AND NOT EXISTS (SELECT 1 FROM tasks o WHERE o.private_ipv4_address = t.private_ipv4_address AND o.task_id <> t.task_id
                              AND o.last_status <> 'STOPPED')
            LIMIT 1
            """, as: String.self, logger: logger)
    }

    /// Forgets the addresses of an instance's tasks when its subnet goes back to the pool.
    public func forget(_ conn: PostgresConnection, account: String, cluster: String, instance: String) async throws {
        try await conn.query("""
            UPDATE tasks SET private_ipv4_address = NULL
            WHERE account_id = \(account) AND cluster_name = \(cluster) AND instance_id = \(instance) AND private_ipv4_address IS NOT NULL
            """, logger: logger)
    }
}
