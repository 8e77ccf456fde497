import Foundation
import PostgresNIO
import StowageIAM
import StowageModel
import StowageStore

/// What an agent asks about the tasks placed on its instance (their definitions, the roles they run as) and
/// the instance's own credential. On the agent protocol's pool; the door has shown the caller is the instance.
public struct AgentTasks: Sendable {
    let tenant: TenantContext
    let stores: ECSStores
    let tenancy: Tenancy
    let iam: IAMEntities

    public init(tenant: TenantContext, stores: ECSStores, tenancy: Tenancy, iam: IAMEntities) {
        self.tenant = tenant; self.stores = stores; self.tenancy = tenancy; self.iam = iam
    }

    var account: String { tenant.account }

    /// A new credential for a live instance. The caller forgets the new key id in its verifier, so a key presented
    /// before it existed is not remembered as unknown.
    public func rotateCredential(cluster: String, id: String, reference: String) async throws -> NewInstanceCredential {
        try await tenant.database.transaction { [self] conn in
            _ = try await Clusters(tenant: tenant, stores: stores).liveInstance(conn, cluster: cluster, id: id, reference: reference)
            return try await tenancy.issueInstanceCredential(conn, account: account, cluster: cluster, instance: id, now: tenant.clock.now())
        }
    }

    /// A task placed on the live instance `id` and not stopped, with its definition's row (nil when the revision is
    /// gone); `reference` and `arn` word the refusals.
    public func placed(cluster: String, id: String, arn: String, reference: String, taskId: String, taskReference: String) async throws
        -> (task: TaskRow, definition: TaskDefinitionRow?)
    {
        try await tenant.database.withConnection { [self] conn in
            _ = try await Clusters(tenant: tenant, stores: stores).liveInstance(conn, cluster: cluster, id: id, reference: reference)
            guard let task = try await stores.tasks.get(conn, account: account, cluster: cluster, ids: [taskId]).first,
                  task.instanceId == id, task.lastStatus != "STOPPED" else {
                throw APIError.invalidParameter("Task \(taskReference) is not running on container instance \(arn).")
            }
            let definition = try await stores.taskDefinitions.get(conn, account: account, family: task.family, revision: task.revision)
            return (task, definition)
        }
    }

    /// The role a task runs as, when the ARN is the role's own (see `IAMEntities.role(arn:)`).
    public func role(arn: String) async throws -> RoleRow? { try await iam.role(arn: arn) }

    /// Writes a line to a service's event log, so a failure the agent acts on is not silent.
    public func serviceEvent(cluster: String, service: String, _ message: String) async throws {
        try await tenant.database.transaction { [self] conn in
            try await stores.services.addEvents(conn, account: account, cluster: cluster, service: service, [message])
        }
    }
}

/// The DNS names an agent's resolver answers for its containers: its own account's Cloud Map names, never another's.
/// Read on the tenants' pool, as Cloud Map's own reads are.
public struct AgentDiscovery: Sendable {
    let tenant: TenantContext

    public init(tenant: TenantContext) { self.tenant = tenant }

    public func names() async throws -> [ServiceDiscovery.DNSName] {
        try await tenant.database.withConnection { [tenant] conn in
            try await DiscoveryStore(logger: tenant.logger).dnsNames(conn, account: tenant.account)
        }
    }
}
