import Foundation
import PostgresNIO
import StowageModel
import StowageStore

/// Cloud Map's record of each change it made (its "operations"), oldest first.
public struct DiscoveryOperations: DiscoveryUseCase {
    let tenant: TenantContext
    let store: DiscoveryStore

    public init(tenant: TenantContext, store: DiscoveryStore) { self.tenant = tenant; self.store = store }

    public func operation(_ id: String) async throws -> ServiceDiscovery.Operation? {
        try await tenant.database.withConnection { [self] conn in
            try await store.operations(conn, account: account, ids: [id]).first
        }
    }

    public func all() async throws -> [ServiceDiscovery.Operation] {
        try await tenant.database.withConnection { [self] conn in try await store.operations(conn, account: account) }
    }
}
