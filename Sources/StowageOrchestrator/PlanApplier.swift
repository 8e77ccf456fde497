import Foundation
import Logging
import PostgresNIO
import StowageModel
import StowageScheduler
import StowageStore

/// The only code of a scheduling pass that writes: a `ClusterPlan` as statements in the caller's transaction (Nomad's
/// SubmitPlan). Stops come before the drains that need them, task rows before their bindings; agents and workers
/// hear of it when the transaction commits.
struct PlanApplier {
    let conn: PostgresConnection
    let account: String
    let cluster: String
    /// The pass's time: when targets and registry instances were registered.
    let now: Date
    let logger: Logger

    func apply(_ plan: ClusterPlan, service record: ServiceRow? = nil) async throws {
        let tasks = TaskStore(logger: logger)
        // Stops, grouped by reason so each group is one statement.
        for (reason, stops) in Dictionary(grouping: plan.stops, by: \.reason).sorted(by: { $0.key < $1.key }) {
            try await tasks.stop(conn, account: account, cluster: cluster, ids: stops.map(\.taskId), reason: reason,
                                 code: StopCode.serviceSchedulerInitiated.rawValue)
        }
        if !plan.drains.isEmpty { try await tasks.drain(conn, account: account, cluster: cluster, until: plan.drains) }
        try await tasks.insert(conn, account: account, plan.newTasks.map { TaskRow($0, cluster: cluster) })
        try await tasks.bind(conn, account: account, cluster: cluster, plan.bindings.map {
            TaskBinding(taskId: $0.taskId, instanceId: $0.instanceId, containers: $0.containers, launch: $0.launch)
        })
        if let name = plan.service { try await applyService(plan, name: name, record: record) }
        try await applyTargets(plan.targets)
        try await applyRegistries(plan.registries)
        try await writeEvents(plan.events)
        try await ContainerInstanceStore(logger: logger).notifyChanged(conn, account: account, cluster: cluster, instances: plan.notify)
        if let name = plan.service {
            for delay in plan.reconcileAfter {
                try await JobQueue(logger: logger).reconcile(conn, account: account, cluster: cluster, service: name, delay: delay)
            }
        }
    }

    /// Deployment rollouts, retirements and the rollback; the service row's desired count and status.
    func applyService(_ plan: ClusterPlan, name: String, record: ServiceRow?) async throws {
        let services = ServiceStore(logger: logger)
        for (id, change) in plan.rollouts.sorted(by: { $0.key < $1.key }) {
            try await services.setRollout(conn, account: account, cluster: cluster, service: name, id: id, state: change.state,
                                          reason: change.reason)
        }
        try await services.retire(conn, account: account, cluster: cluster, service: name, ids: plan.retire)
        if let (family, revision) = plan.rollback {
            // The pass that decided the rollback goes on to place it: no second reconcile is queued.
            try await Deployments.start(conn, account: account, cluster: cluster, service: name, family: family, revision: revision,
                                        reconcile: false, logger: logger)
        }
        guard var record, plan.desiredCount != nil || plan.status != nil else { return }
        if let desired = plan.desiredCount { record.desiredCount = desired }
        if let status = plan.status { record.status = status }
        _ = try await services.update(conn, account: account, record)
    }

    /// Registers and drains targets; wakes `stowage lb` on a change.
    func applyTargets(_ plan: TargetSyncPlan) async throws {
        guard !plan.register.isEmpty || !plan.deregister.isEmpty else { return }
        let store = LoadBalancerStore(logger: logger)
        try await store.register(conn, account: account, plan.register.map {
            TargetRow(targetGroupId: $0.targetGroupId, targetId: $0.targetId, port: $0.port, availabilityZone: nil, address: $0.address,
                      state: .initial, reason: nil, description: nil, registeredAt: now, drainingUntil: nil, taskId: $0.taskId)
        })
        for d in plan.deregister {
            try await store.deregister(conn, targetGroupId: d.targetGroupId, targets: [(d.targetId, d.port)], until: d.until)
        }
        try await store.notify(conn)
    }

    func applyRegistries(_ plan: ServiceRegistrySyncPlan) async throws {
        let store = DiscoveryStore(logger: logger)
        for i in plan.put {
            try await store.putInstance(conn, account: account, DiscoveryInstanceRow(
                serviceId: i.serviceId, instanceId: i.instanceId, attributes: i.attributes, creatorRequestId: nil, health: i.health,
                taskId: i.taskId), now: now)
        }
        for r in plan.remove { _ = try await store.deleteInstance(conn, account: account, serviceId: r.serviceId, instanceId: r.instanceId) }
    }

    /// Events in the plan's order, one statement batch per run of the same service.
    func writeEvents(_ events: [PlannedEvent]) async throws {
        var start = events.startIndex
        while start < events.endIndex {
            let service = events[start].service
            let end = events[start...].firstIndex { $0.service != service } ?? events.endIndex
            try await ServiceStore(logger: logger).addEvents(conn, account: account, cluster: cluster, service: service,
                                                             events[start..<end].map(\.message))
            start = end
        }
    }
}

extension TaskRow {
    /// A new task row of a plan, waiting for placement.
    init(_ t: SnapshotTask, cluster: String) {
        self.init(cluster: cluster, id: t.id, family: t.family, revision: t.revision, group: t.group, cpu: t.cpu, memory: t.memory,
                  containers: t.containers)
        service = t.service
        deploymentId = t.deploymentId
        startedBy = t.startedBy
        requiredInstanceId = t.requiredInstanceId
        overrides = t.overrides
        placementConstraints = t.placementConstraints
        placementStrategy = t.placementStrategy
        launch = t.launch
        tags = []
    }
}
