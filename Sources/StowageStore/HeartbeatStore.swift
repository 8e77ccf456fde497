import Foundation
import Logging
import PostgresNIO
import StowageModel

/// Agent heartbeats, the control plane's own pulse, and what the host-loss sweep reads and writes.
///
/// Heartbeats live in their own table, written by single autocommit statements, so that an agent's poll
/// never queues behind a transaction holding its container instance's row (a state report, an API write).
public struct HeartbeatStore: Sendable {
    public let logger: Logger
    public init(logger: Logger) { self.logger = logger }

    /// Servers tick every second; a pulse older than `tickTolerance` seconds means nobody heard agents.
    public static let tickInterval: Duration = .seconds(1)
    public static let tickTolerance = 5.0

    /// Records that the agent is alive; true when its instance had been marked disconnected (it just came back).
    /// Polls and reports run it outside any transaction: each statement commits at once and locks the instance
    /// row only when the instance really was disconnected. A registration runs it inside its own, so an agent
    /// that registers and goes silent before its first poll is judged like any other.
    public func heartbeat(_ conn: PostgresConnection, account: String, cluster: String, id: String) async throws -> Bool {
        try await beat(conn, account: account, cluster: cluster, id: id)?.reconnected ?? false
    }

    /// What one statement learns while it records a heartbeat: whether the instance came back (its agent was
    /// marked disconnected), and whether it and its cluster are still live. Nil: no such instance.
    public struct Beat: Sendable, Equatable {
        public var reconnected: Bool
        public var instanceLive: Bool
        public var clusterActive: Bool
    }

    /// The heartbeat, the reconnection and the liveness checks a poll needs, in one round trip.
    public func beat(_ conn: PostgresConnection, account: String, cluster: String, id: String) async throws -> Beat? {
        let rows = try await conn.query("""
            WITH inst AS (
                SELECT ci.account_id, ci.cluster_name, ci.instance_id, ci.status, c.status AS cluster_status
                FROM container_instances ci
                JOIN clusters c ON c.account_id = ci.account_id AND c.cluster_name = ci.cluster_name
                WHERE ci.account_id = \(account) AND ci.cluster_name = \(cluster) AND ci.instance_id = \(id)
            ), beat AS (
                INSERT INTO instance_heartbeats (account_id, cluster_name, instance_id, last_heartbeat_at)
                SELECT account_id, cluster_name, instance_id, now() FROM inst WHERE status <> 'INACTIVE'
                ON CONFLICT (account_id, cluster_name, instance_id) DO UPDATE SET last_heartbeat_at = now()
                RETURNING 1
            ), connected AS (
                UPDATE container_instances ci SET agent_connected = true
                FROM inst
                WHERE ci.account_id = inst.account_id AND ci.cluster_name = inst.cluster_name
                  AND ci.instance_id = inst.instance_id AND inst.status <> 'INACTIVE' AND NOT ci.agent_connected
                RETURNING 1
            )
            SELECT EXISTS (SELECT 1 FROM connected), inst.status <> 'INACTIVE', inst.cluster_status = 'ACTIVE'
            FROM inst
            """, logger: logger)
        for try await (reconnected, live, active) in rows.decode((Bool, Bool, Bool).self) {
            return Beat(reconnected: reconnected, instanceLive: live, clusterActive: active)
        }
        return nil
    }

    /// A server's tick: the control plane can hear agents. After a gap longer than `tolerance` seconds (the
    /// database or every server was down) hearing restarts now, so silence during the outage counts for nothing.
    public func tick(_ conn: PostgresConnection, tolerance: Double) async throws {
        try await conn.query("""
            UPDATE control_plane_health
               SET healthy_since = CASE WHEN last_tick_at < now() - make_interval(secs => \(tolerance)) THEN now() ELSE healthy_since END,
                   last_tick_at = now()
            WHERE id = 1
            """, logger: logger)
    }

    /// Seconds since the last tick, and since the control plane last became healthy.
    public func controlPlane(_ conn: PostgresConnection) async throws -> (sinceTick: Double, healthyFor: Double)? {
        let rows = try await conn.query("""
            SELECT EXTRACT(EPOCH FROM now() - last_tick_at)::float8, EXTRACT(EPOCH FROM now() - healthy_since)::float8
            FROM control_plane_health WHERE id = 1
            """, logger: logger)
        for try await (tick, healthy) in rows.decode((Double, Double).self) { return (tick, healthy) }
        return nil
    }

    /// One instance with an agent, as the sweep sees it.
    public struct SweepRow: Sendable {
        public var account: String
        public var cluster: String
        public var instanceId: String
        public var connected: Bool
        /// Seconds since the later of its last heartbeat and the control plane becoming healthy.
        public var silence: Double
        public var liveTasks: Int
    }

    /// Every live instance that ever heartbeated (instances registered through the API, with no agent, are
    /// never judged), with the silence the control plane could have heard.
    public func sweepView(_ conn: PostgresConnection) async throws -> [SweepRow] {
        let rows = try await conn.query("""
            SELECT ci.account_id, ci.cluster_name, ci.instance_id, ci.agent_connected,
                   EXTRACT(EPOCH FROM now() - GREATEST(h.last_heartbeat_at, cp.healthy_since))::float8,
                   (SELECT count(*) FROM tasks t WHERE t.account_id = ci.account_id AND t.cluster_name = ci.cluster_name
                       AND t.instance_id = ci.instance_id AND t.last_status <> 'STOPPED')::int8
            FROM container_instances ci
            JOIN instance_heartbeats h ON h.account_id = ci.account_id AND h.cluster_name = ci.cluster_name
                                      AND h.instance_id = ci.instance_id
            CROSS JOIN control_plane_health cp
            WHERE ci.status <> 'INACTIVE'
            ORDER BY ci.account_id, ci.cluster_name, ci.instance_id
            """, logger: logger)
        var out: [SweepRow] = []
        for try await (account, cluster, id, connected, silence, live) in rows.decode((String, String, String, Bool, Double, Int64).self) {
            out.append(SweepRow(account: account, cluster: cluster, instanceId: id, connected: connected, silence: silence, liveTasks: Int(live)))
        }
        return out
    }

    public func markDisconnected(_ conn: PostgresConnection, account: String, cluster: String, ids: [String]) async throws {
        guard !ids.isEmpty else { return }
        try await conn.query("""
            UPDATE container_instances SET agent_connected = false
            WHERE account_id = \(account) AND cluster_name = \(cluster) AND instance_id = ANY(\(ids)) AND agent_connected
            """, logger: logger)
    }

    /// Stops the tasks of lost instances; returns the services that lost tasks.
    public func stopLostTasks(_ conn: PostgresConnection, account: String, cluster: String, ids: [String]) async throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        let rows = try await conn.query("""
            UPDATE tasks SET last_status = 'STOPPED', desired_status = 'STOPPED', stopped_at = now(),
                   stopping_at = COALESCE(stopping_at, now()),
                   stopped_reason = COALESCE(stopped_reason, 'Host lost: container instance ' || instance_id || ' stopped reporting'),
                   stop_code = COALESCE(stop_code, 'ServiceSchedulerInitiated'), version = version + 1
            WHERE account_id = \(account) AND cluster_name = \(cluster) AND instance_id = ANY(\(ids)) AND last_status <> 'STOPPED'
            RETURNING service_name
            """, logger: logger)
        var services = Set<String>()
        for try await service in rows.decode(String?.self) { if let service { services.insert(service) } }
        return services
    }
}
