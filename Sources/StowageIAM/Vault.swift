import Crypto
import Foundation
import Logging
import PostgresNIO
import StowageModel

/// A value sealed under a tenant's data key: what the parameter and secret tables store instead of the value.
public struct SealedValue: Sendable, Equatable {
    public var keyVersion: Int
    public var bytes: Data
    public init(keyVersion: Int, bytes: Data) { self.keyVersion = keyVersion; self.bytes = bytes }
}

/// Envelope encryption for tenants' secret values: each value is sealed (AES-GCM) under its tenant's data key,
/// bound to the row it belongs to; data keys are sealed under the server key. Rotating the server key rewraps
/// one row per tenant; rotating a tenant's data key reseals only that tenant's values.
public struct Vault: Sendable {
    public let sealer: SecretSealer
    let logger: Logger
    /// Opened data keys by (account, version): a warm read never unwraps again.
    let keys = BoundedCache<String, Data>(capacity: 4096)

    public init(sealer: SecretSealer, logger: Logger) { self.sealer = sealer; self.logger = logger }

    static func wrapContext(account: String, version: Int) -> String { "stowage-data-key:\(account):\(version)" }

    /// What a parameter version's value is bound to (the rotation's SQL spells the same).
    public static func parameterContext(name: String, version: Int) -> String { "ssm:\(name):\(version)" }
    /// What a secret version's value is bound to (the rotation's SQL spells the same).
    public static func secretContext(name: String, versionId: String) -> String { "secret:\(name):\(versionId)" }

    /// Seals `plain` under the account's current data key (made on first use), bound to `context`.
    public func seal(_ conn: PostgresConnection, account: String, _ plain: Data, context: String) async throws -> SealedValue {
        let (version, key) = try await currentKey(conn, account: account)
        let box = try AES.GCM.seal(plain, using: SymmetricKey(data: key), authenticating: Data("\(account):\(context)".utf8))
        guard let combined = box.combined else { throw APIError.server("AES-GCM produced no output.") }
        return SealedValue(keyVersion: version, bytes: combined)
    }

    /// Opens a value sealed by `seal` with the same account and context.
    public func open(_ conn: PostgresConnection, account: String, _ sealed: SealedValue, context: String) async throws -> Data {
        let key = try await dataKey(conn, account: account, version: sealed.keyVersion)
        do {
            let box = try AES.GCM.SealedBox(combined: sealed.bytes)
            return try AES.GCM.open(box, using: SymmetricKey(data: key), authenticating: Data("\(account):\(context)".utf8))
        } catch {
            // Never the value or the key in the message: only that this row does not open.
            logger.error("a sealed value did not open", metadata: ["account": "\(account)", "context": "\(context)"])
            throw APIError.server("A stored value could not be decrypted.")
        }
    }

    /// The ciphertext form a SecureString is shown in without decryption (base64 of the sealed bytes, as AWS
    /// shows its KMS ciphertext): never the value.
    public static func ciphertextForm(_ sealed: SealedValue) -> String {
        (Data("stowage:v\(sealed.keyVersion):".utf8) + sealed.bytes).base64EncodedString()
    }

    func currentKey(_ conn: PostgresConnection, account: String) async throws -> (Int, Data) {
        let rows = try await conn.query("""
            SELECT version, wrapped, server_key_id FROM data_keys WHERE account_id = \(account) ORDER BY version DESC LIMIT 1
            """, logger: logger)
        for try await (version, wrapped, _) in rows.decode((Int, Data, String).self) {
            return (version, try unwrap(account: account, version: version, wrapped))
        }
        // First secret of this tenant: make its data key. Two writers racing agree on the one that landed.
        let key = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        let wrapped = try sealer.sealData(key, context: Self.wrapContext(account: account, version: 1))
        try await conn.query("""
            INSERT INTO data_keys (account_id, version, wrapped, server_key_id) VALUES (\(account), 1, \(wrapped), \(sealer.keyId))
            ON CONFLICT DO NOTHING
            """, logger: logger)
        return (1, try await dataKey(conn, account: account, version: 1))
    }

    func dataKey(_ conn: PostgresConnection, account: String, version: Int) async throws -> Data {
        let cacheKey = "\(account):\(version)"
        if let key = keys[cacheKey] { return key }
        let rows = try await conn.query("SELECT wrapped FROM data_keys WHERE account_id = \(account) AND version = \(version)", logger: logger)
        for try await wrapped in rows.decode(Data.self) {
            let key = try unwrap(account: account, version: version, wrapped)
            keys.store(key, for: cacheKey)
            return key
        }
        throw APIError.server("The data key a stored value names is missing.")
    }

    func unwrap(account: String, version: Int, _ wrapped: Data) throws -> Data {
        do { return try sealer.openData(wrapped, context: Self.wrapContext(account: account, version: version)) } catch {
            throw APIError.server("No configured server key opens this tenant's data key: was the server key changed without keeping the previous one?")
        }
    }
}

/// What `stowage admin rotate-key` did.
public struct RotationReport: Sendable, Equatable {
    public var dataKeysRewrapped = 0
    public var accessKeysResealed = 0
    public var sessionsResealed = 0
    public var valuesResealed = 0
    public init() {}
}

extension Vault {
    /// Rewraps every data key and reseals every access-key and session secret that the current server key does
    /// not yet seal (they open with a previous key), in one transaction: afterwards the previous keys can go.
    public func rewrapUnderCurrentKey(_ conn: PostgresConnection) async throws -> RotationReport {
        var report = RotationReport()
        var stale: [(String, Int, Data)] = []
        for try await row in try await conn.query("""
            SELECT account_id, version, wrapped FROM data_keys WHERE server_key_id <> \(sealer.keyId) FOR UPDATE
            """, logger: logger).decode((String, Int, Data).self) { stale.append(row) }
        for (account, version, wrapped) in stale {
            let context = Self.wrapContext(account: account, version: version)
            let rewrapped = try sealer.sealData(try unwrap(account: account, version: version, wrapped), context: context)
            try await conn.query("""
                UPDATE data_keys SET wrapped = \(rewrapped), server_key_id = \(sealer.keyId)
                WHERE account_id = \(account) AND version = \(version)
                """, logger: logger)
            report.dataKeysRewrapped += 1
        }
        for table in ["access_keys", "sts_sessions", "instance_credentials"] {
            var rows: [(String, String, Data)] = []
            let select = PostgresQuery(unsafeSQL: "SELECT account_id, access_key_id, secret_sealed FROM \(table) FOR UPDATE")
            for try await row in try await conn.query(select, logger: logger).decode((String, String, Data).self) { rows.append(row) }
            for (account, keyId, sealed) in rows where !sealer.opensWithCurrent(sealed, context: keyId) {
                let resealed = try sealer.sealData(try sealer.openData(sealed, context: keyId), context: keyId)
                let update = PostgresQuery(unsafeSQL: "UPDATE \(table) SET secret_sealed = $1 WHERE account_id = $2 AND access_key_id = $3",
                                           binds: try binds(resealed, account, keyId))
                try await conn.query(update, logger: logger)
                if table == "sts_sessions" { report.sessionsResealed += 1 } else { report.accessKeysResealed += 1 }
            }
        }
        return report
    }

    /// Gives an account a new data key and reseals that account's values under it; the old key is deleted.
    /// Other tenants' values are untouched.
    public func rotateDataKey(_ conn: PostgresConnection, account: String) async throws -> RotationReport {
        var report = RotationReport()
        // Writers seal under the newest version and reference it: lock the tenant's keys so none lands mid-rotation.
        try await conn.query("SELECT version FROM data_keys WHERE account_id = \(account) FOR UPDATE", logger: logger)
        var next = 1
        for try await version in try await conn.query("""
            SELECT coalesce(max(version), 0) + 1 FROM data_keys WHERE account_id = \(account)
            """, logger: logger).decode(Int.self) { next = version }
        let key = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        let wrapped = try sealer.sealData(key, context: Self.wrapContext(account: account, version: next))
        try await conn.query("""
            INSERT INTO data_keys (account_id, version, wrapped, server_key_id) VALUES (\(account), \(next), \(wrapped), \(sealer.keyId))
            """, logger: logger)
        keys.store(key, for: "\(account):\(next)")
        // (table, context of a row) for every table of sealed values.
        let tables: [(String, String, String)] = [
            ("parameter_versions", "version::text", "'ssm:' || name || ':' || version"),
            ("secret_versions", "version_id", "'secret:' || name || ':' || version_id"),
        ]
        for (table, id, context) in tables {
            var rows: [(String, String, Int, Data, String)] = []
            let select = PostgresQuery(unsafeSQL: """
                SELECT name, \(id), key_version, sealed, \(context) FROM \(table) WHERE account_id = $1 AND key_version <> $2 FOR UPDATE
                """, binds: try binds(account, next))
            for try await row in try await conn.query(select, logger: logger).decode((String, String, Int, Data, String).self) { rows.append(row) }
            for (name, rowId, version, bytes, rowContext) in rows {
                let plain = try await open(conn, account: account, SealedValue(keyVersion: version, bytes: bytes), context: rowContext)
                let resealed = try await seal(conn, account: account, plain, context: rowContext)
                let idColumn = table == "parameter_versions" ? "version::text" : "version_id"
                let update = PostgresQuery(unsafeSQL: """
                    UPDATE \(table) SET sealed = $1, key_version = $2 WHERE account_id = $3 AND name = $4 AND \(idColumn) = $5
                    """, binds: try binds(resealed.bytes, resealed.keyVersion, account, name, rowId))
                try await conn.query(update, logger: logger)
                report.valuesResealed += 1
            }
        }
        try await conn.query("DELETE FROM data_keys WHERE account_id = \(account) AND version < \(next)", logger: logger)
        return report
    }

    /// Tenants that have sealed anything.
    public func accountsWithDataKeys(_ conn: PostgresConnection) async throws -> [String] {
        var out: [String] = []
        for try await id in try await conn.query("SELECT DISTINCT account_id FROM data_keys ORDER BY account_id", logger: logger)
            .decode(String.self) { out.append(id) }
        return out
    }

    private func binds(_ values: any PostgresEncodable...) throws -> PostgresBindings {
        var bindings = PostgresBindings()
        for value in values { try bindings.append(value) }
        return bindings
    }
}
