import Foundation
import StowageModel
import StowageScheduler
import StowageStore

/// The host-loss sweep: instances whose agents went quiet are marked disconnected and, past their grace, their
/// tasks stopped as "Host lost" so services replace them (`HostLoss.decide` judges each cluster), in one transaction.
public struct HostLossSweep: Sendable {
    let system: SystemContext

    public init(_ system: SystemContext) { self.system = system }

    /// What one sweep did, for the worker to report.
    public struct Outcome: Sendable, Equatable {
        /// Seconds since the control plane last ticked, when that was too long ago to judge anyone (nothing was done).
        public var skippedSinceTick: TimeInterval?
        /// The events written to clusters (and, in mass silence, to their services), in order.
        public var events: [String] = []
        public var disconnected = 0
        public var instancesLost = 0
    }

    /// Judges silent agents only on time the control plane could hear them: while the servers' tick is stale
    /// (`tickTolerance`; the database was down, no server running) nobody is judged, and afterwards silence counts
    /// from recovery.
    public func sweep(_ settings: HostLoss.Settings, tickTolerance: TimeInterval) async throws -> Outcome {
        let heartbeats = HeartbeatStore(logger: system.logger)
        return try await system.database.transaction { conn in
            var outcome = Outcome()
            guard let pulse = try await heartbeats.controlPlane(conn) else { return outcome }
            guard pulse.sinceTick <= tickTolerance else {
                outcome.skippedSinceTick = pulse.sinceTick
                return outcome
            }
            let rows = try await heartbeats.sweepView(conn)
            let byCluster = Dictionary(grouping: rows) { "\($0.account)/\($0.cluster)" }
            let queue = JobQueue(logger: system.logger)
            for key in byCluster.keys.sorted() {
                guard let members = byCluster[key], let first = members.first else { continue }
                let decision = HostLoss.decide(
                    cluster: first.cluster,
                    members.map { HostLoss.Instance(id: $0.instanceId, connected: $0.connected, silence: $0.silence, liveTasks: $0.liveTasks) },
                    settings)
                guard !decision.disconnect.isEmpty || !decision.stop.isEmpty || !decision.events.isEmpty else { continue }
                let (account, cluster) = (first.account, first.cluster)
                try await heartbeats.markDisconnected(conn, account: account, cluster: cluster, ids: decision.disconnect)
                let services = try await heartbeats.stopLostTasks(conn, account: account, cluster: cluster, ids: decision.stop)
                try await ClusterStore(logger: system.logger).addEvents(conn, account: account, cluster: cluster, decision.events)
                if decision.massSilence, !decision.events.isEmpty {
                    let store = ServiceStore(logger: system.logger)
                    for service in try await store.live(conn, account: account, cluster: cluster) {
                        try await store.addEvents(conn, account: account, cluster: cluster, service: service.name, decision.events)
                    }
                }
                for service in services.sorted() { try await queue.reconcile(conn, account: account, cluster: cluster, service: service) }
                if !decision.disconnect.isEmpty || !decision.stop.isEmpty { try await queue.place(conn, account: account, cluster: cluster) }
                outcome.disconnected += decision.disconnect.count
                outcome.instancesLost += decision.stop.count
                outcome.events += decision.events
            }
            return outcome
        }
    }
}
