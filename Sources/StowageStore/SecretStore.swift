import Foundation
import Logging
import PostgresNIO
import StowageModel

/// A secret's metadata as stored.
public struct SecretRow: Sendable {
    public var name: String
    public var suffix: String
    public var description: String?
    public var tags: [Tag]
    public var createdAt: Date
    public var changedAt: Date
    public var accessedOn: Date?
    /// When a scheduled deletion takes effect; nil unless scheduled.
    public var deletionAt: Date?
    public var deletedAt: Date?
}

/// One version of a secret: its value only sealed.
public struct SecretVersionRow: Sendable {
    public var versionId: String
    public var sealed: Data
    public var keyVersion: Int
    public var isBinary: Bool
    public var stages: [String]
    public var createdAt: Date
    public init(versionId: String, sealed: Data, keyVersion: Int, isBinary: Bool, stages: [String], createdAt: Date) {
        self.versionId = versionId; self.sealed = sealed; self.keyVersion = keyVersion; self.isBinary = isBinary
        self.stages = stages; self.createdAt = createdAt
    }
}

/// Secrets Manager's tables.
public struct SecretStore: Sendable {
    let logger: Logger
    public init(logger: Logger) { self.logger = logger }

    static let columns = "name, suffix, description, tags::text, created_at, changed_at, accessed_on::timestamptz, deletion_at, deleted_at"

    func secrets(_ query: PostgresQuery, _ conn: PostgresConnection) async throws -> [SecretRow] {
        var out: [SecretRow] = []
        for try await r in try await conn.query(query, logger: logger)
            .decode((String, String, String?, String, Date, Date, Date?, Date?, Date?).self)
        {
            let tags = (try? JSONDecoder().decode([Tag].self, from: Data(r.3.utf8))) ?? []
            out.append(SecretRow(name: r.0, suffix: r.1, description: r.2, tags: tags, createdAt: r.4, changedAt: r.5, accessedOn: r.6,
                                 deletionAt: r.7, deletedAt: r.8))
        }
        return out
    }

    /// Secrets whose scheduled deletion time has passed are gone for good: removed before anything reads them.
    public func purgeExpired(_ conn: PostgresConnection, account: String, now: Date) async throws {
        try await conn.query("DELETE FROM secrets WHERE account_id = \(account) AND deletion_at <= \(now)", logger: logger)
    }

    public func get(_ conn: PostgresConnection, account: String, name: String, forUpdate: Bool = false) async throws -> SecretRow? {
        let lock = forUpdate ? "FOR UPDATE" : ""
        return try await secrets("""
            SELECT \(unescaped: Self.columns) FROM secrets WHERE account_id = \(account) AND name = \(name) \(unescaped: lock)
            """, conn).first
    }

    /// The account's secrets in name order after `after`.
    public func list(_ conn: PostgresConnection, account: String, after: String?, limit: Int, includeDeleted: Bool) async throws -> [SecretRow] {
        try await secrets("""
            SELECT \(unescaped: Self.columns) FROM secrets
            WHERE account_id = \(account) AND (\(after)::text IS NULL OR name > \(after)) AND (\(includeDeleted) OR deletion_at IS NULL)
            ORDER BY name LIMIT \(limit)
            """, conn)
    }

    /// Inserts a secret; false when the name is taken.
    public func create(_ conn: PostgresConnection, account: String, name: String, suffix: String, description: String?, tags: [Tag],
                       now: Date) async throws -> Bool {
        let json = try ECSJSON.encodeString(tags)
        let rows = try await conn.query("""
            INSERT INTO secrets (account_id, name, suffix, description, tags, created_at, changed_at)
            VALUES (\(account), \(name), \(suffix), \(description), \(json)::jsonb, \(now), \(now))
            ON CONFLICT DO NOTHING RETURNING 1
            """, logger: logger)
        for try await _ in rows.decode(Int.self) { return true }
        return false
    }

    public func versions(_ conn: PostgresConnection, account: String, name: String) async throws -> [SecretVersionRow] {
        var out: [SecretVersionRow] = []
        for try await r in try await conn.query("""
            SELECT version_id, sealed, key_version, is_binary, stages, created_at FROM secret_versions
            WHERE account_id = \(account) AND name = \(name) ORDER BY created_at DESC, version_id
            """, logger: logger).decode((String, Data, Int, Bool, [String], Date).self) {
            out.append(SecretVersionRow(versionId: r.0, sealed: r.1, keyVersion: r.2, isBinary: r.3, stages: r.4, createdAt: r.5))
        }
        return out
    }

    public func addVersion(_ conn: PostgresConnection, account: String, name: String, _ v: SecretVersionRow) async throws {
        try await conn.query("""
            INSERT INTO secret_versions (account_id, name, version_id, sealed, key_version, is_binary, stages, created_at)
            VALUES (\(account), \(name), \(v.versionId), \(v.sealed), \(v.keyVersion), \(v.isBinary), \(v.stages), \(v.createdAt))
            """, logger: logger)
        try await conn.query("UPDATE secrets SET changed_at = \(v.createdAt) WHERE account_id = \(account) AND name = \(name)", logger: logger)
    }

    /// Writes every version's staging labels, then drops unlabelled versions beyond the kept number.
    public func setStages(_ conn: PostgresConnection, account: String, name: String, _ stages: [String: Set<String>], keep: Int) async throws {
        for (id, labels) in stages {
            try await conn.query("""
                UPDATE secret_versions SET stages = \(labels.sorted()) WHERE account_id = \(account) AND name = \(name) AND version_id = \(id)
                """, logger: logger)
        }
        try await conn.query("""
            DELETE FROM secret_versions WHERE account_id = \(account) AND name = \(name) AND version_id IN (
              SELECT version_id FROM secret_versions WHERE account_id = \(account) AND name = \(name) AND cardinality(stages) = 0
              ORDER BY created_at DESC OFFSET \(keep))
            """, logger: logger)
    }

    public func update(_ conn: PostgresConnection, account: String, name: String, description: String?, now: Date) async throws {
        try await conn.query("""
            UPDATE secrets SET description = coalesce(\(description), description), changed_at = \(now)
            WHERE account_id = \(account) AND name = \(name)
            """, logger: logger)
    }

    public func accessed(_ conn: PostgresConnection, account: String, name: String, on day: Date) async throws {
        try await conn.query("""
            UPDATE secrets SET accessed_on = \(day)::date WHERE account_id = \(account) AND name = \(name)
              AND accessed_on IS DISTINCT FROM \(day)::date
            """, logger: logger)
    }

    public func scheduleDeletion(_ conn: PostgresConnection, account: String, name: String, at: Date?, now: Date) async throws {
        try await conn.query("""
            UPDATE secrets SET deletion_at = \(at), deleted_at = \(at == nil ? nil : now) WHERE account_id = \(account) AND name = \(name)
            """, logger: logger)
    }

    public func delete(_ conn: PostgresConnection, account: String, name: String) async throws {
        try await conn.query("DELETE FROM secrets WHERE account_id = \(account) AND name = \(name)", logger: logger)
    }

    public func setTags(_ conn: PostgresConnection, account: String, name: String, _ tags: [Tag]) async throws {
        let json = try ECSJSON.encodeString(tags)
        try await conn.query("UPDATE secrets SET tags = \(json)::jsonb WHERE account_id = \(account) AND name = \(name)", logger: logger)
    }
}
