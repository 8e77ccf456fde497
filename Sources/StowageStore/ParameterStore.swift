import Foundation
import Logging
import PostgresNIO
import StowageModel

/// One version of a parameter as stored: its value only sealed (see `Vault`).
public struct ParameterRow: Sendable {
    public var name: String
    public var version: Int
    public var type: String
    public var sealed: Data
    public var keyVersion: Int
    public var description: String?
    public var allowedPattern: String?
    public var tier: String
    public var dataType: String
    public var labels: [String]
    public var modifiedAt: Date
    public var modifiedBy: String
    /// The parameter's tags (the same on every version).
    public var tags: [Tag]

    public init(name: String, version: Int, type: String, sealed: Data, keyVersion: Int, description: String?, allowedPattern: String?,
                tier: String, dataType: String, labels: [String], modifiedAt: Date, modifiedBy: String, tags: [Tag]) {
        self.name = name; self.version = version; self.type = type; self.sealed = sealed; self.keyVersion = keyVersion
        self.description = description; self.allowedPattern = allowedPattern; self.tier = tier; self.dataType = dataType
        self.labels = labels; self.modifiedAt = modifiedAt; self.modifiedBy = modifiedBy; self.tags = tags
    }
}

/// Parameter Store's tables: a parameter's head (latest version, tags) and its versions.
public struct ParameterStore: Sendable {
    let logger: Logger
    public init(logger: Logger) { self.logger = logger }

    static let columns = """
        v.name, v.version, v.type, v.sealed, v.key_version, v.description, v.allowed_pattern, v.tier, v.data_type, v.labels,
        v.modified_at, v.modified_by, p.tags::text
        """

    func rows(_ query: PostgresQuery, _ conn: PostgresConnection) async throws -> [ParameterRow] {
        var out: [ParameterRow] = []
        let decoded = try await conn.query(query, logger: logger)
            .decode((String, Int, String, Data, Int, String?, String?, String, String, [String], Date, String, String).self)
        for try await r in decoded {
            let tags = (try? JSONDecoder().decode([Tag].self, from: Data(r.12.utf8))) ?? []
            out.append(ParameterRow(name: r.0, version: r.1, type: r.2, sealed: r.3, keyVersion: r.4, description: r.5, allowedPattern: r.6,
                                    tier: r.7, dataType: r.8, labels: r.9, modifiedAt: r.10, modifiedBy: r.11, tags: tags))
        }
        return out
    }

    /// The latest version of a parameter (locked for a write when asked).
    public func latest(_ conn: PostgresConnection, account: String, name: String, forUpdate: Bool = false) async throws -> ParameterRow? {
        let lock: String = forUpdate ? "FOR UPDATE OF p" : ""
        return try await rows("""
            SELECT \(unescaped: Self.columns) FROM parameters p JOIN parameter_versions v
              ON v.account_id = p.account_id AND v.name = p.name AND v.version = p.version
            WHERE p.account_id = \(account) AND p.name = \(name) \(unescaped: lock)
            """, conn).first
    }

    /// A given version, or the version holding a label.
    public func selected(_ conn: PostgresConnection, account: String, name: String, version: Int?, label: String?) async throws -> ParameterRow? {
        try await rows("""
            SELECT \(unescaped: Self.columns) FROM parameters p JOIN parameter_versions v ON v.account_id = p.account_id AND v.name = p.name
            WHERE p.account_id = \(account) AND p.name = \(name)
              AND (\(version)::int IS NULL OR v.version = \(version)) AND (\(label)::text IS NULL OR \(label) = ANY(v.labels))
            ORDER BY v.version DESC LIMIT 1
            """, conn).first
    }

    /// Versions in ascending order after `after`.
    public func history(_ conn: PostgresConnection, account: String, name: String, after: Int, limit: Int) async throws -> [ParameterRow] {
        try await rows("""
            SELECT \(unescaped: Self.columns) FROM parameters p JOIN parameter_versions v ON v.account_id = p.account_id AND v.name = p.name
            WHERE p.account_id = \(account) AND p.name = \(name) AND v.version > \(after) ORDER BY v.version LIMIT \(limit)
            """, conn)
    }

    /// Latest versions of the account's parameters by name after `after` (and under `prefix`), in name order.
    public func list(_ conn: PostgresConnection, account: String, prefix: String?, after: String?, limit: Int) async throws -> [ParameterRow] {
        let like = prefix.map { SQLPattern.prefix($0) }
        return try await rows("""
            SELECT \(unescaped: Self.columns) FROM parameters p JOIN parameter_versions v
              ON v.account_id = p.account_id AND v.name = p.name AND v.version = p.version
            WHERE p.account_id = \(account) AND (\(after)::text IS NULL OR p.name > \(after))
              AND (\(like)::text IS NULL OR p.name LIKE \(like))
            ORDER BY p.name LIMIT \(limit)
            """, conn)
    }

    /// Writes a new version and makes it the latest; drops the oldest beyond the limit. False when the oldest
    /// that would go has a label (AWS refuses then).
    public func write(_ conn: PostgresConnection, account: String, _ row: ParameterRow, isNew: Bool) async throws -> Bool {
        if isNew {
            let tags = try ECSJSON.encodeString(row.tags)
            let inserted = try await conn.query("""
                INSERT INTO parameters (account_id, name, version, tags) VALUES (\(account), \(row.name), \(row.version), \(tags)::jsonb)
                ON CONFLICT DO NOTHING RETURNING 1
                """, logger: logger)
            var created = false
            for try await _ in inserted.decode(Int.self) { created = true }
            // Another writer created it between our read and this insert: AWS's answer to concurrent writes.
            guard created else { throw APIError("TooManyUpdates", "There are concurrent updates to parameter \(row.name): try again.") }
        } else {
            try await conn.query("UPDATE parameters SET version = \(row.version) WHERE account_id = \(account) AND name = \(row.name)",
                                 logger: logger)
        }
        try await conn.query("""
            INSERT INTO parameter_versions (account_id, name, version, type, sealed, key_version, description, allowed_pattern, tier,
                                            data_type, labels, modified_at, modified_by)
            VALUES (\(account), \(row.name), \(row.version), \(row.type), \(row.sealed), \(row.keyVersion), \(row.description),
                    \(row.allowedPattern), \(row.tier), \(row.dataType), \(row.labels), \(row.modifiedAt), \(row.modifiedBy))
            """, logger: logger)
        let oldest = row.version - ParameterRules.maxVersions
        guard oldest >= 1 else { return true }
        for try await labels in try await conn.query("""
            SELECT labels FROM parameter_versions WHERE account_id = \(account) AND name = \(row.name) AND version <= \(oldest)
            """, logger: logger).decode([String].self) where !labels.isEmpty { return false }
        try await conn.query("DELETE FROM parameter_versions WHERE account_id = \(account) AND name = \(row.name) AND version <= \(oldest)",
                             logger: logger)
        return true
    }

    /// Puts labels on one version, taking them off any other version of the parameter.
    public func label(_ conn: PostgresConnection, account: String, name: String, version: Int, labels: [String]) async throws {
        try await conn.query("""
            UPDATE parameter_versions SET labels = ARRAY(SELECT l FROM unnest(labels) l WHERE NOT l = ANY(\(labels)))
            WHERE account_id = \(account) AND name = \(name) AND version <> \(version) AND labels && \(labels)
            """, logger: logger)
        try await conn.query("""
            UPDATE parameter_versions SET labels = ARRAY(SELECT DISTINCT l FROM unnest(labels || \(labels)) l ORDER BY l)
            WHERE account_id = \(account) AND name = \(name) AND version = \(version)
            """, logger: logger)
    }

    /// Takes labels off a version; returns the ones it had.
    public func unlabel(_ conn: PostgresConnection, account: String, name: String, version: Int, labels: [String]) async throws -> [String] {
        let rows = try await conn.query("""
            WITH old AS (SELECT labels FROM parameter_versions WHERE account_id = \(account) AND name = \(name) AND version = \(version) FOR UPDATE)
            UPDATE parameter_versions v SET labels = ARRAY(SELECT l FROM unnest(v.labels) l WHERE NOT l = ANY(\(labels)))
            FROM old WHERE v.account_id = \(account) AND v.name = \(name) AND v.version = \(version)
            RETURNING ARRAY(SELECT l FROM unnest(old.labels) l WHERE l = ANY(\(labels)))
            """, logger: logger)
        for try await removed in rows.decode([String].self) { return removed }
        return []
    }

    public func delete(_ conn: PostgresConnection, account: String, name: String) async throws -> Bool {
        let rows = try await conn.query("DELETE FROM parameters WHERE account_id = \(account) AND name = \(name) RETURNING 1", logger: logger)
        for try await _ in rows.decode(Int.self) { return true }
        return false
    }

    /// Replaces a parameter's tags; false when it does not exist.
    public func setTags(_ conn: PostgresConnection, account: String, name: String, _ tags: [Tag]) async throws -> Bool {
        let json = try ECSJSON.encodeString(tags)
        let rows = try await conn.query("""
            UPDATE parameters SET tags = \(json)::jsonb WHERE account_id = \(account) AND name = \(name) RETURNING 1
            """, logger: logger)
        for try await _ in rows.decode(Int.self) { return true }
        return false
    }
}
