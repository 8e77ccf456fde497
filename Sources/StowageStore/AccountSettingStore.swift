import Foundation
import Logging
import PostgresNIO

/// ECS account settings, by account, principal and name.
public struct AccountSettingStore: Sendable {
    let logger: Logger
    public init(logger: Logger) { self.logger = logger }

    public func put(_ conn: PostgresConnection, account: String, principal: String, name: String, value: String) async throws {
        try await conn.query("""
            INSERT INTO account_settings (account_id, principal_arn, name, value) VALUES (\(account), \(principal), \(name), \(value))
            ON CONFLICT (account_id, principal_arn, name) DO UPDATE SET value = EXCLUDED.value
            """, logger: logger)
    }

    /// The deleted value, or nil when there was none.
    public func delete(_ conn: PostgresConnection, account: String, principal: String, name: String) async throws -> String? {
        let rows = try await conn.query("""
            DELETE FROM account_settings WHERE account_id = \(account) AND principal_arn = \(principal) AND name = \(name)
            RETURNING value
            """, logger: logger)
        for try await value in rows.decode(String.self) { return value }
        return nil
    }

    /// The settings of the given principals, as (principal, name, value).
    public func of(_ conn: PostgresConnection, account: String, principals: [String]) async throws
        -> [(principal: String, name: String, value: String)]
    {
        let rows = try await conn.query("""
            SELECT principal_arn, name, value FROM account_settings
            WHERE account_id = \(account) AND principal_arn = ANY(\(principals)) ORDER BY principal_arn, name
            """, logger: logger)
        var out: [(principal: String, name: String, value: String)] = []
        for try await row in rows.decode((String, String, String).self) { out.append(row) }
        return out
    }
}
