import Foundation
import Logging
import PostgresNIO
import StowageModel

public struct ServiceRow: Sendable, Equatable {
    public var cluster: String
    public var name: String
    public var status: String
    public var desiredCount: Int
    public var schedulingStrategy: String
    public var deploymentConfiguration: DeploymentConfiguration
    public var placementConstraints: [PlacementConstraint]
    public var placementStrategy: [PlacementStrategy]
    public var healthCheckGracePeriod: Int
    public var loadBalancers: [ServiceLoadBalancer] = []
    public var serviceRegistries: [ServiceRegistry] = []
    public var tags: [Tag]
    public var clientToken: String?
    public var createdBy: String?
    public var createdAt: Date
    public var version: Int
    /// Launch type or capacity provider strategy, platform version and awsvpc configuration, copied onto each task.
    public var launch: TaskLaunch?

    public init(cluster: String, name: String, desiredCount: Int, schedulingStrategy: String,
                deploymentConfiguration: DeploymentConfiguration) {
        self.cluster = cluster; self.name = name; self.status = "ACTIVE"; self.desiredCount = desiredCount
        self.schedulingStrategy = schedulingStrategy; self.deploymentConfiguration = deploymentConfiguration
        self.placementConstraints = []; self.placementStrategy = []; self.healthCheckGracePeriod = 0; self.tags = []
        self.createdAt = Date(timeIntervalSince1970: 0); self.version = 1
    }
}

public struct DeploymentRow: Sendable, Equatable {
    public var service: String
    public var id: String
    public var status: String
    public var family: String
    public var revision: Int
    public var rolloutState: String
    public var rolloutStateReason: String?
    public var createdAt: Date
    public var updatedAt: Date
}

public struct ServiceStore: Sendable {
    public let logger: Logger
    public init(logger: Logger) { self.logger = logger }

    /// Every service that is not INACTIVE, across accounts: what reconcile-all re-examines.
    public func allLive(_ conn: PostgresConnection) async throws -> [(account: String, cluster: String, service: String)] {
        let rows = try await conn.query("""
            SELECT account_id, cluster_name, service_name FROM services WHERE status <> 'INACTIVE'
            """, logger: logger)
        var out: [(account: String, cluster: String, service: String)] = []
        for try await row in rows.decode((String, String, String).self) { out.append(row) }
        return out
    }

    /// An account's ACTIVE services with the task definition of their PRIMARY deployment, locked: what a changed
    /// parameter or secret may roll.
    public func primaryDefinitions(_ conn: PostgresConnection, account: String) async throws
        -> [(cluster: String, service: String, family: String, revision: Int)]
    {
        let rows = try await conn.query("""
            SELECT s.cluster_name, s.service_name, d.family, d.revision FROM services s
            JOIN deployments d ON d.account_id = s.account_id AND d.cluster_name = s.cluster_name AND d.service_name = s.service_name
            WHERE s.account_id = \(account) AND s.status = 'ACTIVE' AND d.status = 'PRIMARY'
            ORDER BY s.cluster_name, s.service_name FOR UPDATE OF s
            """, logger: logger)
        var out: [(cluster: String, service: String, family: String, revision: Int)] = []
        for try await row in rows.decode((String, String, String, Int).self) { out.append(row) }
        return out
    }

    /// Removes an INACTIVE service with its deployments and events, so its name can be used again.
    public func purge(_ conn: PostgresConnection, account: String, cluster: String, service: String) async throws {
        try await conn.query("""
            DELETE FROM service_events WHERE account_id = \(account) AND cluster_name = \(cluster) AND service_name = \(service)
            """, logger: logger)
        try await conn.query("""
            DELETE FROM deployments WHERE account_id = \(account) AND cluster_name = \(cluster) AND service_name = \(service)
            """, logger: logger)
        try await conn.query("""
            DELETE FROM services WHERE account_id = \(account) AND cluster_name = \(cluster) AND service_name = \(service)
            """, logger: logger)
    }

    static let columns = """
        cluster_name, service_name, status, desired_count, scheduling_strategy, deployment_configuration::text,
        placement_constraints::text, placement_strategy::text, health_check_grace_seconds, tags::text, client_token,
        created_by, created_at, version, load_balancers::text, service_registries::text, launch::text
        """

    public func insert(_ conn: PostgresConnection, account: String, _ s: ServiceRow) async throws {
        try await conn.query("""
            INSERT INTO services (account_id, cluster_name, service_name, desired_count, scheduling_strategy,
                deployment_configuration, placement_constraints, placement_strategy, health_check_grace_seconds, tags,
                client_token, created_by, load_balancers, service_registries, launch)
            VALUES (\(account), \(s.cluster), \(s.name), \(s.desiredCount), \(s.schedulingStrategy),
                \(try ECSJSON.encodeString(s.deploymentConfiguration))::jsonb,
                \(try ECSJSON.encodeString(s.placementConstraints))::jsonb,
                \(try ECSJSON.encodeString(s.placementStrategy))::jsonb, \(s.healthCheckGracePeriod),
                \(try ECSJSON.encodeString(s.tags))::jsonb, \(s.clientToken), \(s.createdBy),
                \(try ECSJSON.encodeString(s.loadBalancers))::jsonb, \(try ECSJSON.encodeString(s.serviceRegistries))::jsonb,
                \(try s.launch.map { try ECSJSON.encodeString($0) })::jsonb)
            """, logger: logger)
    }

    /// Replaces a service's settings after a compare-and-set on its version; false when someone else changed it first.
    public func update(_ conn: PostgresConnection, account: String, _ s: ServiceRow) async throws -> Bool {
        try await conn.first("""
            UPDATE services SET status = \(s.status), desired_count = \(s.desiredCount),
                deployment_configuration = \(try ECSJSON.encodeString(s.deploymentConfiguration))::jsonb,
                placement_constraints = \(try ECSJSON.encodeString(s.placementConstraints))::jsonb,
                placement_strategy = \(try ECSJSON.encodeString(s.placementStrategy))::jsonb,
                health_check_grace_seconds = \(s.healthCheckGracePeriod), tags = \(try ECSJSON.encodeString(s.tags))::jsonb,
                load_balancers = \(try ECSJSON.encodeString(s.loadBalancers))::jsonb,
                service_registries = \(try ECSJSON.encodeString(s.serviceRegistries))::jsonb,
                launch = \(try s.launch.map { try ECSJSON.encodeString($0) })::jsonb, updated_at = now(), version = version + 1
            WHERE account_id = \(account) AND cluster_name = \(s.cluster) AND service_name = \(s.name) AND version = \(s.version)
            RETURNING 1
            """, as: Int.self, logger: logger) != nil
    }

    public func get(_ conn: PostgresConnection, account: String, cluster: String, names: [String], lock: Bool = false)
        async throws -> [ServiceRow]
    {
        let suffix = lock ? " FOR UPDATE" : ""
        return try await records(conn.query("""
            SELECT \(unescaped: Self.columns) FROM services
            WHERE account_id = \(account) AND cluster_name = \(cluster) AND service_name = ANY(\(names))\(unescaped: suffix)
            """, logger: logger))
    }

    /// ACTIVE and DRAINING services of a cluster.
    public func live(_ conn: PostgresConnection, account: String, cluster: String) async throws -> [ServiceRow] {
        try await records(conn.query("""
            SELECT \(unescaped: Self.columns) FROM services
            WHERE account_id = \(account) AND cluster_name = \(cluster) AND status <> 'INACTIVE'
            ORDER BY service_name
            """, logger: logger))
    }

    public func list(_ conn: PostgresConnection, account: String, cluster: String, strategy: String?, after: String?,
                     limit: Int) async throws -> [String] {
        let rows = try await conn.query("""
            SELECT service_name FROM services
            WHERE account_id = \(account) AND cluster_name = \(cluster) AND status = 'ACTIVE'
              AND (\(strategy)::text IS NULL OR scheduling_strategy = \(strategy)) AND service_name > \(after ?? "")
            ORDER BY service_name LIMIT \(limit)
            """, logger: logger)
        var names: [String] = []
        for try await name in rows.decode(String.self) { names.append(name) }
        return names
    }

    public func activeCount(_ conn: PostgresConnection, account: String, cluster: String) async throws -> Int {
        try await conn.first("""
            SELECT count(*) FROM services WHERE account_id = \(account) AND cluster_name = \(cluster) AND status = 'ACTIVE'
            """, as: Int.self, logger: logger) ?? 0
    }

    // MARK: Deployments

    public func addDeployment(_ conn: PostgresConnection, account: String, cluster: String, service: String, id: String,
                              family: String, revision: Int) async throws {
        try await conn.query("""
            UPDATE deployments SET status = 'ACTIVE', updated_at = now()
            WHERE account_id = \(account) AND cluster_name = \(cluster) AND service_name = \(service) AND status = 'PRIMARY'
            """, logger: logger)
        try await conn.query("""
            INSERT INTO deployments (account_id, cluster_name, service_name, deployment_id, status, family, revision)
            VALUES (\(account), \(cluster), \(service), \(id), 'PRIMARY', \(family), \(revision))
            """, logger: logger)
    }

    /// Live (PRIMARY and ACTIVE) deployments of the named services, newest first; with `history`, the replaced
    /// (INACTIVE) ones too, up to `limit` in all: the console's timeline, and what its rollback returns to.
    public func deployments(_ conn: PostgresConnection, account: String, cluster: String, services: [String],
                            history: Bool = false, limit: Int = 10_000) async throws -> [DeploymentRow]
    {
        let rows = try await conn.query("""
            SELECT service_name, deployment_id, status, family, revision, rollout_state, rollout_state_reason, created_at, updated_at
            FROM deployments
            WHERE account_id = \(account) AND cluster_name = \(cluster) AND service_name = ANY(\(services))
              AND (\(history) OR status <> 'INACTIVE')
            ORDER BY created_at DESC
            LIMIT \(limit)
            """, logger: logger)
        var result: [DeploymentRow] = []
        for try await (service, id, status, family, revision, state, reason, created, updated) in rows.decode(
            (String, String, String, String, Int, String, String?, Date, Date).self)
        {
            result.append(DeploymentRow(service: service, id: id, status: status, family: family, revision: revision,
                                           rolloutState: state, rolloutStateReason: reason, createdAt: created, updatedAt: updated))
        }
        return result
    }

    public func setRollout(_ conn: PostgresConnection, account: String, cluster: String, service: String, id: String,
                           state: String, reason: String) async throws {
        try await conn.query("""
            UPDATE deployments SET rollout_state = \(state), rollout_state_reason = \(reason), updated_at = now()
            WHERE account_id = \(account) AND cluster_name = \(cluster) AND service_name = \(service) AND deployment_id = \(id)
            """, logger: logger)
    }

    public func setTags(_ conn: PostgresConnection, account: String, cluster: String, name: String, tags: [Tag]) async throws {
        try await conn.query("""
            UPDATE services SET tags = \(try ECSJSON.encodeString(tags))::jsonb
            WHERE account_id = \(account) AND cluster_name = \(cluster) AND service_name = \(name)
            """, logger: logger)
    }

    /// Records the digests a deployment's images resolved to; the first digest recorded for a container stays
    /// (ECS's versionConsistency: every task of the deployment runs those bytes).
    public func recordImageDigests(_ conn: PostgresConnection, account: String, cluster: String,
                                   _ digests: [(service: String, deployment: String, container: String, digest: String)]) async throws {
        guard !digests.isEmpty else { return }
        try await conn.query("""
            UPDATE deployments d SET image_digests = n.digests || d.image_digests
            FROM (SELECT service, deployment, jsonb_object_agg(container, digest) AS digests
                  FROM unnest(\(digests.map(\.service))::text[], \(digests.map(\.deployment))::text[],
                              \(digests.map(\.container))::text[], \(digests.map(\.digest))::text[])
                       AS v(service, deployment, container, digest)
                  GROUP BY service, deployment) n
            WHERE d.account_id = \(account) AND d.cluster_name = \(cluster) AND d.service_name = n.service
              AND d.deployment_id = n.deployment AND NOT (d.image_digests ?& array(SELECT jsonb_object_keys(n.digests)))
            """, logger: logger)
    }

    /// The recorded image digests of deployments: deployment id -> container name -> digest.
    public func imageDigests(_ conn: PostgresConnection, account: String, cluster: String, deployments: [String]) async throws
        -> [String: [String: String]]
    {
        guard !deployments.isEmpty else { return [:] }
        let rows = try await conn.query("""
            SELECT deployment_id, image_digests::text FROM deployments
            WHERE account_id = \(account) AND cluster_name = \(cluster) AND deployment_id = ANY(\(deployments))
              AND image_digests <> '{}'::jsonb
            """, logger: logger)
        var out: [String: [String: String]] = [:]
        for try await (id, text) in rows.decode((String, String).self) {
            out[id] = (try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))) ?? [:]
        }
        return out
    }

    public func retire(_ conn: PostgresConnection, account: String, cluster: String, service: String, ids: [String]) async throws {
        guard !ids.isEmpty else { return }
        try await conn.query("""
            UPDATE deployments SET status = 'INACTIVE', updated_at = now()
            WHERE account_id = \(account) AND cluster_name = \(cluster) AND service_name = \(service) AND deployment_id = ANY(\(ids))
            """, logger: logger)
    }

    // MARK: Events

    /// Services of a cluster that are not INACTIVE, other than `excluding`, for the services-per-cluster quota.
    public func liveCount(_ conn: PostgresConnection, account: String, cluster: String, excluding name: String) async throws -> Int {
        try await conn.first("""
            SELECT count(*)::bigint FROM services WHERE account_id = \(account) AND cluster_name = \(cluster)
              AND status <> 'INACTIVE' AND service_name <> \(name)
            """, as: Int.self, logger: logger) ?? 0
    }

    public func addEvents(_ conn: PostgresConnection, account: String, cluster: String, service: String, _ messages: [String]) async throws {
        for message in messages {
            try await conn.query("""
                INSERT INTO service_events (account_id, cluster_name, service_name, event_id, message)
                VALUES (\(account), \(cluster), \(service), \(UUID().uuidString.lowercased()), \(message))
                """, logger: logger)
        }
    }

    /// The latest events, newest first.
    public func events(_ conn: PostgresConnection, account: String, cluster: String, service: String, limit: Int = 100) async throws
        -> [ServiceEvent]
    {
        let rows = try await conn.query("""
            SELECT event_id, created_at, message FROM service_events
            WHERE account_id = \(account) AND cluster_name = \(cluster) AND service_name = \(service)
            ORDER BY created_at DESC LIMIT \(limit)
            """, logger: logger)
        var result: [ServiceEvent] = []
        for try await (id, at, message) in rows.decode((String, Date, String).self) {
            result.append(ServiceEvent(id: id, createdAt: at, message: message))
        }
        return result
    }

    func records(_ rows: PostgresRowSequence) async throws -> [ServiceRow] {
        var result: [ServiceRow] = []
        for try await row in rows {
            let r = row.makeRandomAccess()
            var s = ServiceRow(cluster: try r[0].decode(String.self), name: try r[1].decode(String.self),
                                  desiredCount: try r[3].decode(Int.self), schedulingStrategy: try r[4].decode(String.self),
                                  deploymentConfiguration: try ECSJSON.decode(DeploymentConfiguration.self, from: try r[5].decode(String.self)))
            s.status = try r[2].decode(String.self)
            s.placementConstraints = try ECSJSON.decode([PlacementConstraint].self, from: try r[6].decode(String.self))
            s.placementStrategy = try ECSJSON.decode([PlacementStrategy].self, from: try r[7].decode(String.self))
            s.healthCheckGracePeriod = try r[8].decode(Int.self)
            s.tags = try ECSJSON.decode([Tag].self, from: try r[9].decode(String.self))
            s.clientToken = try r[10].decode(String?.self)
            s.createdBy = try r[11].decode(String?.self)
            s.createdAt = try r[12].decode(Date.self)
            s.version = try r[13].decode(Int.self)
            s.loadBalancers = try ECSJSON.decode([ServiceLoadBalancer].self, from: try r[14].decode(String.self))
            s.serviceRegistries = try ECSJSON.decode([ServiceRegistry].self, from: try r[15].decode(String.self))
            s.launch = try r[16].decode(String?.self).map { try ECSJSON.decode(TaskLaunch.self, from: $0) }
            result.append(s)
        }
        return result
    }
}
