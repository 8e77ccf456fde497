import Foundation
import PostgresNIO
import StowageModel
import StowageStore

/// The ECS stores a use case reads and writes, built once per process.
public struct ECSStores: Sendable {
    public let clusters: ClusterStore
    public let taskDefinitions: TaskDefinitionStore
    public let instances: ContainerInstanceStore
    public let services: ServiceStore
    public let tasks: TaskStore

    public init(clusters: ClusterStore, taskDefinitions: TaskDefinitionStore, instances: ContainerInstanceStore, services: ServiceStore,
                tasks: TaskStore) {
        self.clusters = clusters; self.taskDefinitions = taskDefinitions; self.instances = instances; self.services = services
        self.tasks = tasks
    }
}

/// The lookups every ECS use case starts from, inside the caller's transaction: a cluster that must be ACTIVE, an
/// instance that must be live. One place words their not-found errors.
public struct Clusters: Sendable {
    let tenant: TenantContext
    let stores: ECSStores

    public init(tenant: TenantContext, stores: ECSStores) { self.tenant = tenant; self.stores = stores }

    /// Fails unless the cluster exists and is ACTIVE; `share` holds it so (FOR SHARE) until the transaction ends.
    public func requireActive(_ conn: PostgresConnection, _ name: String, share: Bool = false) async throws {
        guard try await stores.clusters.isActive(conn, account: tenant.account, name: name, share: share) else {
            throw APIError.clusterNotFound("Cluster not found: \(name).")
        }
    }

    /// The cluster with its counts, which must exist and be ACTIVE; `lock` holds it FOR UPDATE.
    public func active(_ conn: PostgresConnection, _ name: String, lock: Bool = false) async throws -> ClusterRow {
        guard let record = try await stores.clusters.get(conn, account: tenant.account, names: [name], forUpdate: lock).first,
              record.status == "ACTIVE" else { throw APIError.clusterNotFound("Cluster not found: \(name).") }
        return record
    }

    /// A registered (not INACTIVE) instance of an ACTIVE cluster; `reference` is how the request named it.
    public func liveInstance(_ conn: PostgresConnection, cluster: String, id: String, reference: String) async throws -> ContainerInstanceRow {
        try await requireActive(conn, cluster)
        guard let record = try await stores.instances.get(conn, account: tenant.account, cluster: cluster, ids: [id]).first,
              record.status != "INACTIVE" else {
            throw APIError.containerInstanceNotFound("Container instance \(reference) not found in cluster \(cluster).")
        }
        return record
    }

    /// A stored revision as a request names it: a bare family means its latest ACTIVE revision.
    public func taskDefinition(_ conn: PostgresConnection, family: String, revision: Int?) async throws -> TaskDefinitionRow? {
        if let revision { return try await stores.taskDefinitions.get(conn, account: tenant.account, family: family, revision: revision) }
        return try await stores.taskDefinitions.latestActive(conn, account: tenant.account, family: family)
    }

    /// The revision a task or service will run: it must exist and be ACTIVE.
    public func activeTaskDefinition(_ conn: PostgresConnection, family: String, revision: Int?) async throws -> TaskDefinitionRow {
        guard let record = try await taskDefinition(conn, family: family, revision: revision) else {
            throw APIError.client("Unable to find task definition '\(family)\(revision.map { ":\($0)" } ?? "")'.")
        }
        guard record.status == "ACTIVE" else { throw APIError.client("TaskDefinition is inactive: \(family):\(record.revision).") }
        return record
    }
}

extension Clusters {
    /// Capacity or eligibility changed (an instance joined, drained, left or its agent came back): every service of
    /// the cluster reconciles, and waiting tasks get another placement pass. Runs in the caller's transaction, so the
    /// jobs exist exactly when the change does.
    public func capacityChanged(_ conn: PostgresConnection, cluster: String) async throws {
        let queue = JobQueue(logger: tenant.logger)
        for service in try await stores.services.live(conn, account: tenant.account, cluster: cluster) {
            try await queue.reconcile(conn, account: tenant.account, cluster: cluster, service: service.name)
        }
        try await queue.place(conn, account: tenant.account, cluster: cluster)
    }
}
