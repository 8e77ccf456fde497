import Foundation
import Logging
import PostgresNIO
import StowageModel
import StowageProxyConfig
import StowageStore
import StowageTelemetryStore

/// What `stowage lb` reads and writes across every account: the whole fleet of load balancers in one read, the
/// health it observed written back in one transaction, and the request counts it publishes. It acts for no
/// tenant (no `TenantContext`): each row it writes is keyed by the ids it read.
public struct LoadBalancerFleet: Sendable {
    /// Every row HAProxy's configuration is made from, read on one connection so the pieces agree.
    public struct Rows: Sendable {
        public var loadBalancers: [LoadBalancerRow]
        public var listeners: [ListenerRow]
        public var rules: [RuleRow]
        public var targetGroups: [TargetGroupRow]
        public var targets: [TargetRow]
        public var announced: [ControlPlaneEndpointStore.Endpoint]
    }

    let database: Database
    let logger: Logger
    let store: LoadBalancerStore

    public init(database: Database, logger: Logger) {
        self.database = database; self.logger = logger; self.store = LoadBalancerStore(logger: logger)
    }

    public func read() async throws -> Rows {
        try await database.withConnection { [store, logger] conn in
            Rows(loadBalancers: try await store.allLoadBalancers(conn), listeners: try await store.allListeners(conn),
                 rules: try await store.allRules(conn), targetGroups: try await store.allTargetGroups(conn),
                 targets: try await Self.current(try await store.allTargets(conn), conn, logger: logger),
                 announced: try await ControlPlaneEndpointStore(logger: logger).all(conn))
        }
    }

    /// A target in the task range counts as its task's only while no other task holds its address: once a task
    /// subnet is freed and given to another instance (perhaps another account's), a target left behind for the old
    /// task is an address like any other in shared space, which the target policy refuses.
    static func current(_ targets: [TargetRow], _ conn: PostgresConnection, logger: Logger) async throws -> [TargetRow] {
        let addresses = Set(targets.filter { $0.taskId != nil && TaskNetwork.inTaskRange($0.address) }.map(\.address))
        guard !addresses.isEmpty else { return targets }
        let holders = try await TaskAddressStore(logger: logger).holders(conn, addresses: addresses.sorted())
        return targets.map { t in
            guard let task = t.taskId, let holder = holders[t.address], holder != task else { return t }
            var stale = t
            stale.taskId = nil
            return stale
        }
    }

    /// The routes `stowage lb` installs so its HAProxy reaches awsvpc tasks by address: every instance's task
    /// subnet, of every account, via its host address.
    public func taskRoutes() async throws -> [AgentProtocol.TaskRoute] {
        try await database.withConnection { [logger] conn in
            try await TaskSubnetStore(logger: logger).holders(conn, account: nil).map(\.route)
        }
    }

    /// The targets' new health, the services whose tasks it concerns reconciled (deployments wait for healthy
    /// targets; an unhealthy task is replaced), drained targets purged, and each load balancer's state — together.
    public func record(_ changed: [HealthUpdate], tasks taskIds: Set<String>, active: [String], failed: [String: String], now: Date) async throws {
        try await database.transaction { [store, logger] conn in
            for u in changed {
                try await store.setHealth(conn, targetGroupId: u.groupId, targetId: u.targetId, port: u.port, state: u.state,
                                          reason: u.reason, description: u.description)
            }
            for s in try await store.services(conn, taskIds: Array(taskIds)) {
                try await JobQueue(logger: logger).reconcile(conn, account: s.account, cluster: s.cluster, service: s.service)
            }
            let purged = try await store.purgeDrained(conn, now: now)
            try await store.setState(conn, ids: active, state: "active")
            for (id, reason) in failed.sorted(by: { $0.key < $1.key }) {
                try await store.setState(conn, ids: [id], state: "failed", reason: String(reason.prefix(1024)))
            }
            if purged > 0 { try await store.notify(conn) }
        }
    }

    /// Request counts, each account's points in its own namespace, all or none.
    public func publish(_ byAccount: [String: [MetricPoint]]) async throws {
        let metrics = MetricStore(logger: logger)
        try await database.transaction { conn in
            for (account, points) in byAccount.sorted(by: { $0.key < $1.key }) { try await metrics.put(conn, account: account, points) }
        }
    }
}
