import Foundation
import StowageModel

/// A scheduling pass as one pure function, after Nomad's generic scheduler: a snapshot in, a plan out. It composes
/// the reconciler, placement, the target and registry syncs and the events' words; `PlanApplier` writes the answer.
public enum ClusterPlanner {
    /// One service toward its desired state: what to stop, start and place, how its deployments move, what its load
    /// balancers and registries hold, and what its events say. Throws when the service's placement constraints no
    /// longer parse (a reason the user can fix), before anything is written.
    public static func plan(_ snapshot: ClusterSnapshot, now: Date, newTaskId: () -> String = Identifier.task) throws(APIError)
        -> ClusterPlan
    {
        guard let service = snapshot.service, service.status != "INACTIVE" else { return ClusterPlan() }
        let name = service.name
        var plan = ClusterPlan(service: name)
        let constraints = try ConstraintRules.parse(service.placementConstraints)
        let taskSpecs = taskSpecs(service, now: now)
        let reconciled = Reconciler.plan(service: serviceSpec(service), deployments: service.deployments.map(deploymentSpec),
                                         tasks: taskSpecs, hosts: hostSpecs(snapshot, service, constraints), now: now)
        var events = reconciled.events
        // A refused target is said once (not on every pass): only when the recent events do not already say it.
        let refusals = TargetSync.refusals(service: name, bindings: service.loadBalancers, registered: service.targets)
        let said = Set((snapshot.recentEvents[name] ?? []).prefix(50).map(\.message))
        events += refusals.filter { !said.contains($0) }
        if let retryAt = reconciled.retryAt { plan.reconcileAfter.append(retryAt.timeIntervalSince(now) + 0.5) }

        plan.stops = reconciled.stop
        let instanceOf = Dictionary(service.tasks.map { ($0.id, $0.instanceId) }, uniquingKeysWith: { a, _ in a })
        // A task behind load balancers keeps running while its targets drain; the agent stops it after.
        for stop in plan.stops {
            let delay = TargetSync.drainDelay(taskId: stop.taskId, bindings: service.loadBalancers, registered: service.targets)
            if delay > 0 { plan.drains[stop.taskId] = now.addingTimeInterval(delay) }
        }
        // Tasks whose draining has ended: their agents stop them now.
        plan.notify.formUnion(service.tasks.filter {
            $0.desiredStatus == "STOPPED" && $0.lastStatus != "STOPPED" && ($0.stopAfter.map { $0 <= now } ?? false)
        }.compactMap(\.instanceId))
        if let last = plan.drains.values.max() { plan.reconcileAfter.append(last.timeIntervalSince(now) + 0.5) }
        if !plan.stops.isEmpty {
            let ids = plan.stops.prefix(10).map { "(task \($0.taskId))" }.joined(separator: " ")
            events.append("(service \(name)) has stopped \(plan.stops.count) running tasks: \(ids).")
            plan.notify.formUnion(plan.stops.compactMap { instanceOf[$0.taskId] ?? nil })
        }

        plan.newTasks = newTasks(reconciled, service: service, snapshot: snapshot, now: now, newTaskId: newTaskId)
        plan.rollouts = reconciled.rollout
        plan.retire = reconciled.retire
        if let target = reconciled.rollbackTo, let (family, revision) = splitRevision(target) {
            plan.rollback = (family, revision)
            plan.reconcileAfter.append(0)
        }
        if let desired = reconciled.daemonDesired, desired != service.desiredCount { plan.desiredCount = desired }

        let stopping = Set(plan.stops.map(\.taskId))
        let endpoints = endpoints(service.tasks, stopping: stopping, instances: snapshot.instances)
        if !service.loadBalancers.isEmpty || !service.targets.isEmpty {
            plan.targets = TargetSync.plan(bindings: service.loadBalancers, tasks: endpoints, registered: service.targets, now: now)
        }
        var log = EventLog(recent: snapshot.recentEvents, now: now)
        plan.registries = registries(snapshot, service, endpoints: endpoints, log: &log)
        if service.status == "DRAINING", taskSpecs.allSatisfy({ !$0.isActive || stopping.contains($0.id) }) {
            plan.status = "INACTIVE"
            plan.retire += service.deployments.map(\.id)
        }
        log.addOnce(service: name, events)
        if !plan.newTasks.isEmpty {
            place(snapshot, waiting: plan.newTasks, into: &plan, log: &log)
            log.addOnce(service: name, unplaceable(plan.placement)[name].map { [$0] } ?? [])
        }
        plan.events = log.written
        return plan
    }

    /// A placement pass alone (RunTask, StartTask, the place-tasks job): the cluster's tasks still waiting for an
    /// instance, or only those named, placed in one pass in the order they were made.
    public static func placement(_ snapshot: ClusterSnapshot, only: Set<String>?, now: Date) -> ClusterPlan {
        var plan = ClusterPlan()
        let waiting = snapshot.liveTasks.filter { $0.instanceId == nil && $0.desiredStatus == "RUNNING" && (only?.contains($0.id) ?? true) }
        guard !waiting.isEmpty else { return plan }
        var log = EventLog(recent: snapshot.recentEvents, now: now)
        place(snapshot, waiting: waiting, into: &plan, log: &log)
        plan.events = log.written
        return plan
    }

    /// The events that say why a pass's tasks could not be placed, one per service (they wait for the next pass).
    public static func unplaceable(_ pass: PlacementPass) -> [String: String] {
        var events: [String: String] = [:]
        for (task, service) in pass.failedService.sorted(by: { $0.key < $1.key }) {
            if let reason = pass.failed[task] { events[service] = FeasibilityCheck.unplaceableEvent(service: service, reason: reason) }
        }
        return events
    }

    /// StopTask on a service task (already asked to stop): it leaves its Cloud Map registries now; behind load balancers
    /// its targets drain now (routing to them ends) and it runs until the longest deregistration delay of their groups
    /// has passed, when the service is reconciled again. `until` is that time, nil without targets to drain.
    public static func drainBeforeStop(taskId: String, service: String, registryInstances: [RegisteredInstance], targets: [RegisteredTarget],
                                       deregistrationDelays: [String: TimeInterval], now: Date) -> (plan: ClusterPlan, until: Date?) {
        var plan = ClusterPlan(service: service)
        plan.registries.remove = registryInstances.map { ($0.serviceId, $0.instanceId) }
        var last = now
        for t in targets where t.state != .draining {
            let until = now.addingTimeInterval(deregistrationDelays[t.targetGroupId] ?? 0)
            last = max(last, until)
            plan.targets.deregister.append(.init(targetGroupId: t.targetGroupId, targetId: t.targetId, port: t.port, until: until))
        }
        guard last > now else { return (plan, nil) }
        plan.drains[taskId] = last
        plan.reconcileAfter.append(last.timeIntervalSince(now) + 0.5)
        return (plan, last)
    }

    /// Places `waiting` on the snapshot's instances around what its live tasks hold, and records it in the plan.
    static func place(_ snapshot: ClusterSnapshot, waiting: [SnapshotTask], into plan: inout ClusterPlan, log: inout EventLog) {
        let ordered = waiting.sorted { $0.createdAt == $1.createdAt ? $0.id < $1.id : $0.createdAt < $1.createdAt }
        var placer = Placer(hosts: snapshot.instances.map(\.placementHost), placed: snapshot.liveTasks.compactMap(\.placed),
                            seed: Placer.seed(snapshot.account + "/" + snapshot.cluster))
        let hostIndex = Dictionary(snapshot.instances.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
        // Stored rules were checked when the task or service was created; a pass parses each distinct set once, and
        // one that no longer parses fails its tasks with the reason instead of being ignored.
        var rules: [RulesKey: Result<(ConstraintRules, [StrategyRule]), APIError>] = [:]
        var pass = PlacementPass()
        var providers = ProviderCounts(snapshot)
        for task in ordered {
            guard let definition = snapshot.definitions[task.definitionKey] else {
                pass.failed[task.id] = "TaskDefinition \(task.definitionKey) no longer exists"
                continue
            }
            let rulesKey = RulesKey(constraints: task.placementConstraints, strategy: task.placementStrategy)
            let parsing = rules[rulesKey] ?? Result { () throws(APIError) in
                (try ConstraintRules.parse(task.placementConstraints), try StrategyRule.parse(task.placementStrategy))
            }
            rules[rulesKey] = parsing
            let parsed: (constraints: ConstraintRules, strategy: [StrategyRule])
            switch parsing {
            case .success(let value): parsed = value
            case .failure(let error):
                pass.failed[task.id] = "invalid placement rules: \(error.message)"
                if let service = task.service { pass.failedService[task.id] = service }
                continue
            }
            var demand = TaskDemand(definition: definition, overrides: task.overrides, group: task.group, constraints: parsed.constraints,
                                    strategy: LaunchPlacement.strategy(task.launch, parsed.strategy.isEmpty ? [.spreadInstance] : parsed.strategy))
            var result: PlacementResult = .failed(FeasibilityCheck.active.reason)
            var provider: String?
            if let strategy = task.launch?.capacityProviderStrategy, !strategy.isEmpty, task.requiredInstanceId == nil {
                // The provider the split wants first; one with no instance able to take the task is passed over.
                var first: PlacementResult?
                for name in CapacityStrategy.order(strategy, counts: providers.counts(task)) {
                    var onProvider = demand
                    onProvider.requirements += LaunchPlacement.requirements(task.launch, provider: name)
                    let attempt = placer.place(onProvider)
                    if attempt.placement != nil {
                        (result, provider) = (attempt, name)
                        break
                    }
                    if first == nil { first = attempt }
                }
                if provider == nil, let first { result = first }
            } else {
                demand.requirements += LaunchPlacement.requirements(task.launch, provider: nil)
                if let required = task.requiredInstanceId {
                    result = hostIndex[required].map { placer.place(demand, onHost: $0) } ?? .failed("MISSING")
                } else {
                    result = placer.place(demand)
                }
            }
            switch result {
            case .placed(let placement):
                pass.placed[task.id] = placement.hostId
                if let service = task.service { pass.placedService[task.id] = service }
                pass.instancesTouched.insert(placement.hostId)
                var binding = PlannedBinding(taskId: task.id, instanceId: placement.hostId,
                                             containers: TaskDemand.containers(for: definition, placement: placement))
                if let provider {
                    providers.add(task, provider: provider)
                    var launch = task.launch ?? TaskLaunch()
                    launch.capacityProviderName = provider
                    launch.launchType = LaunchPlacement.launchType(provider: provider)
                    binding.launch = launch
                }
                plan.bindings.append(binding)
            case .failed(let reason):
                pass.failed[task.id] = reason
                if let service = task.service { pass.failedService[task.id] = service }
            }
        }
        plan.notify.formUnion(pass.instancesTouched)
        // "has started" only for tasks that were placed: one that waits for room is reported as unplaceable.
        for (service, ids) in Dictionary(grouping: pass.placedService.keys.sorted(), by: { pass.placedService[$0] ?? "" })
            .sorted(by: { $0.key < $1.key }) {
            let named = ids.prefix(10).map { "(task \($0))" }.joined(separator: " ")
            log.addOnce(service: service, ["(service \(service)) has started \(ids.count) tasks: \(named)."])
        }
        plan.placement = pass
    }

    /// How many tasks each capacity provider holds, per scope a strategy divides: a service's live tasks, or the tasks
    /// of one run (its group) placed in this pass.
    struct ProviderCounts {
        var byScope: [String: [String: Int]] = [:]

        init(_ snapshot: ClusterSnapshot) {
            var seen = Set<String>()
            for t in (snapshot.service?.tasks ?? []) + snapshot.liveTasks where seen.insert(t.id).inserted {
                guard let service = t.service, t.instanceId != nil, t.desiredStatus == "RUNNING", t.lastStatus != "STOPPED",
                      let provider = t.launch?.capacityProviderName else { continue }
                byScope["service:" + service, default: [:]][provider, default: 0] += 1
            }
        }

        static func scope(_ task: SnapshotTask) -> String { task.service.map { "service:" + $0 } ?? "run:" + task.group }
        func counts(_ task: SnapshotTask) -> [String: Int] { byScope[Self.scope(task)] ?? [:] }
        mutating func add(_ task: SnapshotTask, provider: String) { byScope[Self.scope(task), default: [:]][provider, default: 0] += 1 }
    }

    /// Tasks created with the same stored rules share one parse per pass.
    struct RulesKey: Hashable {
        var constraints: [PlacementConstraint]
        var strategy: [PlacementStrategy]
    }

    // MARK: The service as the reconciler sees it

    static func serviceSpec(_ service: SnapshotService) -> ServiceSpec {
        let config = service.deploymentConfiguration
        return ServiceSpec(
            name: service.name, desiredCount: service.desiredCount, daemon: service.daemon,
            minimumHealthyPercent: config.minimumHealthyPercent ?? (service.daemon ? 0 : 100),
            maximumPercent: config.maximumPercent ?? (service.daemon ? 100 : 200), circuitBreaker: config.deploymentCircuitBreaker,
            healthCheckGracePeriod: TimeInterval(service.healthCheckGracePeriod), active: service.status == "ACTIVE")
    }

    static func deploymentSpec(_ d: SnapshotDeployment) -> DeploymentSpec {
        DeploymentSpec(id: d.id, primary: d.status == "PRIMARY", taskDefinition: d.definitionKey, rolloutState: d.rolloutState,
                       createdAt: d.createdAt)
    }

    /// The instances; for a DAEMON service, whether each is eligible: its constraints and the definition's hold, and
    /// (as ECS's daemons) its operator allows every host setting the task needs.
    static func hostSpecs(_ snapshot: ClusterSnapshot, _ service: SnapshotService, _ constraints: ConstraintRules) -> [HostSpec] {
        let definition = service.primary.flatMap { snapshot.definitions[$0.definitionKey] }
        return snapshot.instances.map { instance in
            var eligible = true
            if service.daemon {
                var placer = Placer(hosts: [instance.placementHost])
                var rules = constraints
                var needs = HostNeeds()
                var requirements = LaunchPlacement.requirements(service.launch, provider: nil)
                if let definition {
                    let demand = TaskDemand(definition: definition, overrides: nil, group: "", constraints: constraints, strategy: [])
                    rules = demand.constraints
                    needs = demand.hostNeeds
                    requirements += demand.requirements
                }
                // A daemon of a FARGATE or awsvpc service runs only where its launch can (as ECS's daemons only on matching instances).
                let attributes = instance.placementHost.attributes
                eligible = (rules.memberOf.isEmpty || placer.memberOfAllows(rules, host: 0)) && placer.hostSettingsAllow(needs, host: 0)
                    && requirements.allSatisfy { $0.met(by: attributes) }
            }
            return HostSpec(id: instance.id, active: instance.active, draining: instance.status == "DRAINING", eligible: eligible)
        }
    }

    /// The service's tasks; behind load balancers, what the target groups say of each decides its health for deployments.
    static func taskSpecs(_ service: SnapshotService, now: Date) -> [TaskSpec] {
        service.tasks.map { t in
            var spec = TaskSpec(id: t.id, deploymentId: t.deploymentId ?? "", hostId: t.instanceId, requiredHostId: t.requiredInstanceId,
                                lastStatus: TaskStatus(rawValue: t.lastStatus) ?? .provisioning, desiredRunning: t.desiredStatus == "RUNNING",
                                health: t.healthStatus, startedAt: t.startedAt, stopCode: t.stopCode.flatMap(StopCode.init(rawValue:)),
                                createdAt: t.createdAt, stoppedAt: t.stoppedAt,
                                exitCode: t.containers.first { $0.exitCode != nil && $0.exitCode != 0 }?.exitCode ?? t.containers.first?.exitCode,
                                protectedUntil: t.protectedUntil)
            if !service.loadBalancers.isEmpty, t.lastStatus == "RUNNING" {
                let standing = TargetSync.standing(taskId: t.id, bindings: service.loadBalancers, registered: service.targets, startedAt: t.startedAt,
                                                   grace: spec.startedAt == nil ? 0 : TimeInterval(service.healthCheckGracePeriod), now: now)
                spec.ready = standing.ready
                if let reason = standing.unhealthy {
                    spec.health = "UNHEALTHY"
                    spec.unhealthyReason = reason
                }
            }
            return spec
        }
    }

    /// The reconciler's starts as task rows, waiting for placement (a DAEMON start is bound to its instance).
    static func newTasks(_ reconciled: ReconcilePlan, service: SnapshotService, snapshot: ClusterSnapshot, now: Date,
                         newTaskId: () -> String) -> [SnapshotTask] {
        let byId = Dictionary(service.deployments.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var made: [SnapshotTask] = []
        func make(_ deploymentId: String, count: Int, host: String?) {
            guard count > 0, let deployment = byId[deploymentId], let definition = snapshot.definitions[deployment.definitionKey] else { return }
            let group = "service:\(service.name)"
            let demand = TaskDemand(definition: definition, overrides: nil, group: group, strategy: [])
            for _ in 0..<count {
                made.append(SnapshotTask(
                    id: newTaskId(), family: deployment.family, revision: deployment.revision, service: service.name, deploymentId: deploymentId,
                    startedBy: "ecs-svc/\(deploymentId)", group: group, requiredInstanceId: host, cpu: demand.cpu, memory: demand.memory,
                    containers: TaskDemand.containers(for: definition), placementConstraints: service.placementConstraints,
                    placementStrategy: service.placementStrategy, createdAt: now, launch: service.launch))
            }
        }
        for (deploymentId, count) in reconciled.start.sorted(by: { $0.key < $1.key }) { make(deploymentId, count: count, host: nil) }
        for start in reconciled.startOn { make(start.deploymentId, count: 1, host: start.hostId) }
        return made
    }

    // MARK: Load balancers and registries

    /// Where each task runs and which host ports it got, as the target and registry syncs see it.
    static func endpoints(_ tasks: [SnapshotTask], stopping: Set<String>, instances: [SnapshotInstance]) -> [TaskEndpoint] {
        let byId = Dictionary(instances.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        return tasks.map { t -> TaskEndpoint in
            let host = t.instanceId.flatMap { byId[$0] }
            let bindings = t.containers.flatMap { c in
                (c.networkBindings ?? []).compactMap { b -> TaskEndpoint.Binding? in
                    guard let containerPort = b.containerPort, let hostPort = b.hostPort, b.protocol != "udp" else { return nil }
                    return TaskEndpoint.Binding(containerName: c.name ?? "", containerPort: containerPort, hostPort: hostPort)
                }
            }
            return TaskEndpoint(taskId: t.id, serving: t.lastStatus == "RUNNING" && t.desiredStatus == "RUNNING" && !stopping.contains(t.id),
                                ec2InstanceId: host?.ec2InstanceId, hostAddress: host?.attribute(AgentProtocol.hostAddressAttribute),
                                bindings: bindings, taskAddress: t.privateIPv4Address)
        }
    }

    /// Makes the service's serving tasks the instances of its Cloud Map registries, each as healthy as the task (a task
    /// whose definition has health checks counts only once they pass), and removes the rest. A registry deleted behind
    /// the service's back is skipped and said in its events: the rest of the pass goes on, and its tasks keep running.
    static func registries(_ snapshot: ClusterSnapshot, _ service: SnapshotService, endpoints: [TaskEndpoint], log: inout EventLog)
        -> ServiceRegistrySyncPlan
    {
        guard !service.registries.isEmpty || !service.missingRegistries.isEmpty || !service.registryInstances.isEmpty else {
            return ServiceRegistrySyncPlan()
        }
        log.addOnce(service: service.name, service.missingRegistries.map {
            "(service \(service.name)) is unable to register its tasks in service registry \($0): it no longer exists."
        })
        let byId = Dictionary(snapshot.instances.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var candidates: [ServiceRegistryTask] = []
        for (t, endpoint) in zip(service.tasks, endpoints) where endpoint.serving {
            let checked = (snapshot.definitions[t.definitionKey]?.containerDefinitions ?? []).contains { $0.healthCheck != nil }
            let healthy = t.healthStatus == "HEALTHY" || (t.healthStatus != "UNHEALTHY" && !checked)
            var attributes = ["ECS_CLUSTER_NAME": snapshot.cluster, "ECS_SERVICE_NAME": service.name, "ECS_TASK_DEFINITION_FAMILY": t.family]
            if let host = t.instanceId.flatMap({ byId[$0] }) {
                attributes["EC2_INSTANCE_ID"] = host.ec2InstanceId
                if let zone = host.attribute("ecs.availability-zone") { attributes["AVAILABILITY_ZONE"] = zone }
            }
            candidates.append(ServiceRegistryTask(endpoint: endpoint, healthy: healthy, attributes: attributes))
        }
        return ServiceRegistrySync.plan(bindings: service.registries, tasks: candidates, registered: service.registryInstances)
    }

    static func splitRevision(_ text: String) -> (String, Int)? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let revision = Int(parts[1]) else { return nil }
        return (String(parts[0]), revision)
    }
}
