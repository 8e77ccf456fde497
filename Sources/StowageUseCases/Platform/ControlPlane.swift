import Foundation
import Logging
import StowageModel
import StowageStore

/// The server's own bookkeeping in the database: its pulse, its announced endpoints, the job queue's depth. The
/// loops that call these live with the server's lifecycle; each call is one short statement on the pool.
public struct ControlPlane: Sendable {
    let database: Database
    let logger: Logger

    public init(database: Database, logger: Logger) { self.database = database; self.logger = logger }

    /// One tick of the pulse the host-loss sweep measures agents' silence against.
    public func tick() async throws {
        let store = HeartbeatStore(logger: logger)
        try await database.withConnection { try await store.tick($0, tolerance: HeartbeatStore.tickTolerance) }
    }

    /// Records where this server listens, so load balancers refuse targets and checks aimed at it.
    public func announce(_ endpoints: [ControlPlaneEndpointStore.Endpoint], now: Date) async throws {
        let store = ControlPlaneEndpointStore(logger: logger)
        try await database.withConnection { try await store.announce($0, endpoints, now: now) }
    }

    /// The job queue's depth by state, for the operator's metrics.
    public func queueStats() async throws -> QueueStats {
        try await database.withConnection { [logger] in try await JobQueue(logger: logger).stats($0) }
    }
}
