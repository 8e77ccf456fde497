import Foundation
import PostgresNIO
import StowageIAM
import StowageModel
import StowageStore
import StowageTelemetry

/// The job handlers every worker runs, by kind.
public enum StandardJobs {
    public static func handlers(sweep: SweepSettings = SweepSettings(), monitoring: MonitoringSettings = MonitoringSettings())
        -> [String: JobHandler]
    {
        [
            JobKind.purgeTaskDefinitions: purgeTaskDefinitions,
            JobKind.reconcileService: reconcileService,
            JobKind.placeTasks: placeTasks,
            JobKind.reconcileAll: reconcileAll,
            JobKind.sweepInstances: { try await sweepInstances($0, sweep) },
            JobKind.maintainTelemetry: { try await maintainTelemetry($0, sweep) },
            JobKind.rollupMetrics: MonitoringJobs.rollupMetrics,
            JobKind.evaluateAlarms: MonitoringJobs.evaluateAlarms,
            JobKind.alarmAction: MonitoringJobs.alarmAction,
            JobKind.evaluateScaling: { try await MonitoringJobs.evaluateScaling($0, monitoring) },
        ]
    }

    static func maintainTelemetry(_ context: JobContext, _ settings: SweepSettings) async throws {
        let dropped = try await context.database.transaction { conn in
            let telemetry = try await TelemetryStore(logger: context.logger).maintain(
                conn, logRetentionDays: settings.logRetentionDays, metricRetentionDays: settings.metricRetentionDays)
            return telemetry + (try await IAMStore(logger: context.logger).maintain(conn, auditRetentionDays: settings.auditRetentionDays))
        }
        if dropped > 0 { context.logger.info("dropped expired telemetry partitions", metadata: ["count": "\(dropped)"]) }
    }

    /// reconcile-all is the safety net (every live service reconciled at least this often, whatever triggers
    /// were lost); sweep-instances notices hosts whose agents went quiet.
    public static func periodic(sweep: SweepSettings = SweepSettings(), monitoring: MonitoringSettings = MonitoringSettings())
        -> [PeriodicJob]
    {
        [PeriodicJob(kind: JobKind.reconcileAll, every: 30), PeriodicJob(kind: JobKind.sweepInstances, every: sweep.interval),
         PeriodicJob(kind: JobKind.maintainTelemetry, every: 3600),
         PeriodicJob(kind: JobKind.rollupMetrics, every: monitoring.metricsInterval),
         PeriodicJob(kind: JobKind.evaluateAlarms, every: monitoring.alarmInterval),
         PeriodicJob(kind: JobKind.evaluateScaling, every: monitoring.scalingInterval)]
    }

    /// When an agent counts as gone: no heartbeat (poll or report) for `timeout` seconds marks its instance
    /// disconnected; `grace` seconds more and its tasks are stopped as "Host lost" so services replace them.
    public struct SweepSettings: Sendable {
        public var timeout: TimeInterval
        public var grace: TimeInterval
        public var interval: TimeInterval
        /// Days of logs and of per-task metrics kept (whole daily partitions are dropped).
        public var logRetentionDays: Int
        public var metricRetentionDays: Int
        /// Days of audit trail kept.
        public var auditRetentionDays = 90
        public init(timeout: TimeInterval = 30, grace: TimeInterval = 30, interval: TimeInterval = 5,
                    logRetentionDays: Int = 15, metricRetentionDays: Int = 15) {
            self.timeout = timeout; self.grace = grace; self.interval = interval
            self.logRetentionDays = logRetentionDays; self.metricRetentionDays = metricRetentionDays
        }
    }

    /// Instances that never heartbeated (registered through the API, with no agent) are left alone.
    static func sweepInstances(_ context: JobContext, _ settings: SweepSettings) async throws {
        try await context.database.transaction { conn in
            let queue = JobQueue(logger: context.logger)
            let lost = try await conn.query("""
                UPDATE container_instances SET agent_connected = false
                WHERE agent_connected AND status <> 'INACTIVE' AND last_heartbeat_at IS NOT NULL
                  AND last_heartbeat_at < now() - make_interval(secs => \(settings.timeout))
                RETURNING account_id, cluster_name, instance_id
                """, logger: context.logger)
            var clusters = Set<String>()
            var lostCount = 0
            for try await (account, cluster, _) in lost.decode((String, String, String).self) {
                clusters.insert("\(account)/\(cluster)")
                lostCount += 1
            }
            let stopped = try await conn.query("""
                UPDATE tasks t SET last_status = 'STOPPED', desired_status = 'STOPPED', stopped_at = now(),
                       stopping_at = COALESCE(t.stopping_at, now()),
                       stopped_reason = COALESCE(t.stopped_reason, 'Host lost: container instance ' || t.instance_id || ' stopped reporting'),
                       stop_code = COALESCE(t.stop_code, 'ServiceSchedulerInitiated'), version = t.version + 1
                FROM container_instances ci
                WHERE ci.account_id = t.account_id AND ci.cluster_name = t.cluster_name AND ci.instance_id = t.instance_id
                  AND NOT ci.agent_connected AND ci.status <> 'INACTIVE'
                  AND ci.last_heartbeat_at < now() - make_interval(secs => \(settings.timeout + settings.grace))
                  AND t.last_status <> 'STOPPED'
                RETURNING t.account_id, t.cluster_name, t.service_name
                """, logger: context.logger)
            var services = Set<String>()
            var stoppedCount = 0
            for try await (account, cluster, service) in stopped.decode((String, String, String?).self) {
                clusters.insert("\(account)/\(cluster)")
                if let service { services.insert("\(account)/\(cluster)/\(service)") }
                stoppedCount += 1
            }
            for key in services {
                let parts = key.split(separator: "/", maxSplits: 2).map(String.init)
                try await queue.reconcile(conn, account: parts[0], cluster: parts[1], service: parts[2])
            }
            for key in clusters {
                let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
                try await queue.place(conn, account: parts[0], cluster: parts[1])
            }
            if lostCount + stoppedCount > 0 {
                context.logger.warning("host-loss sweep", metadata: ["disconnected": "\(lostCount)", "tasks_stopped": "\(stoppedCount)"])
            }
        }
    }

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

