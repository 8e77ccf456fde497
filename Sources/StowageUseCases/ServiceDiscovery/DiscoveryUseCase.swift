import Foundation
import PostgresNIO
import StowageModel
import StowageStore

extension DiscoveryRules {
    public static func namespaceNotFound(_ id: String) -> APIError { notFound("NamespaceNotFound", "Namespace \(id) not found.") }
    public static func serviceNotFound(_ id: String) -> APIError { notFound("ServiceNotFound", "Service \(id) not found.") }
    public static func instanceNotFound(_ id: String) -> APIError { notFound("InstanceNotFound", "Instance \(id) not found.") }
}

/// What every Cloud Map use case stands on: the account acted for and the one store all of Cloud Map lives in.
protocol DiscoveryUseCase: Sendable {
    var tenant: TenantContext { get }
    var store: DiscoveryStore { get }
}

extension DiscoveryUseCase {
    var account: String { tenant.account }

    /// The namespace a request names by id or ARN. Another account's ARN, or an id this account does not hold, is
    /// not found, so no answer tells one tenant what another has.
    func namespaceRow(_ conn: PostgresConnection, _ text: String) async throws -> NamespaceRow {
        guard let id = DiscoveryRules.id(text, kind: "namespace", account: account),
              let row = try await store.namespaces(conn, account: account, ids: [id]).first else { throw DiscoveryRules.namespaceNotFound(text) }
        return row
    }

    func serviceRow(_ conn: PostgresConnection, _ text: String, lock: Bool = false) async throws -> DiscoveryServiceRow {
        guard let id = DiscoveryRules.id(text, kind: "service", account: account),
              let row = try await store.services(conn, account: account, ids: [id], lock: lock).first else { throw DiscoveryRules.serviceNotFound(text) }
        return row
    }
}
