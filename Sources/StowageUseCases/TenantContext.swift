import Foundation
import Logging
import StowageModel
import StowageStore

/// The account a use case acts for and the shared planes it reaches, given by a door for one request. Use cases
/// own their transactions: a door decodes, authorizes, calls one use case and shapes its answer, and never holds a
/// database connection itself.
public struct TenantContext: Sendable {
    public let account: String
    public let database: Database
    public let scope: ARNScope
    public let clock: any WallClock
    public let logger: Logger

    public init(account: String, database: Database, scope: ARNScope, clock: any WallClock, logger: Logger) {
        self.account = account; self.database = database; self.scope = scope; self.clock = clock; self.logger = logger
    }
}
