import Foundation
import Logging
import PostgresNIO

/// A container instance's own credential as stored: its secret sealed under the server key.
public struct InstanceCredentialRow: Sendable, Equatable {
    public var accountId: String
    public var accessKeyId: String
    public var cluster: String
    public var instanceId: String
    public var secretSealed: Data
    /// Set once a newer credential replaced it: it keeps working until then, so rotation never cuts an agent off.
    public var expiresAt: Date?

    public init(accountId: String, accessKeyId: String, cluster: String, instanceId: String, secretSealed: Data, expiresAt: Date? = nil) {
        self.accountId = accountId; self.accessKeyId = accessKeyId; self.cluster = cluster; self.instanceId = instanceId
        self.secretSealed = secretSealed; self.expiresAt = expiresAt
    }
}

/// The credentials agents sign with: one instance each, so a host speaks only for itself.
public struct InstanceCredentialStore: Sendable {
    public let logger: Logger
    public init(logger: Logger) { self.logger = logger }

    /// Adds a credential and gives the instance's earlier ones until `now + grace` (those already ending sooner keep
    /// their end).
    public func issue(_ conn: PostgresConnection, _ credential: InstanceCredentialRow, now: Date, grace: TimeInterval) async throws {
        let until = now.addingTimeInterval(grace)
        try await conn.query("""
            UPDATE instance_credentials SET expires_at = LEAST(COALESCE(expires_at, \(until)), \(until))
            WHERE account_id = \(credential.accountId) AND cluster = \(credential.cluster) AND instance_id = \(credential.instanceId)
            """, logger: logger)
        try await conn.query("""
            INSERT INTO instance_credentials (account_id, access_key_id, cluster, instance_id, secret_sealed, created_at)
            VALUES (\(credential.accountId), \(credential.accessKeyId), \(credential.cluster), \(credential.instanceId),
                    \(credential.secretSealed), \(now))
            """, logger: logger)
    }

    /// Whether the instance was ever given a credential (an instance registered before credentials existed has none).
    public func exists(_ conn: PostgresConnection, account: String, cluster: String, instance: String) async throws -> Bool {
        try await conn.first("""
            SELECT 1 FROM instance_credentials WHERE account_id = \(account) AND cluster = \(cluster) AND instance_id = \(instance) LIMIT 1
            """, as: Int.self, logger: logger) != nil
    }

    /// A credential that still works: not past its end, and its instance registered (not INACTIVE).
    public func live(_ conn: PostgresConnection, account: String, accessKeyId: String, now: Date) async throws -> InstanceCredentialRow? {
        let rows = try await conn.query("""
            SELECT k.cluster, k.instance_id, k.secret_sealed, k.expires_at FROM instance_credentials k
            JOIN container_instances i ON i.account_id = k.account_id AND i.cluster_name = k.cluster AND i.instance_id = k.instance_id
            WHERE k.account_id = \(account) AND k.access_key_id = \(accessKeyId)
              AND (k.expires_at IS NULL OR k.expires_at > \(now)) AND i.status <> 'INACTIVE'
            """, logger: logger)
        for try await (cluster, instance, sealed, expires) in rows.decode((String, String, Data, Date?).self) {
            return InstanceCredentialRow(accountId: account, accessKeyId: accessKeyId, cluster: cluster, instanceId: instance,
                                            secretSealed: sealed, expiresAt: expires)
        }
        return nil
    }

    /// The ids of an instance's credentials (to forget them from caches once it is deregistered).
    public func ids(_ conn: PostgresConnection, account: String, cluster: String, instance: String) async throws -> [String] {
        var out: [String] = []
        for try await id in try await conn.query("""
            SELECT access_key_id FROM instance_credentials WHERE account_id = \(account) AND cluster = \(cluster) AND instance_id = \(instance)
            """, logger: logger).decode(String.self) { out.append(id) }
        return out
    }

    /// Drops what can no longer be used: ended credentials, and those of instances deregistered.
    public func purge(_ conn: PostgresConnection, now: Date) async throws {
        try await conn.query("""
            DELETE FROM instance_credentials k WHERE k.expires_at < \(now)
               OR EXISTS (SELECT 1 FROM container_instances i WHERE i.account_id = k.account_id AND i.cluster_name = k.cluster
                          AND i.instance_id = k.instance_id AND i.status = 'INACTIVE')
            """, logger: logger)
    }
}
