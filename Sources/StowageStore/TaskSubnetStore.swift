import Foundation
import Logging
import PostgresNIO
import StowageModel

/// The platform-wide allocation of task subnets (`task_subnets`): which instance holds which /24 of the task range,
/// by index. The only table keyed across accounts besides the control plane's own: an index must not repeat
/// whichever account holds it, or two hosts would route the same addresses.
public struct TaskSubnetStore: Sendable {
    public let logger: Logger
    public init(logger: Logger) { self.logger = logger }

    /// The index the instance holds, if any.
    public func held(_ conn: PostgresConnection, account: String, cluster: String, instance: String) async throws -> Int? {
        try await conn.first("""
            SELECT subnet_index FROM task_subnets
            WHERE account_id = \(account) AND cluster_name = \(cluster) AND instance_id = \(instance)
            """, as: Int.self, logger: logger)
    }

    /// The instance's index, taking the lowest free one when it holds none; nil when every index is taken.
    /// Two registrations that race for one index meet at its primary key: the later waits for the earlier to
    /// commit, inserts nothing (ON CONFLICT DO NOTHING) and looks again, so neither fails nor repeats an index.
    public func assign(_ conn: PostgresConnection, account: String, cluster: String, instance: String) async throws -> Int? {
        if let index = try await held(conn, account: account, cluster: cluster, instance: instance) { return index }
        for _ in 0..<64 {
            guard let free = try await conn.first("""
                SELECT i FROM generate_series(0, \(TaskNetwork.subnetCount - 1)) i
                WHERE NOT EXISTS (SELECT 1 FROM task_subnets s WHERE s.subnet_index = i)
                ORDER BY i LIMIT 1
                """, as: Int.self, logger: logger) else { return nil }
            if let taken = try await conn.first("""
                INSERT INTO task_subnets (subnet_index, account_id, cluster_name, instance_id)
                VALUES (\(free), \(account), \(cluster), \(instance))
                ON CONFLICT (subnet_index) DO NOTHING
                RETURNING subnet_index
                """, as: Int.self, logger: logger) { return taken }
        }
        throw APIError.server()
    }

    /// How many task subnets the account's instances hold.
    public func count(_ conn: PostgresConnection, account: String) async throws -> Int {
        try await conn.first("SELECT count(*)::int FROM task_subnets WHERE account_id = \(account)", as: Int.self, logger: logger) ?? 0
    }

    /// Gives the instance's index back to the pool.
    public func release(_ conn: PostgresConnection, account: String, cluster: String, instance: String) async throws {
        try await conn.query("""
            DELETE FROM task_subnets WHERE account_id = \(account) AND cluster_name = \(cluster) AND instance_id = \(instance)
            """, logger: logger)
    }

    /// An instance's route: where its task subnet is reached.
    public struct Holder: Sendable, Equatable {
        public var account: String
        public var cluster: String
        public var instance: String
        public var route: AgentProtocol.TaskRoute
    }

    /// The ACTIVE and DRAINING instances that hold a task subnet and have said where their host is reached: of one
    /// account (an agent's peers), or of every account (`stowage lb`, which reaches every tenant's targets). An
    /// address that is not an IP literal, or a subnet that is not one of the range's /24s, routes nothing.
    public func holders(_ conn: PostgresConnection, account: String?) async throws -> [Holder] {
        let rows = try await conn.query("""
            SELECT account_id, cluster_name, instance_id,
                   (SELECT a->>'value' FROM jsonb_array_elements(attributes) a WHERE a->>'name' = \(AgentProtocol.taskSubnetAttribute) LIMIT 1),
                   (SELECT a->>'value' FROM jsonb_array_elements(attributes) a WHERE a->>'name' = \(AgentProtocol.hostAddressAttribute) LIMIT 1)
            FROM container_instances
            WHERE status IN ('ACTIVE', 'DRAINING') AND (\(account)::text IS NULL OR account_id = \(account))
              AND attributes @> jsonb_build_array(jsonb_build_object('name', \(AgentProtocol.taskSubnetAttribute)))
            ORDER BY account_id, cluster_name, instance_id
            """, logger: logger)
        var out: [Holder] = []
        for try await (account, cluster, instance, subnet, via) in rows.decode((String, String, String, String?, String?).self) {
            guard let subnet, let via, TaskNetwork.isSubnet(subnet), AgentProtocol.isHostAddress(via) else { continue }
            out.append(Holder(account: account, cluster: cluster, instance: instance, route: AgentProtocol.TaskRoute(subnet: subnet, via: via)))
        }
        return out
    }
}
