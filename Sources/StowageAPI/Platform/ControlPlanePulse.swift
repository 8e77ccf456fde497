import Logging
import ServiceLifecycle
import StowageStore
import StowageUseCases

/// The server's tick on the control plane's pulse: proof that agents could be heard. The host-loss sweep
/// counts an agent's silence only from the later of its last heartbeat and the end of the last gap in these
/// ticks, so a database outage or a restart of every server never looks like lost hosts.
public struct ControlPlanePulse: Service {
    let database: Database
    let logger: Logger

    public init(database: Database, logger: Logger) { self.database = database; self.logger = logger }

    public func run() async throws {
        let controlPlane = ControlPlane(database: database, logger: logger)
        var failing = false
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await controlPlane.tick()
                if failing { logger.notice("control-plane pulse restored") }
                failing = false
            } catch {
                if !failing { logger.warning("control-plane pulse failed; agents cannot be heard", metadata: ["error": "\(error)"]) }
                failing = true
            }
            try? await Task.sleep(for: HeartbeatStore.tickInterval)
        }
    }
}
