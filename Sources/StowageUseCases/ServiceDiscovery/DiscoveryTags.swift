import Foundation
import PostgresNIO
import StowageModel
import StowageStore

/// Tags on Cloud Map namespaces and services, which a request names by ARN only.
public struct DiscoveryTags: DiscoveryUseCase {
    let tenant: TenantContext
    let store: DiscoveryStore

    public init(tenant: TenantContext, store: DiscoveryStore) { self.tenant = tenant; self.store = store }

    /// The namespace or service an ARN names in the account acted for, with its tags.
    func tagged(_ conn: PostgresConnection, _ arn: String) async throws -> (namespace: Bool, id: String, tags: [Tag]) {
        let missing = APIError("ResourceNotFoundException", "Resource \(arn) not found.", awsStatus: 400, restStatus: 404)
        if let id = DiscoveryRules.id(arn, kind: "namespace", account: account), arn.hasPrefix("arn:") {
            guard let row = try await store.namespaces(conn, account: account, ids: [id]).first else { throw missing }
            return (true, id, row.tags)
        }
        if let id = DiscoveryRules.id(arn, kind: "service", account: account), arn.hasPrefix("arn:") {
            guard let row = try await store.services(conn, account: account, ids: [id]).first else { throw missing }
            return (false, id, row.tags)
        }
        throw missing
    }

    /// New tags replace those with the same keys; `check` judges the merged set (Cloud Map's limits) before it is stored.
    public func tag(_ arn: String, _ tags: [Tag], check: @escaping @Sendable ([Tag]) throws -> Void) async throws {
        try await tenant.database.transaction { [self] conn in
            let found = try await tagged(conn, arn)
            let merged = found.tags.filter { old in !tags.contains { $0.key == old.key } } + tags
            try check(merged)
            try await store.setTags(conn, account: account, namespace: found.namespace, id: found.id, tags: merged)
        }
    }

    public func untag(_ arn: String, keys: [String]) async throws {
        try await tenant.database.transaction { [self] conn in
            let found = try await tagged(conn, arn)
            try await store.setTags(conn, account: account, namespace: found.namespace, id: found.id,
                                    tags: found.tags.filter { !keys.contains($0.key ?? "") })
        }
    }

    public func tags(_ arn: String) async throws -> [Tag] {
        try await tenant.database.withConnection { [self] conn in try await tagged(conn, arn).tags }
    }
}
