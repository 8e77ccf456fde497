import Foundation
import Logging
import PostgresNIO

/// A stored access key: the sealed secret and who it belongs to.
public struct AccessKeyRow: Sendable, Equatable {
    public var accountId: String
    public var accessKeyId: String
    public var userName: String
    public var secretSealed: Data
    public var status: String

    public init(accountId: String, accessKeyId: String, userName: String, secretSealed: Data, status: String = "Active") {
        self.accountId = accountId; self.accessKeyId = accessKeyId; self.userName = userName
        self.secretSealed = secretSealed; self.status = status
    }
}

/// Tenants, their users and access keys.
public struct AccountStore: Sendable {
    public let logger: Logger
    public init(logger: Logger) { self.logger = logger }

    /// An account's own quota values, by quota name.
    public func quotas(_ conn: PostgresConnection, account: String) async throws -> [String: Int] {
        var out: [String: Int] = [:]
        let rows = try await conn.query("SELECT quota_name, value FROM account_quotas WHERE account_id = \(account)", logger: logger)
        for try await (name, value) in rows.decode((String, Int).self) { out[name] = value }
        return out
    }

    public func setQuota(_ conn: PostgresConnection, account: String, name: String, value: Int) async throws {
        try await conn.query("""
            INSERT INTO account_quotas (account_id, quota_name, value) VALUES (\(account), \(name), \(value))
            ON CONFLICT (account_id, quota_name) DO UPDATE SET value = EXCLUDED.value
            """, logger: logger)
    }

    public func createAccount(_ conn: PostgresConnection, id: String, name: String) async throws {
        try await conn.query("INSERT INTO accounts (account_id, name) VALUES (\(id), \(name))", logger: logger)
    }

    public func accountId(_ conn: PostgresConnection, name: String) async throws -> String? {
        try await conn.first("SELECT account_id FROM accounts WHERE name = \(name)", as: String.self, logger: logger)
    }

    public func accountExists(_ conn: PostgresConnection, id: String) async throws -> Bool {
        try await conn.first("SELECT 1 FROM accounts WHERE account_id = \(id)", as: Int.self, logger: logger) != nil
    }

    public func userExists(_ conn: PostgresConnection, account: String, name: String) async throws -> Bool {
        try await conn.first(
            "SELECT 1 FROM users WHERE account_id = \(account) AND user_name = \(name)", as: Int.self, logger: logger) != nil
    }

    public func createAccessKey(_ conn: PostgresConnection, _ key: AccessKeyRow) async throws {
        try await conn.query("""
            INSERT INTO access_keys (account_id, access_key_id, user_name, secret_sealed, status)
            VALUES (\(key.accountId), \(key.accessKeyId), \(key.userName), \(key.secretSealed), \(key.status))
            """, logger: logger)
    }

    public func accessKey(_ conn: PostgresConnection, account: String, id: String) async throws -> AccessKeyRow? {
        let rows = try await conn.query("""
            SELECT user_name, secret_sealed, status FROM access_keys
            WHERE account_id = \(account) AND access_key_id = \(id)
            """, logger: logger)
        for try await (user, sealed, status) in rows.decode((String, Data, String).self) {
            return AccessKeyRow(accountId: account, accessKeyId: id, userName: user, secretSealed: sealed, status: status)
        }
        return nil
    }
}
