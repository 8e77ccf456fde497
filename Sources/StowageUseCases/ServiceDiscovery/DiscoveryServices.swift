import Foundation
import PostgresNIO
import StowageModel
import StowageStore

/// Cloud Map services (the names under a namespace). The door has checked the request against the namespace it
/// read first and authorized it; each change here is one transaction.
public struct DiscoveryServices: DiscoveryUseCase {
    let tenant: TenantContext
    let store: DiscoveryStore

    public init(tenant: TenantContext, store: DiscoveryStore) { self.tenant = tenant; self.store = store }

    /// The service made, or on a retry of the same request (same CreatorRequestId) the one it made, as in Cloud Map;
    /// any other request for a name taken in the namespace is a conflict.
    public func create(id: String, in namespace: NamespaceRow, name: String, type: String, description: String?, creatorRequestId: String?,
                       dnsConfig: ServiceDiscovery.DnsConfig?, customHealth: ServiceDiscovery.HealthCheckCustomConfig?,
                       tags: [Tag]) async throws -> DiscoveryServiceRow {
        try await tenant.database.transaction { [self] conn in
            let row = DiscoveryServiceRow(account: account, id: id, namespaceId: namespace.id, name: name, type: type, description: description,
                                          creatorRequestId: creatorRequestId, dnsConfig: dnsConfig, customHealth: customHealth,
                                          tags: tags, revision: 1, createdAt: tenant.clock.now(), instanceCount: 0)
            guard try await store.createService(conn, row) else {
                let existing = try await store.services(conn, account: account, namespaceIds: [namespace.id], name: name).first
                if let existing, let token = creatorRequestId, existing.creatorRequestId == token { return existing }
                throw APIError("ServiceAlreadyExists",
                               "Service \(name) already exists in namespace \(namespace.name)\(existing.map { " (\($0.id))" } ?? "").")
            }
            return row
        }
    }

    /// The service a request names by id or ARN.
    public func service(_ reference: String) async throws -> DiscoveryServiceRow {
        try await tenant.database.withConnection { [self] conn in try await serviceRow(conn, reference) }
    }

    /// The account's services, or those of the namespaces given.
    public func all(namespaceIds: [String]?) async throws -> [DiscoveryServiceRow] {
        try await tenant.database.withConnection { [self] conn in try await store.services(conn, account: account, namespaceIds: namespaceIds) }
    }

    /// The operation's id. The service row is locked first, so the revision steps once per change.
    public func update(id: String, description: String?, dnsConfig: ServiceDiscovery.DnsConfig?) async throws -> String {
        try await tenant.database.transaction { [self] conn in
            _ = try await serviceRow(conn, id, lock: true)
            try await store.updateService(conn, account: account, id: id, description: description, dnsConfig: dnsConfig)
            return try await store.operation(conn, account: account, type: "UPDATE_SERVICE", targets: ["SERVICE": id], now: tenant.clock.now())
        }
    }

    /// An ECS service that registers its tasks here would find it gone at its next scale-up, so one that is named
    /// as a registry is refused by name, as is one that still holds instances.
    public func delete(id: String) async throws {
        try await tenant.database.transaction { [self] conn in
            let users = try await store.ecsServicesNaming(conn, account: account,
                                                          registryArn: DiscoveryRules.serviceArn(tenant.scope, account: account, id: id))
            if !users.isEmpty {
                throw APIError("ResourceInUse", "Service \(id) is the service registry of ECS service(s) \(users.joined(separator: ", ")): "
                               + "delete them or remove their serviceRegistries first.")
            }
            guard try await store.deleteService(conn, account: account, id: id) else {
                throw APIError("ResourceInUse", "Service \(id) still has registered instances: deregister them first.")
            }
        }
    }
}
