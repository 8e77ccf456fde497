import Foundation
import StowageModel
import StowageScheduler
import StowageStore
import StowageUseCases

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

    static func rollOnValueChange(_ context: JobContext) async throws {
        let kind = try context.payload("kind")
        let name = try context.payload("name")
        try await ServicePasses(context.system).roll(account: context.job.account, onChangeOf: kind, name: name)
    }

    static func maintainTelemetry(_ context: JobContext, _ settings: SweepSettings) async throws {
        let dropped = try await Retention(context.system).maintain(logRetentionDays: settings.logRetentionDays,
                                                                   metricRetentionDays: settings.metricRetentionDays,
                                                                   auditRetentionDays: settings.auditRetentionDays)
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

    static func sweepInstances(_ context: JobContext, _ settings: SweepSettings) async throws {
        let outcome = try await HostLossSweep(context.system).sweep(settings.hostLoss, tickTolerance: settings.tickTolerance)
        if let seconds = outcome.skippedSinceTick {
            context.logger.warning("host-loss sweep skipped: the control plane has not heard agents recently",
                                   metadata: ["seconds_since_tick": "\(seconds)"])
        }
        for event in outcome.events { context.logger.warning("host-loss sweep", metadata: ["event": "\(event)"]) }
        if outcome.disconnected + outcome.instancesLost > 0 {
            context.logger.warning("host-loss sweep", metadata: ["disconnected": "\(outcome.disconnected)", "instances_lost": "\(outcome.instancesLost)"])
        }
    }

    static let purgeTaskDefinitions: JobHandler = { context in
        let purged = try await Retention(context.system).purgeTaskDefinitions(account: context.job.account)
        if purged > 0 { context.logger.info("purged task definitions", metadata: ["count": "\(purged)"]) }
    }

    static let reconcileService: JobHandler = { context in
        let cluster = try context.payload("cluster")
        let service = try context.payload("service")
        if let error = try await ServicePasses(context.system).reconcile(account: context.job.account, cluster: cluster, service: service) {
            context.logger.warning("service cannot be reconciled", metadata: ["service": "\(service)", "error": "\(error)"])
        }
    }

    static let placeTasks: JobHandler = { context in
        let cluster = try context.payload("cluster")
        let pass = try await ServicePasses(context.system).place(account: context.job.account, cluster: cluster)
        if !pass.placed.isEmpty || !pass.failed.isEmpty {
            context.logger.info("placement pass", metadata: ["placed": "\(pass.placed.count)", "unplaced": "\(pass.failed.count)"])
        }
    }

    static let reconcileAll: JobHandler = { context in
        try await ServicePasses(context.system).reconcileAll()
    }
}

extension JobContext {
    /// What the use cases a job calls are given: no caller stands behind a job.
    var system: SystemContext { SystemContext(database: database, clock: clock, logger: logger) }
}
