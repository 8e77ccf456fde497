import Foundation
import Logging
import StowageModel
import StowageStore

/// What a use case is given when no caller stands behind it: the worker's jobs act for every account at once, or
/// for the account a job names, so there is no tenant, scope or authorization, only the shared planes.
public struct SystemContext: Sendable {
    public let database: Database
    public let clock: any WallClock
    public let logger: Logger

    public init(database: Database, clock: any WallClock, logger: Logger) {
        self.database = database; self.clock = clock; self.logger = logger
    }
}
