import Foundation
import Logging
import PostgresNIO
import StowageModel

/// An account's own capacity provider: the instances whose attribute `stowage.capacity-provider` is its name.
public struct CapacityProviderRow: Sendable, Equatable {
    public var name: String
    public var cluster: String?
    public var tags: [Tag]
    public init(name: String, cluster: String?, tags: [Tag]) { self.name = name; self.cluster = cluster; self.tags = tags }
}

/// A cluster's capacity providers and default strategy (columns of `clusters`), and the account's own providers.
public struct CapacityProviderStore: Sendable {
    public let logger: Logger
    public init(logger: Logger) { self.logger = logger }

    public func insert(_ conn: PostgresConnection, account: String, _ row: CapacityProviderRow) async throws {
        try await conn.query("""
            INSERT INTO capacity_providers (account_id, name, cluster_name, tags)
            VALUES (\(account), \(row.name), \(row.cluster), \(try ECSJSON.encodeString(row.tags))::jsonb)
            """, logger: logger)
    }

    /// The account's providers, all of them or the named ones, by name.
    public func get(_ conn: PostgresConnection, account: String, names: [String]?) async throws -> [CapacityProviderRow] {
        let rows = try await conn.query("""
            SELECT name, cluster_name, tags::text FROM capacity_providers
            WHERE account_id = \(account) AND (\(names == nil) OR name = ANY(\(names ?? [])))
            ORDER BY name
            """, logger: logger)
        var out: [CapacityProviderRow] = []
        for try await (name, cluster, tags) in rows.decode((String, String?, String).self) {
            out.append(CapacityProviderRow(name: name, cluster: cluster, tags: try ECSJSON.decode([Tag].self, from: tags)))
        }
        return out
    }

    public func delete(_ conn: PostgresConnection, account: String, name: String) async throws {
        try await conn.query("DELETE FROM capacity_providers WHERE account_id = \(account) AND name = \(name)", logger: logger)
    }

    /// The ACTIVE clusters whose provider list names `name`.
    public func clustersUsing(_ conn: PostgresConnection, account: String, name: String) async throws -> [String] {
        let rows = try await conn.query("""
            SELECT cluster_name FROM clusters
            WHERE account_id = \(account) AND status = 'ACTIVE' AND capacity_providers ? \(name)
            ORDER BY cluster_name
            """, logger: logger)
        var out: [String] = []
        for try await name in rows.decode(String.self) { out.append(name) }
        return out
    }

    /// A cluster's providers and default strategy; nil when the cluster does not exist.
    public func ofCluster(_ conn: PostgresConnection, account: String, cluster: String) async throws
        -> (providers: [String], strategy: [CapacityProviderStrategyItem])?
    {
        let rows = try await conn.query("""
            SELECT capacity_providers::text, default_capacity_provider_strategy::text FROM clusters
            WHERE account_id = \(account) AND cluster_name = \(cluster)
            """, logger: logger)
        for try await (providers, strategy) in rows.decode((String, String).self) {
            return (try ECSJSON.decode([String].self, from: providers),
                    try ECSJSON.decode([CapacityProviderStrategyItem].self, from: strategy))
        }
        return nil
    }

    public func setCluster(_ conn: PostgresConnection, account: String, cluster: String, providers: [String],
                           strategy: [CapacityProviderStrategyItem]) async throws {
        try await conn.query("""
            UPDATE clusters SET capacity_providers = \(try ECSJSON.encodeString(providers))::jsonb,
                   default_capacity_provider_strategy = \(try ECSJSON.encodeString(strategy))::jsonb,
                   updated_at = now(), version = version + 1
            WHERE account_id = \(account) AND cluster_name = \(cluster)
            """, logger: logger)
    }
}
