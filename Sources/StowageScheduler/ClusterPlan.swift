import Foundation
import StowageModel

/// The outcome of one placement pass: where each task went, and why the others did not.
public struct PlacementPass: Sendable, Equatable {
    public var placed: [String: String] = [:]
    public var failed: [String: String] = [:]
    /// The service of each failed task that belongs to one, for its event log.
    public var failedService: [String: String] = [:]
    /// The service of each placed task that belongs to one: it has started, and says so in its events.
    public var placedService: [String: String] = [:]
    public var instancesTouched: Set<String> = []
    public init() {}
}

/// A placement to record: task -> instance, with its containers' port bindings and GPUs.
public struct PlannedBinding: Sendable, Equatable {
    public var taskId: String
    public var instanceId: String
    public var containers: [Container]
    /// The task's launch with the capacity provider and launch type placement chose; nil when nothing was chosen.
    public var launch: TaskLaunch? = nil
}

/// A service event to write.
public struct PlannedEvent: Sendable, Equatable {
    public var service: String
    public var message: String
}

/// Everything a scheduling pass writes, decided before the first write: the applier turns it into statements in one
/// transaction, in this order: stops, drains, new tasks, their bindings, deployments and the service, targets,
/// registries, events, then the agents' and workers' wake-ups.
public struct ClusterPlan: Sendable {
    /// The service reconciled (the one deployments and the service row changes belong to).
    public var service: String?
    /// Tasks asked to stop, with their reasons, in the reconciler's order.
    public var stops: [TaskStop] = []
    /// Stopping tasks that keep running until their load balancer targets have drained.
    public var drains: [String: Date] = [:]
    /// New task rows (a service's starts), written before they are bound.
    public var newTasks: [SnapshotTask] = []
    public var bindings: [PlannedBinding] = []
    /// What placement did, for callers (RunTask's failures) and for logs.
    public var placement = PlacementPass()
    public var rollouts: [String: ReconcilePlan.RolloutChange] = [:]
    /// Deployments to mark INACTIVE.
    public var retire: [String] = []
    /// The circuit breaker's rollback: a new PRIMARY deployment of this definition.
    public var rollback: (family: String, revision: Int)?
    /// The service's new desired count (DAEMON: one per eligible instance) and status (DRAINING -> INACTIVE).
    public var desiredCount: Int?
    public var status: String?
    public var targets = TargetSyncPlan()
    public var registries = ServiceRegistrySyncPlan()
    /// Already told apart from the service's recent events: each is written as is.
    public var events: [PlannedEvent] = []
    /// Instances whose desired task sets changed: their agents' long polls are woken.
    public var notify: Set<String> = []
    /// Reconcile the service again after these delays (seconds).
    public var reconcileAfter: [TimeInterval] = []

    public init(service: String? = nil) { self.service = service }
}

/// Adds service events, leaving out any that repeats one of the service's events of the last five minutes word for
/// word (among its latest 20, as they will be once the events before it in this pass are written). Progress events
/// ("has started", "has stopped") are always written.
public struct EventLog: Sendable {
    var recent: [String: [ServiceEvent]]
    let now: Date
    public private(set) var written: [PlannedEvent] = []

    public init(recent: [String: [ServiceEvent]], now: Date) { self.recent = recent; self.now = now }

    public mutating func addOnce(service: String, _ messages: [String]) {
        guard !messages.isEmpty else { return }
        let seen = (recent[service] ?? []).prefix(20).filter { ($0.createdAt ?? .distantPast) > now.addingTimeInterval(-300) }
            .compactMap(\.message)
        let fresh = messages.filter { $0.contains("has started") || $0.contains("has stopped") || !seen.contains($0) }
        recent[service, default: []].insert(contentsOf: fresh.reversed().map { ServiceEvent(id: nil, createdAt: now, message: $0) }, at: 0)
        written += fresh.map { PlannedEvent(service: service, message: $0) }
    }
}
