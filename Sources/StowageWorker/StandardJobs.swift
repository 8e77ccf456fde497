import Foundation
import PostgresNIO
import StowageModel
import StowageStore

/// The job handlers every worker runs, by kind.
public enum StandardJobs {
    public static func handlers() -> [String: JobHandler] {
        [
            JobKind.purgeTaskDefinitions: purgeTaskDefinitions,
            JobKind.reconcileService: reconcileService,
            JobKind.placeTasks: placeTasks,
            JobKind.reconcileAll: reconcileAll,
        ]
    }

    /// The safety net: every live service is reconciled at least this often, whatever triggers were lost.
    public static let periodic: [PeriodicJob] = [PeriodicJob(kind: JobKind.reconcileAll, every: 30)]

    static let purgeTaskDefinitions: JobHandler = { context in
        let purged = try await context.database.transaction { conn in
            try await TaskDefinitionStore(logger: context.logger).purgeDeleted(conn, account: context.job.account)
        }
        if purged > 0 { context.logger.info("purged task definitions", metadata: ["count": "\(purged)"]) }
    }

    static let reconcileService: JobHandler = { context in
        let cluster = try context.payload("cluster")
        let service = try context.payload("service")
        let now = context.clock.now()
        try await context.database.transaction { conn in
            try await ClusterScheduler(logger: context.logger).reconcile(
                conn, account: context.job.account, cluster: cluster, service: service, now: now)
        }
    }

    static let placeTasks: JobHandler = { context in
        let cluster = try context.payload("cluster")
        let account = context.job.account
        let scheduler = ClusterScheduler(logger: context.logger)
        let pass = try await context.database.transaction { conn in
            try await scheduler.lock(conn, account: account, cluster: cluster)
            let pass = try await scheduler.placePending(conn, account: account, cluster: cluster)
            var reasons: [String: String] = [:]
            for (task, service) in pass.failedService { reasons[service] = pass.failed[task] }
            for (service, reason) in reasons {
                try await scheduler.reportUnplaceable(conn, account: account, cluster: cluster, service: service, reason: reason)
            }
            return pass
        }
        if !pass.placed.isEmpty || !pass.failed.isEmpty {
            context.logger.info("placement pass", metadata: ["placed": "\(pass.placed.count)", "unplaced": "\(pass.failed.count)"])
        }
    }

    static let reconcileAll: JobHandler = { context in
        try await context.database.transaction { conn in
            let rows = try await conn.query("""
                SELECT account_id, cluster_name, service_name FROM services WHERE status <> 'INACTIVE'
                """, logger: context.logger)
            let queue = JobQueue(logger: context.logger)
            var live: [(String, String, String)] = []
            for try await row in rows.decode((String, String, String).self) { live.append(row) }
            for (account, cluster, service) in live {
                try await queue.reconcile(conn, account: account, cluster: cluster, service: service)
            }
            let waiting = try await conn.query("""
                SELECT DISTINCT account_id, cluster_name FROM tasks
                WHERE instance_id IS NULL AND desired_status = 'RUNNING' AND last_status <> 'STOPPED'
                """, logger: context.logger)
            var clusters: [(String, String)] = []
            for try await row in waiting.decode((String, String).self) { clusters.append(row) }
            for (account, cluster) in clusters {
                try await queue.place(conn, account: account, cluster: cluster)
            }
        }
    }
}

extension JobQueue {
    /// Asks for a service to be reconciled (coalesced: one pending job per service).
    public func reconcile(_ conn: PostgresConnection, account: String, cluster: String, service: String) async throws {
        try await enqueue(conn, account: account, kind: JobKind.reconcileService, uniqueKey: "\(cluster)/\(service)",
                          payload: .object(["cluster": .string(cluster), "service": .string(service)]))
    }

    /// Asks for the cluster's waiting tasks to be placed (coalesced: one pending job per cluster).
    public func place(_ conn: PostgresConnection, account: String, cluster: String) async throws {
        try await enqueue(conn, account: account, kind: JobKind.placeTasks, uniqueKey: cluster,
                          payload: .object(["cluster": .string(cluster)]))
    }
}
