import Foundation
import Logging
import StowageIAM
import StowageModel
import StowageStore

/// The audit table as the API's batch writer and its LookupEvents reach it. Each call leases one connection for
/// one statement and no transaction: a batch is written whole or refused whole (`Bulk.write` splits it), and a
/// lookup reads what is committed. The writer's buffering and shutdown stay with the server's lifecycle.
public struct AuditEvents: Sendable {
    let database: Database
    let store: AuditStore

    public init(database: Database) { self.database = database; self.store = AuditStore(logger: database.logger) }

    public func insert(_ events: [AuditEvent]) async throws {
        try await database.withConnection { [store] in try await store.insert($0, events) }
    }

    public func lookup(account: String, _ query: AuditQuery) async throws -> [AuditEvent] {
        try await database.withConnection { [store] in try await store.lookup($0, account: account, query) }
    }
}
