import Foundation
import Logging
import PostgresNIO

/// A console sign-in as stored: the cookie's token only as its hash.
public struct ConsoleSessionRow: Sendable, Equatable {
    public var tokenSHA256: String
    public var accountId: String
    public var accessKeyId: String
    public var principalArn: String
    public var csrfToken: String
    public var sourceIp: String
    public var createdAt: Date
    public var expiresAt: Date

    public init(tokenSHA256: String, accountId: String, accessKeyId: String, principalArn: String, csrfToken: String,
                sourceIp: String, createdAt: Date, expiresAt: Date) {
        self.tokenSHA256 = tokenSHA256; self.accountId = accountId; self.accessKeyId = accessKeyId
        self.principalArn = principalArn; self.csrfToken = csrfToken; self.sourceIp = sourceIp
        self.createdAt = createdAt; self.expiresAt = expiresAt
    }
}

/// The console's sessions: made at sign-in, read on every console request, revoked at sign-out.
public struct ConsoleSessionStore: Sendable {
    let logger: Logger
    public init(logger: Logger) { self.logger = logger }

    public func create(_ conn: PostgresConnection, _ row: ConsoleSessionRow) async throws {
        try await conn.query("""
            INSERT INTO console_sessions (token_sha256, account_id, access_key_id, principal_arn, csrf_token, source_ip,
                                          created_at, expires_at)
            VALUES (\(row.tokenSHA256), \(row.accountId), \(row.accessKeyId), \(row.principalArn), \(row.csrfToken),
                    \(row.sourceIp), \(row.createdAt), \(row.expiresAt))
            """, logger: logger)
        // Sign-ins are rare: each one sweeps away sessions that ended more than a day ago, so the table stays small.
        try await conn.query("""
            DELETE FROM console_sessions WHERE expires_at < \(row.createdAt) - interval '1 day'
            """, logger: logger)
    }

    /// The session a cookie names, while it is neither revoked nor expired at `now`.
    public func live(_ conn: PostgresConnection, account: String, tokenSHA256: String, now: Date) async throws -> ConsoleSessionRow? {
        let rows = try await conn.query("""
            SELECT token_sha256, account_id, access_key_id, principal_arn, csrf_token, source_ip, created_at, expires_at
            FROM console_sessions
            WHERE account_id = \(account) AND token_sha256 = \(tokenSHA256) AND revoked_at IS NULL AND expires_at > \(now)
            """, logger: logger).decode((String, String, String, String, String, String, Date, Date).self)
        for try await r in rows {
            return ConsoleSessionRow(tokenSHA256: r.0, accountId: r.1, accessKeyId: r.2, principalArn: r.3, csrfToken: r.4,
                                     sourceIp: r.5, createdAt: r.6, expiresAt: r.7)
        }
        return nil
    }

    /// Ends a session; true when it was live.
    public func revoke(_ conn: PostgresConnection, account: String, tokenSHA256: String, now: Date) async throws -> Bool {
        let rows = try await conn.query("""
            UPDATE console_sessions SET revoked_at = \(now)
            WHERE account_id = \(account) AND token_sha256 = \(tokenSHA256) AND revoked_at IS NULL
            RETURNING 1
            """, logger: logger).decode(Int.self)
        for try await _ in rows { return true }
        return false
    }
}
