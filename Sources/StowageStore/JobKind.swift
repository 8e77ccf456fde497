/// The job kinds the API enqueues and workers handle: the contract between them, in one place.
public enum JobKind {
    /// Deletes an account's DELETE_IN_PROGRESS task definition revisions that nothing references any more.
    public static let purgeTaskDefinitions = "purge-task-definitions"
}

extension JobKind {
    /// Converges one service: reconcile, stop, start (payload: cluster, service).
    public static let reconcileService = "reconcile-service"
    /// Places every waiting task of one cluster in one pass under the cluster's lock (payload: cluster).
    public static let placeTasks = "place-tasks"
    /// Periodic safety net: enqueues reconcile-service for every live service.
    public static let reconcileAll = "reconcile-all"
}

extension JobKind {
    /// Periodic: marks instances whose agent went quiet as disconnected, and stops their tasks after a grace period.
    public static let sweepInstances = "sweep-instances"
}

extension JobKind {
    /// Periodic: creates the coming days' telemetry partitions and drops expired ones.
    public static let maintainTelemetry = "maintain-telemetry"
}

extension JobKind {
    /// Periodic: computes the built-in AWS/ECS metrics from what agents shipped.
    public static let rollupMetrics = "rollup-metrics"
    /// Periodic: evaluates every alarm and records transitions.
    public static let evaluateAlarms = "evaluate-alarms"
    /// Periodic: target tracking and scheduled actions of every scalable target.
    public static let evaluateScaling = "evaluate-scaling"
    /// One alarm action (payload: alarm, state, action — a webhook URL or a scaling policy ARN), retried.
    public static let alarmAction = "alarm-action"
    /// A parameter's or secret's value changed: services whose tasks read it roll to new tasks.
    public static let rollOnValueChange = "roll-on-value-change"
}
