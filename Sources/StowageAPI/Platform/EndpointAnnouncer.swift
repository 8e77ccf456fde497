import Foundation
import Logging
import ServiceLifecycle
import StowageModel
import StowageStore
import StowageUseCases

/// Announces this server's listeners to `control_plane_endpoints` at start and every minute (a restart may move
/// them), so every `stowage lb` refuses targets and checks aimed at them. Failures are retried; nothing waits on it.
public struct EndpointAnnouncer: Service {
    let database: Database
    let endpoints: [TargetPolicy.Endpoint]
    let logger: Logger

    public init(database: Database, endpoints: [TargetPolicy.Endpoint], logger: Logger) {
        self.database = database; self.endpoints = endpoints; self.logger = logger
    }

    public func run() async throws {
        let controlPlane = ControlPlane(database: database, logger: logger)
        let rows = endpoints.map { ControlPlaneEndpointStore.Endpoint(address: CIDR.format($0.address), port: $0.port, what: $0.what) }
        // Cancelled at graceful shutdown: its minute-long sleep must not hold the server's exit.
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                var wait = Duration.seconds(60)
                do {
                    try await controlPlane.announce(rows, now: Date())
                } catch {
                    logger.debug("announcing the control plane's endpoints failed; retrying", metadata: ["error": "\(error)"])
                    wait = .seconds(5)
                }
                try? await Task.sleep(for: wait)
            }
        }
    }
}
