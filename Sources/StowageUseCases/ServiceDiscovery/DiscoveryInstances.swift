import Foundation
import PostgresNIO
import StowageModel
import StowageStore

/// The instances registered in Cloud Map services: those a tenant registers itself, and those ECS registers for
/// its tasks, which only ECS changes.
public struct DiscoveryInstances: DiscoveryUseCase {
    let tenant: TenantContext
    let store: DiscoveryStore

    public init(tenant: TenantContext, store: DiscoveryStore) { self.tenant = tenant; self.store = store }

    /// The service a request names by id or ARN and its instances, read together.
    public func instances(of reference: String) async throws -> (DiscoveryServiceRow, [DiscoveryInstanceRow]) {
        try await tenant.database.withConnection { [self] conn in
            let row = try await serviceRow(conn, reference)
            return (row, try await store.instances(conn, account: account, serviceIds: [row.id]))
        }
    }

    /// A namespace and a service by name as DiscoverInstances gives them (either as written or lowercased, as the
    /// names are stored), with the service's instances.
    public func discover(namespace: String, service: String) async throws -> (NamespaceRow, DiscoveryServiceRow, [DiscoveryInstanceRow]) {
        try await tenant.database.withConnection { [self] conn in
            let candidates = [namespace, namespace.lowercased()]
            guard let ns = try await store.namespaces(conn, account: account, names: candidates).first else {
                throw DiscoveryRules.namespaceNotFound(namespace)
            }
            var found = try await store.services(conn, account: account, namespaceIds: [ns.id], name: service.lowercased()).first
            if found == nil { found = try await store.services(conn, account: account, namespaceIds: [ns.id], name: service).first }
            guard let row = found else { throw DiscoveryRules.serviceNotFound(service) }
            return (ns, row, try await store.instances(conn, account: account, serviceIds: [row.id]))
        }
    }

    /// The operation's id. The service row is locked while the instance is written; an instance ECS registered for a
    /// task is refused, since ECS would write it back from the task.
    public func register(serviceId: String, instanceId: String, attributes: [String: String], creatorRequestId: String?) async throws -> String {
        try await tenant.database.transaction { [self] conn in
            _ = try await serviceRow(conn, serviceId, lock: true)
            if let existing = try await store.instances(conn, account: account, serviceIds: [serviceId]).first(where: { $0.instanceId == instanceId }),
               existing.taskId != nil {
                throw APIError("ResourceInUse", "Instance \(instanceId) is an ECS task registered by its service; ECS manages it.")
            }
            let health = attributes["AWS_INIT_HEALTH_STATUS"] ?? "HEALTHY"
            try await store.putInstance(conn, account: account, DiscoveryInstanceRow(
                serviceId: serviceId, instanceId: instanceId, attributes: attributes, creatorRequestId: creatorRequestId,
                health: health, taskId: nil), now: tenant.clock.now())
            return try await store.operation(conn, account: account, type: "REGISTER_INSTANCE",
                                             targets: ["SERVICE": serviceId, "INSTANCE": instanceId], now: tenant.clock.now())
        }
    }

    /// The operation's id.
    public func deregister(serviceId: String, instanceId: String) async throws -> String {
        try await tenant.database.transaction { [self] conn in
            guard try await store.deleteInstance(conn, account: account, serviceId: serviceId, instanceId: instanceId) else {
                throw DiscoveryRules.instanceNotFound(instanceId)
            }
            return try await store.operation(conn, account: account, type: "DEREGISTER_INSTANCE",
                                             targets: ["SERVICE": serviceId, "INSTANCE": instanceId], now: tenant.clock.now())
        }
    }

    /// A custom health status; an ECS task's comes from the task's own health, so setting it here is refused.
    public func setCustomHealth(serviceId: String, instanceId: String, status: String) async throws {
        try await tenant.database.transaction { [self] conn in
            guard let instance = try await store.instances(conn, account: account, serviceIds: [serviceId])
                .first(where: { $0.instanceId == instanceId }) else {
                throw DiscoveryRules.instanceNotFound(instanceId)
            }
            if instance.taskId != nil {
                throw APIError("ResourceInUse", "Instance \(instanceId) is an ECS task: ECS reports its health from the task's health.")
            }
            _ = try await store.setHealth(conn, account: account, serviceId: serviceId, instanceId: instanceId, health: status, now: tenant.clock.now())
        }
    }
}
