import Foundation
import Logging
import PostgresNIO
import StowageModel

/// Where the control plane listens (API servers' listeners), announced by each server so that `stowage lb`, which
/// runs elsewhere, also refuses targets and health checks aimed at them. Not tenant data: no account.
public struct ControlPlaneEndpointStore: Sendable {
    public struct Endpoint: Sendable, Equatable {
        public var address: String
        public var port: Int
        public var what: String
        public init(address: String, port: Int, what: String) { self.address = address; self.port = port; self.what = what }

        /// As the target policy refuses it.
        public var refused: TargetPolicy.Endpoint? { CIDR.address(address).map { TargetPolicy.Endpoint(address: $0, port: port, what: what) } }
    }

    public let logger: Logger
    public init(logger: Logger) { self.logger = logger }

    /// Records (or refreshes) a server's endpoints; ones no server announced for a day are forgotten.
    public func announce(_ conn: PostgresConnection, _ endpoints: [Endpoint], now: Date) async throws {
        for e in endpoints {
            try await conn.query("""
                INSERT INTO control_plane_endpoints (address, port, what, seen_at) VALUES (\(e.address)::inet, \(e.port), \(e.what), \(now))
                ON CONFLICT (address, port) DO UPDATE SET what = EXCLUDED.what, seen_at = EXCLUDED.seen_at
                """, logger: logger)
        }
        try await conn.query("DELETE FROM control_plane_endpoints WHERE seen_at < \(now.addingTimeInterval(-86_400))", logger: logger)
    }

    public func all(_ conn: PostgresConnection) async throws -> [Endpoint] {
        var out: [Endpoint] = []
        for try await (address, port, what) in try await conn.query("SELECT host(address), port, what FROM control_plane_endpoints",
                                                                     logger: logger).decode((String, Int, String).self) {
            out.append(Endpoint(address: address, port: port, what: what))
        }
        return out
    }
}
