import Foundation
import Logging
import PostgresNIO
import StowageModel
import StowageScheduler
import StowageStore

/// A scheduling pass, always inside the caller's transaction and under the cluster's advisory lock: load the
/// cluster's snapshot (`ClusterSnapshot.load`), decide with the pure `ClusterPlanner`, write the plan
/// (`PlanApplier`). Clusters schedule in parallel, and one cluster's placements never race each other.
public struct ClusterScheduler: Sendable {
    public let logger: Logger
    let clock: any WallClock

    public init(logger: Logger, clock: any WallClock = SystemClock()) {
        self.logger = logger
        self.clock = clock
    }

    /// Serializes scheduling within one cluster until the transaction ends.
    public func lock(_ conn: PostgresConnection, account: String, cluster: String) async throws {
        try await ClusterStore(logger: logger).lockScheduling(conn, account: account, cluster: cluster)
    }

    func applier(_ conn: PostgresConnection, account: String, cluster: String, now: Date) -> PlanApplier {
        PlanApplier(conn: conn, account: account, cluster: cluster, now: now, logger: logger)
    }

    /// One service toward its desired state: stops, starts placed in the same pass, deployments, targets, registries, events.
    public func reconcile(_ conn: PostgresConnection, account: String, cluster: String, service name: String, now: Date) async throws {
        try await lock(conn, account: account, cluster: cluster)
        guard let loaded = try await ClusterSnapshot.load(conn, account: account, cluster: cluster, service: name, logger: logger) else { return }
        let plan = try ClusterPlanner.plan(loaded.snapshot, now: now)
        try await applier(conn, account: account, cluster: cluster, now: now).apply(plan, service: loaded.record)
    }

    /// Places every task of the cluster still waiting for an instance (or only `only`), in one pass, and records the
    /// placements in one batch. The caller holds the cluster lock; a caller that already read the cluster's instances
    /// under it passes them (`hosts`) rather than reading them again.
    public func placePending(_ conn: PostgresConnection, account: String, cluster: String, only: Set<String>? = nil,
                             hosts: [ContainerInstanceRow]? = nil, definitions known: [String: TaskDefinition] = [:])
        async throws -> PlacementPass
    {
        let now = clock.now()
        let snapshot = try await ClusterSnapshot.load(conn, account: account, cluster: cluster, placing: only, instances: hosts,
                                                      definitions: known, logger: logger)
        let plan = ClusterPlanner.placement(snapshot, only: only, now: now)
        try await applier(conn, account: account, cluster: cluster, now: now).apply(plan)
        return plan.placement
    }

    /// Wakes the long polls of the agents whose desired task sets changed (delivered on commit).
    public func notify(_ conn: PostgresConnection, account: String, cluster: String, instances: Set<String>) async throws {
        var plan = ClusterPlan()
        plan.notify = instances
        try await applier(conn, account: account, cluster: cluster, now: clock.now()).apply(plan)
    }

    /// StopTask on a service task: it leaves its Cloud Map registry now; behind load balancers its targets drain
    /// now (routing to them ends) and the task runs until the longest deregistration delay of its groups has
    /// passed. Returns that time, or nil without targets.
    public func drainBeforeStop(_ conn: PostgresConnection, account: String, cluster: String, service: String, taskId: String, now: Date)
        async throws -> Date?
    {
        let instances = try await DiscoveryStore(logger: logger).instances(conn, account: account, taskIds: [taskId]).map {
            RegisteredInstance(serviceId: $0.serviceId, instanceId: $0.instanceId, attributes: $0.attributes, health: $0.health, taskId: $0.taskId)
        }
        let store = LoadBalancerStore(logger: logger)
        let targets = try await store.targets(conn, taskIds: [taskId]).filter { $0.state != .draining }.map {
            RegisteredTarget(targetGroupId: $0.targetGroupId, targetId: $0.targetId, port: $0.port, taskId: $0.taskId, state: $0.state)
        }
        let groups = targets.isEmpty ? [:] : try await store.targetGroupsById(conn, ids: Array(Set(targets.map(\.targetGroupId))))
        let (plan, until) = ClusterPlanner.drainBeforeStop(
            taskId: taskId, service: service, registryInstances: instances, targets: targets,
            deregistrationDelays: groups.mapValues { TimeInterval($0.attributes.deregistrationDelaySeconds) }, now: now)
        try await applier(conn, account: account, cluster: cluster, now: now).apply(plan)
        return until
    }

    /// Says in each service's events why its tasks could not be placed (they wait for the next pass).
    public func reportFailures(_ conn: PostgresConnection, account: String, cluster: String, _ pass: PlacementPass) async throws {
        let events = ClusterPlanner.unplaceable(pass)
        guard !events.isEmpty else { return }
        try await addEventsOnce(conn, account: account, cluster: cluster, events.sorted { $0.key < $1.key }.map { ($0.key, [$0.value]) })
    }

    /// Records why tasks of a service could not be placed, without repeating the same event within five minutes.
    public func reportUnplaceable(_ conn: PostgresConnection, account: String, cluster: String, service: String,
                                  reason: String) async throws {
        try await addEventsOnce(conn, account: account, cluster: cluster,
                                [(service, [FeasibilityCheck.unplaceableEvent(service: service, reason: reason)])])
    }

    /// Adds events, leaving out any that repeats one of its service's events of the last five minutes word for word.
    func addEventsOnce(_ conn: PostgresConnection, account: String, cluster: String, _ messages: [(service: String, [String])]) async throws {
        let now = clock.now()
        var log = EventLog(recent: try await ClusterSnapshot.recentEvents(conn, account: account, cluster: cluster,
                                                                          services: Set(messages.map(\.service)), logger: logger), now: now)
        for (service, texts) in messages { log.addOnce(service: service, texts) }
        var plan = ClusterPlan()
        plan.events = log.written
        try await applier(conn, account: account, cluster: cluster, now: now).apply(plan)
    }
}
