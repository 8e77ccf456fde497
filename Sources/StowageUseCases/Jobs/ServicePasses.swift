import Foundation
import StowageModel
import StowageOrchestrator
import StowageScheduler
import StowageStore

/// What the worker's scheduling jobs do to ECS services, each in one transaction under the cluster's lock
/// (`ClusterScheduler`). Jobs are retried and may run twice, so every pass works from what the database holds now.
public struct ServicePasses: Sendable {
    let system: SystemContext

    public init(_ system: SystemContext) { self.system = system }

    var scheduler: ClusterScheduler { ClusterScheduler(logger: system.logger, clock: system.clock) }

    /// One service toward its desired state. A reason the user can fix (a bad definition, a quota) is returned, not
    /// thrown: retrying cannot help, so it is said where users look, once per distinct reason, and the next change or
    /// reconcile-all tries again.
    public func reconcile(account: String, cluster: String, service: String) async throws -> APIError? {
        let now = system.clock.now()
        do {
            try await system.database.transaction { conn in
                try await scheduler.reconcile(conn, account: account, cluster: cluster, service: service, now: now)
            }
            return nil
        } catch let error as APIError where error.awsStatus < 500 {
            try await system.database.transaction { conn in
                let store = ServiceStore(logger: system.logger)
                let message = "(service \(service)) cannot reach its desired state: \(error.message)"
                let latest = try await store.events(conn, account: account, cluster: cluster, service: service, limit: 1)
                if latest.first?.message != message {
                    try await store.addEvents(conn, account: account, cluster: cluster, service: service, [message])
                }
            }
            return error
        }
    }

    /// Places every task of the cluster still waiting for an instance, and says why the others could not be.
    public func place(account: String, cluster: String) async throws -> PlacementPass {
        let scheduler = self.scheduler
        return try await system.database.transaction { conn in
            try await scheduler.lock(conn, account: account, cluster: cluster)
            let pass = try await scheduler.placePending(conn, account: account, cluster: cluster)
            try await scheduler.reportFailures(conn, account: account, cluster: cluster, pass)
            return pass
        }
    }

    /// The safety net: every live service reconciled and every cluster with waiting tasks placed, whatever
    /// triggers were lost.
    public func reconcileAll() async throws {
        try await system.database.transaction { conn in
            let queue = JobQueue(logger: system.logger)
            for (account, cluster, service) in try await ServiceStore(logger: system.logger).allLive(conn) {
                try await queue.reconcile(conn, account: account, cluster: cluster, service: service)
            }
            for (account, cluster) in try await TaskStore(logger: system.logger).clustersWithWaitingTasks(conn) {
                try await queue.place(conn, account: account, cluster: cluster)
            }
        }
    }

    /// Starts a new deployment (same revision) of every ACTIVE service whose tasks read the changed parameter or
    /// secret (`kind` is "parameter" or "secret"), so new tasks start with the new value and a bad value trips the
    /// circuit breaker, not the fleet.
    public func roll(account: String, onChangeOf kind: String, name: String) async throws {
        try await system.database.transaction { conn in
            let services = ServiceStore(logger: system.logger)
            let definitions = TaskDefinitionStore(logger: system.logger)
            var reads: [String: Bool] = [:]
            for row in try await services.primaryDefinitions(conn, account: account) {
                let key = "\(row.family):\(row.revision)"
                if reads[key] == nil {
                    let body = try await definitions.get(conn, account: account, family: row.family, revision: row.revision)?.body
                    reads[key] = body?.rollsOnChange(parameter: kind == "parameter" ? name : nil, secret: kind == "secret" ? name : nil) ?? false
                }
                guard reads[key] == true else { continue }
                try await Deployments.start(conn, account: account, cluster: row.cluster, service: row.service, family: row.family,
                                            revision: row.revision,
                                            event: "(service \(row.service)) started a new deployment: the value of \(kind) \(name) changed.",
                                            logger: system.logger)
            }
        }
    }
}
