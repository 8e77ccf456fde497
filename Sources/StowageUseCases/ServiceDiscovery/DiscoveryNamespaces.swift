import Foundation
import PostgresNIO
import StowageModel
import StowageStore

/// Cloud Map namespaces. A change completes in its own transaction and is recorded there as an operation that
/// reads SUCCESS, so GetOperation never finds one pending.
public struct DiscoveryNamespaces: DiscoveryUseCase {
    let tenant: TenantContext
    let store: DiscoveryStore

    public init(tenant: TenantContext, store: DiscoveryStore) { self.tenant = tenant; self.store = store }

    /// The operation's id. A retry with the same CreatorRequestId answers the operation that created the namespace;
    /// any other request for a name taken is a conflict.
    public func create(name: String, type: String, description: String?, creatorRequestId: String?, vpc: String?, soaTTL: Int?,
                       tags: [Tag]) async throws -> String {
        let id = DiscoveryRules.newId(prefix: "ns-")
        return try await tenant.database.transaction { [self] conn in
            let now = tenant.clock.now()
            if let existing = try await store.namespaces(conn, account: account, names: [name]).first {
                if let token = creatorRequestId, existing.creatorRequestId == token, existing.type == type {
                    let ops = try await store.operations(conn, account: account)
                    if let op = ops.first(where: { $0.type == "CREATE_NAMESPACE" && $0.targets["NAMESPACE"] == existing.id }) {
                        return op.id
                    }
                }
                throw APIError("NamespaceAlreadyExists", "Namespace \(name) already exists (\(existing.id)).")
            }
            guard try await store.createNamespace(conn, account: account, id: id, name: name, type: type, description: description,
                                                  creatorRequestId: creatorRequestId, vpc: vpc, soaTTL: soaTTL, tags: tags, now: now) else {
                throw APIError("NamespaceAlreadyExists", "Namespace \(name) already exists.")
            }
            return try await store.operation(conn, account: account, type: "CREATE_NAMESPACE", targets: ["NAMESPACE": id], now: now)
        }
    }

    /// The namespace a request names by id or ARN.
    public func namespace(_ reference: String) async throws -> NamespaceRow {
        try await tenant.database.withConnection { [self] conn in try await namespaceRow(conn, reference) }
    }

    public func all() async throws -> [NamespaceRow] {
        try await tenant.database.withConnection { [self] conn in try await store.namespaces(conn, account: account) }
    }

    /// The operation's id. A namespace that still holds services stays; one deleted meanwhile is not found by the
    /// name the request gave (`reference`).
    public func delete(id: String, reference: String) async throws -> String {
        try await tenant.database.transaction { [self] conn in
            guard try await store.deleteNamespace(conn, account: account, id: id) else {
                if try await store.namespaces(conn, account: account, ids: [id]).isEmpty { throw DiscoveryRules.namespaceNotFound(reference) }
                throw APIError("ResourceInUse", "Namespace \(id) still holds services: delete them first.")
            }
            return try await store.operation(conn, account: account, type: "DELETE_NAMESPACE", targets: ["NAMESPACE": id], now: tenant.clock.now())
        }
    }
}
