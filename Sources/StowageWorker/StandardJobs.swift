import Foundation
import PostgresNIO
import StowageIAM
import StowageModel
import StowageOrchestrator
import StowageScheduler
import StowageStore
import StowageTelemetryStore

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
            JobKind.alarmAction: { try await MonitoringJobs.alarmAction($0, monitoring) },
            JobKind.evaluateScaling: { try await MonitoringJobs.evaluateScaling($0, monitoring) },
            JobKind.rollOnValueChange: rollOnValueChange,
        ]
    }

    /// Starts a new deployment (same revision) of every ACTIVE service whose tasks read the changed parameter or
    /// secret, so new tasks start with the new value and a bad value trips the circuit breaker, not the fleet.
    static func rollOnValueChange(_ context: JobContext) async throws {
        let account = context.job.account
        let kind = try context.payload("kind")
        let name = try context.payload("name")
        try await context.database.transaction { conn in
            let services = ServiceStore(logger: context.logger)
            let definitions = TaskDefinitionStore(logger: context.logger)
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
                                            logger: context.logger)
            }
        }
    }

    static func maintainTelemetry(_ context: JobContext, _ settings: SweepSettings) async throws {
        let dropped = try await context.database.transaction { conn in
            let telemetry = try await TelemetryStore(logger: context.logger).maintain(
                conn, logRetentionDays: settings.logRetentionDays, metricRetentionDays: settings.metricRetentionDays)
            // Instance credentials that ended (replaced past their grace, or their instance deregistered) are dropped.
            try await InstanceCredentialStore(logger: context.logger).purge(conn, now: context.clock.now())
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

    /// When an agent counts as gone: no heartbeat (poll or report) the control plane could have heard for
    /// `timeout` seconds marks its instance disconnected; `grace` seconds more and its tasks are stopped as
    /// "Host lost" so services replace them, unless the cluster is in mass silence, and never more than the
    /// rate limit allows per sweep (see `HostLoss`).
    public struct SweepSettings: Sendable {
        public var timeout: TimeInterval
        public var grace: TimeInterval
        public var interval: TimeInterval
        /// A cluster with more than this share of its instances silent at once stops nothing.
        public var massSilenceShare = 0.5
        /// At most this share of a cluster's instances (at least one) has its tasks stopped per sweep.
        public var stopsPerSweepShare = 0.1
        /// A control plane that has not ticked for this many seconds cannot hear agents: the sweep judges nobody.
        public var tickTolerance: TimeInterval = HeartbeatStore.tickTolerance
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

        var hostLoss: HostLoss.Settings {
            HostLoss.Settings(timeout: timeout, grace: grace, massSilenceShare: massSilenceShare, stopsPerSweepShare: stopsPerSweepShare)
        }
    }

    /// Judges silent agents only on time the control plane could hear them: while the servers' tick is stale
    /// (database was down, no server running) nobody is judged, and afterwards silence counts from recovery.
    static func sweepInstances(_ context: JobContext, _ settings: SweepSettings) async throws {
        let heartbeats = HeartbeatStore(logger: context.logger)
        try await context.database.transaction { conn in
            guard let pulse = try await heartbeats.controlPlane(conn) else { return }
            guard pulse.sinceTick <= settings.tickTolerance else {
                context.logger.warning("host-loss sweep skipped: the control plane has not heard agents recently",
                                       metadata: ["seconds_since_tick": "\(pulse.sinceTick)"])
                return
            }
            let rows = try await heartbeats.sweepView(conn)
            let byCluster = Dictionary(grouping: rows) { "\($0.account)/\($0.cluster)" }
            let queue = JobQueue(logger: context.logger)
            var disconnected = 0, stoppedInstances = 0
            for key in byCluster.keys.sorted() {
                guard let members = byCluster[key], let first = members.first else { continue }
                let decision = HostLoss.decide(
                    cluster: first.cluster,
                    members.map { HostLoss.Instance(id: $0.instanceId, connected: $0.connected, silence: $0.silence, liveTasks: $0.liveTasks) },
                    settings.hostLoss)
                guard !decision.disconnect.isEmpty || !decision.stop.isEmpty || !decision.events.isEmpty else { continue }
                let (account, cluster) = (first.account, first.cluster)
                try await heartbeats.markDisconnected(conn, account: account, cluster: cluster, ids: decision.disconnect)
                let services = try await heartbeats.stopLostTasks(conn, account: account, cluster: cluster, ids: decision.stop)
                try await ClusterStore(logger: context.logger).addEvents(conn, account: account, cluster: cluster, decision.events)
                if decision.massSilence, !decision.events.isEmpty {
                    let store = ServiceStore(logger: context.logger)
                    for service in try await store.live(conn, account: account, cluster: cluster) {
                        try await store.addEvents(conn, account: account, cluster: cluster, service: service.name, decision.events)
                    }
                }
                for service in services.sorted() { try await queue.reconcile(conn, account: account, cluster: cluster, service: service) }
                if !decision.disconnect.isEmpty || !decision.stop.isEmpty { try await queue.place(conn, account: account, cluster: cluster) }
                disconnected += decision.disconnect.count
                stoppedInstances += decision.stop.count
                for event in decision.events { context.logger.warning("host-loss sweep", metadata: ["event": "\(event)"]) }
            }
            if disconnected + stoppedInstances > 0 {
                context.logger.warning("host-loss sweep", metadata: ["disconnected": "\(disconnected)", "instances_lost": "\(stoppedInstances)"])
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
        do {
            try await context.database.transaction { conn in
                try await ClusterScheduler(logger: context.logger, clock: context.clock).reconcile(
                    conn, account: context.job.account, cluster: cluster, service: service, now: now)
            }
        } catch let error as APIError where error.awsStatus < 500 {
            // A reason the user can fix (a bad definition, a quota): retrying cannot help, so it is said where
            // users look, once per distinct reason; the next change or reconcile-all tries again.
            try await context.database.transaction { conn in
                let store = ServiceStore(logger: context.logger)
                let message = "(service \(service)) cannot reach its desired state: \(error.message)"
                let latest = try await store.events(conn, account: context.job.account, cluster: cluster, service: service, limit: 1)
                if latest.first?.message != message {
                    try await store.addEvents(conn, account: context.job.account, cluster: cluster, service: service, [message])
                }
            }
            context.logger.warning("service cannot be reconciled", metadata: ["service": "\(service)", "error": "\(error)"])
        }
    }

    static let placeTasks: JobHandler = { context in
        let cluster = try context.payload("cluster")
        let account = context.job.account
        let scheduler = ClusterScheduler(logger: context.logger, clock: context.clock)
        let pass = try await context.database.transaction { conn in
            try await scheduler.lock(conn, account: account, cluster: cluster)
            let pass = try await scheduler.placePending(conn, account: account, cluster: cluster)
            try await scheduler.reportFailures(conn, account: account, cluster: cluster, pass)
            return pass
        }
        if !pass.placed.isEmpty || !pass.failed.isEmpty {
            context.logger.info("placement pass", metadata: ["placed": "\(pass.placed.count)", "unplaced": "\(pass.failed.count)"])
        }
    }

    static let reconcileAll: JobHandler = { context in
        try await context.database.transaction { conn in
            let queue = JobQueue(logger: context.logger)
            for (account, cluster, service) in try await ServiceStore(logger: context.logger).allLive(conn) {
                try await queue.reconcile(conn, account: account, cluster: cluster, service: service)
            }
            for (account, cluster) in try await TaskStore(logger: context.logger).clustersWithWaitingTasks(conn) {
                try await queue.place(conn, account: account, cluster: cluster)
            }
        }
    }
}

