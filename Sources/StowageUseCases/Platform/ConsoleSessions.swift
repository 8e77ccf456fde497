import Foundation
import Logging
import StowageModel
import StowageStore

/// Console sessions as stored: the door proves the key and shapes the cookie; this reads, starts and revokes them.
public struct ConsoleSessions: Sendable {
    let database: Database
    let store: ConsoleSessionStore

    public init(database: Database, logger: Logger) { self.database = database; self.store = ConsoleSessionStore(logger: logger) }

    /// The unexpired, unrevoked session whose token hashes to `tokenSHA256`, if any.
    public func live(account: String, tokenSHA256: String, now: Date) async throws -> ConsoleSessionRow? {
        try await database.withConnection { [store] in try await store.live($0, account: account, tokenSHA256: tokenSHA256, now: now) }
    }

    public func start(_ row: ConsoleSessionRow) async throws {
        try await database.transaction { [store] in try await store.create($0, row) }
    }

    public func revoke(account: String, tokenSHA256: String, now: Date) async throws {
        _ = try await database.transaction { [store] in try await store.revoke($0, account: account, tokenSHA256: tokenSHA256, now: now) }
    }
}
