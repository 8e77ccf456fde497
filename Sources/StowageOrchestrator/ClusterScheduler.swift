import Foundation
import Logging
import PostgresNIO
import StowageModel
import StowageScheduler
import StowageStore

/// The outcome of one placement pass.
public struct PlacementPass: Sendable {
    public var placed: [String: String] = [:]
    public var failed: [String: String] = [:]
    /// The service of each failed task that belongs to one, for its event log.
    public var failedService: [String: String] = [:]
    /// The service of each placed task that belongs to one: it has started, and says so in its events.
    public var placedService: [String: String] = [:]
    public var instancesTouched: Set<String> = []
}

/// Loads a cluster's snapshot, runs the pure scheduler on it and applies the answer, always inside the
/// caller's transaction and under the cluster's advisory lock: clusters schedule in parallel, and one
/// cluster's placements never race each other.
public struct ClusterScheduler: Sendable {
    public let logger: Logger
    let instances: ContainerInstanceStore
    let tasks: TaskStore
    let services: ServiceStore
    let definitions: TaskDefinitionStore
    let queue: JobQueue
    let clock: any WallClock

    public init(logger: Logger, clock: any WallClock = SystemClock()) {
        self.logger = logger
        self.clock = clock
        instances = ContainerInstanceStore(logger: logger)
        tasks = TaskStore(logger: logger)
        services = ServiceStore(logger: logger)
        definitions = TaskDefinitionStore(logger: logger)
        queue = JobQueue(logger: logger)
    }

    /// Serializes scheduling within one cluster until the transaction ends.
    public func lock(_ conn: PostgresConnection, account: String, cluster: String) async throws {
        try await ClusterStore(logger: logger).lockScheduling(conn, account: account, cluster: cluster)
    }

    static func host(_ r: ContainerInstanceRecord) -> PlacementHost {
        func integer(_ name: String) -> Int {
            guard let resource = r.registeredResources.first(where: { $0.name == name }) else { return 0 }
            return resource.integerValue ?? resource.longValue.map(Int.init) ?? resource.doubleValue.map(Int.init) ?? 0
        }
        func ports(_ name: String) -> Set<Int> {
            Set((r.registeredResources.first { $0.name == name }?.stringSetValue ?? []).compactMap(Int.init))
        }
        var attributes: [String: String] = [:]
        for attribute in r.attributes { attributes[attribute.name] = attribute.value ?? "" }
        return PlacementHost(id: r.id, ec2InstanceId: r.ec2InstanceId, active: r.status == "ACTIVE" && r.agentConnected,
                             attributes: attributes, registeredAt: r.registeredAt, cpu: integer("CPU"), memory: integer("MEMORY"),
                             reservedTCP: ports("PORTS"), reservedUDP: ports("PORTS_UDP"),
                             gpus: r.registeredResources.first { $0.name == "GPU" }?.stringSetValue ?? [],
                             ephemeral: AgentProtocol.portRange(attributes[AgentProtocol.portRangeAttribute]) ?? AgentProtocol.defaultPortRange)
    }

    static func placed(_ t: TaskRecord) -> PlacedTask? {
        guard let host = t.instanceId else { return nil }
        let bindings = t.containers.flatMap { $0.networkBindings ?? [] }
        return PlacedTask(hostId: host, cpu: t.cpu, memory: t.memory,
                          tcpPorts: bindings.filter { $0.protocol != "udp" }.compactMap(\.hostPort),
                          udpPorts: bindings.filter { $0.protocol == "udp" }.compactMap(\.hostPort),
                          gpus: t.containers.flatMap { $0.gpuIds ?? [] }, group: t.group)
    }

    /// Places every task of the cluster still waiting for an instance (or only `only`), in one pass, and
    /// records the placements in one batch. The caller holds the cluster lock; a caller that already loaded
    /// the cluster's instances under it passes them (`hosts`) rather than reading them again.
    public func placePending(_ conn: PostgresConnection, account: String, cluster: String, only: Set<String>? = nil,
                             hosts: [ContainerInstanceRecord]? = nil, definitions known: [String: TaskDefinition] = [:])
        async throws -> PlacementPass
    {
        let hostRecords: [ContainerInstanceRecord]
        if let hosts { hostRecords = hosts } else { hostRecords = try await instances.all(conn, account: account, cluster: cluster) }
        let live = try await tasks.live(conn, account: account, cluster: cluster)
        let waiting = live.filter { $0.instanceId == nil && $0.desiredStatus == "RUNNING" && (only?.contains($0.id) ?? true) }
            .sorted { $0.createdAt == $1.createdAt ? $0.id < $1.id : $0.createdAt < $1.createdAt }
        var pass = PlacementPass()
        guard !waiting.isEmpty else { return pass }
        var placer = Placer(hosts: hostRecords.map(Self.host), placed: live.compactMap(Self.placed),
                            seed: Placer.seed(account + "/" + cluster))
        let hostIndex = Dictionary(hostRecords.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
        var bodies = known
        var rules: [RulesKey: Result<(ConstraintRules, [StrategyRule]), APIError>] = [:]
        var bindings: [TaskBinding] = []
        for task in waiting {
            let key = "\(task.family):\(task.revision)"
            if bodies[key] == nil {
                bodies[key] = try await definitions.get(conn, account: account, family: task.family, revision: task.revision)?.body
            }
            guard let definition = bodies[key] else {
                pass.failed[task.id] = "TaskDefinition \(key) no longer exists"
                continue
            }
            // Stored rules were checked when the task or service was created; a pass parses each distinct set
            // once, and one that no longer parses fails its tasks with the reason instead of being ignored.
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
            let demand = TaskDemand(definition: definition, overrides: task.overrides, group: task.group,
                                    constraints: parsed.constraints, strategy: parsed.strategy.isEmpty ? [.spreadInstance] : parsed.strategy)
            let result: PlacementResult
            if let required = task.requiredInstanceId {
                result = hostIndex[required].map { placer.place(demand, onHost: $0) } ?? .failed("MISSING")
            } else {
                result = placer.place(demand)
            }
            switch result {
            case .placed(let placement):
                pass.placed[task.id] = placement.hostId
                if let service = task.service { pass.placedService[task.id] = service }
                pass.instancesTouched.insert(placement.hostId)
                bindings.append(TaskBinding(taskId: task.id, instanceId: placement.hostId,
                                            containers: TaskDemand.containers(for: definition, placement: placement)))
            case .failed(let reason):
                pass.failed[task.id] = reason
                if let service = task.service { pass.failedService[task.id] = service }
            }
        }
        try await tasks.bind(conn, account: account, cluster: cluster, bindings)
        try await notify(conn, account: account, cluster: cluster, instances: pass.instancesTouched)
        // "has started" only for tasks that were placed: one that waits for room is reported by reportFailures.
        for (service, ids) in Dictionary(grouping: pass.placedService.keys.sorted(), by: { pass.placedService[$0] ?? "" })
            .sorted(by: { $0.key < $1.key }) {
            let named = ids.prefix(10).map { "(task \($0))" }.joined(separator: " ")
            try await addEventsOnce(conn, account: account, cluster: cluster, service: service,
                                    ["(service \(service)) has started \(ids.count) tasks: \(named)."])
        }
        return pass
    }

    /// Tasks created with the same stored rules share one parse per pass.
    struct RulesKey: Hashable {
        var constraints: [PlacementConstraint]
        var strategy: [PlacementStrategy]
    }

    /// Wakes the long polls of the agents whose desired task sets changed (delivered on commit).
    public func notify(_ conn: PostgresConnection, account: String, cluster: String, instances: Set<String>) async throws {
        try await self.instances.notifyChanged(conn, account: account, cluster: cluster, instances: instances)
    }

    /// One service toward its desired state: reconcile, apply the plan, queue placement of what it starts.
    public func reconcile(_ conn: PostgresConnection, account: String, cluster: String, service name: String, now: Date) async throws {
        try await lock(conn, account: account, cluster: cluster)
        guard var service = try await services.get(conn, account: account, cluster: cluster, names: [name], lock: true).first,
              service.status != "INACTIVE" else { return }
        let deployments = try await services.deployments(conn, account: account, cluster: cluster, services: [name])
        let serviceTasks = try await tasks.ofService(conn, account: account, cluster: cluster, service: name)
        let hostRecords = try await instances.all(conn, account: account, cluster: cluster)
        let constraints = try ConstraintRules.parse(service.placementConstraints)
        let daemon = service.schedulingStrategy == "DAEMON"
        var primaryDefinition: TaskDefinition?
        if daemon, let primary = deployments.first(where: { $0.status == "PRIMARY" }) {
            primaryDefinition = try await definitions.get(conn, account: account, family: primary.family, revision: primary.revision)?.body
        }
        let hosts = hostRecords.map { r -> HostSpec in
            var eligible = true
            if daemon {
                var placer = Placer(hosts: [Self.host(r)])
                var rules = constraints
                var needs = HostNeeds()
                if let definition = primaryDefinition {
                    let demand = TaskDemand(definition: definition, overrides: nil, group: "", constraints: constraints, strategy: [])
                    rules = demand.constraints
                    needs = demand.hostNeeds
                }
                // As ECS's daemons: an instance whose operator forbids a host setting the task needs gets none.
                eligible = (rules.memberOf.isEmpty || placer.memberOfAllows(rules, host: 0)) && placer.hostSettingsAllow(needs, host: 0)
            }
            return HostSpec(id: r.id, active: r.status == "ACTIVE" && r.agentConnected, draining: r.status == "DRAINING",
                            eligible: eligible)
        }
        let config = service.deploymentConfiguration
        let spec = ServiceSpec(
            name: name, desiredCount: service.desiredCount, daemon: daemon,
            minimumHealthyPercent: config.minimumHealthyPercent ?? (daemon ? 0 : 100),
            maximumPercent: config.maximumPercent ?? (daemon ? 100 : 200), circuitBreaker: config.deploymentCircuitBreaker,
            healthCheckGracePeriod: TimeInterval(service.healthCheckGracePeriod), active: service.status == "ACTIVE")
        let deploymentSpecs = deployments.map {
            DeploymentSpec(id: $0.id, primary: $0.status == "PRIMARY", taskDefinition: "\($0.family):\($0.revision)",
                           rolloutState: $0.rolloutState, createdAt: $0.createdAt)
        }
        // Behind load balancers: what the target groups say of each task decides its health for deployments.
        let balancing = try await loadBalancing(conn, account: account, service: service, tasks: serviceTasks)
        let taskSpecs = serviceTasks.map { t in
            var spec = TaskSpec(id: t.id, deploymentId: t.deploymentId ?? "", hostId: t.instanceId, requiredHostId: t.requiredInstanceId,
                                lastStatus: TaskStatus(rawValue: t.lastStatus) ?? .provisioning, desiredRunning: t.desiredStatus == "RUNNING",
                                health: t.healthStatus, startedAt: t.startedAt, stopCode: t.stopCode.flatMap(StopCode.init(rawValue:)),
                                createdAt: t.createdAt, stoppedAt: t.stoppedAt,
                                exitCode: t.containers.first { $0.exitCode != nil && $0.exitCode != 0 }?.exitCode ?? t.containers.first?.exitCode,
                                protectedUntil: t.protectedUntil)
            if !balancing.bindings.isEmpty, t.lastStatus == "RUNNING" {
                let standing = TargetSync.standing(taskId: t.id, bindings: balancing.bindings, registered: balancing.registered,
                                                   startedAt: t.startedAt, grace: spec.startedAt == nil ? 0 : TimeInterval(service.healthCheckGracePeriod), now: now)
                spec.ready = standing.ready
                if let reason = standing.unhealthy {
                    spec.health = "UNHEALTHY"
                    spec.unhealthyReason = reason
                }
            }
            return spec
        }
        let plan = Reconciler.plan(service: spec, deployments: deploymentSpecs, tasks: taskSpecs, hosts: hosts, now: now)
        var events = plan.events
        // A refused target is said once (not on every pass): only when the recent events do not already say it.
        let refusals = TargetSync.refusals(service: name, bindings: balancing.bindings, registered: balancing.registered)
        if !refusals.isEmpty {
            let recent = Set(try await services.events(conn, account: account, cluster: cluster, service: name, limit: 50).map(\.message))
            events += refusals.filter { !recent.contains($0) }
        }
        if let retryAt = plan.retryAt {
            try await queue.reconcile(conn, account: account, cluster: cluster, service: name, delay: retryAt.timeIntervalSince(now) + 0.5)
        }

        // Stops, grouped by reason so each group is one statement.
        for (reason, stops) in Dictionary(grouping: plan.stop, by: \.reason) {
            try await tasks.stop(conn, account: account, cluster: cluster, ids: stops.map(\.taskId), reason: reason,
                                 code: StopCode.serviceSchedulerInitiated.rawValue)
        }
        // A task behind load balancers keeps running while its targets drain; the agent stops it after.
        var draining: [String: Date] = [:]
        for stop in plan.stop {
            let delay = TargetSync.drainDelay(taskId: stop.taskId, bindings: balancing.bindings, registered: balancing.registered)
            if delay > 0 { draining[stop.taskId] = now.addingTimeInterval(delay) }
        }
        // Tasks whose draining has ended: their agents stop them now.
        let released = Set(serviceTasks.filter {
            $0.desiredStatus == "STOPPED" && $0.lastStatus != "STOPPED" && ($0.stopAfter.map { $0 <= now } ?? false)
        }.compactMap(\.instanceId))
        if !released.isEmpty { try await notify(conn, account: account, cluster: cluster, instances: released) }
        if !draining.isEmpty {
            try await tasks.drain(conn, account: account, cluster: cluster, until: draining)
            if let last = draining.values.max() {
                try await queue.reconcile(conn, account: account, cluster: cluster, service: name, delay: last.timeIntervalSince(now) + 0.5)
            }
        }
        if !plan.stop.isEmpty {
            let ids = plan.stop.prefix(10).map { "(task \($0.taskId))" }.joined(separator: " ")
            events.append("(service \(name)) has stopped \(plan.stop.count) running tasks: \(ids).")
            let affected = Set(serviceTasks.filter { t in plan.stop.contains { $0.taskId == t.id } }.compactMap(\.instanceId))
            try await notify(conn, account: account, cluster: cluster, instances: affected)
        }

        // Starts: new task rows, bound to instances in this same transaction, under the same lock.
        var started: [TaskRecord] = []
        let byDeployment = Dictionary(deployments.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        // Task definitions read once per reconcile (a DAEMON start per host would read the same one again),
        // and handed to placement below.
        var bodies: [String: TaskDefinition] = [:]
        if let primaryDefinition, let primary = deployments.first(where: { $0.status == "PRIMARY" }) {
            bodies["\(primary.family):\(primary.revision)"] = primaryDefinition
        }
        func newTasks(_ deploymentId: String, count: Int, host: String?) async throws {
            guard count > 0, let deployment = byDeployment[deploymentId] else { return }
            let key = "\(deployment.family):\(deployment.revision)"
            if bodies[key] == nil {
                bodies[key] = try await definitions.get(conn, account: account, family: deployment.family, revision: deployment.revision)?.body
            }
            guard let definition = bodies[key] else { return }
            for _ in 0..<count {
                var t = TaskRecord(cluster: cluster, id: Identifier.task(), family: deployment.family, revision: deployment.revision,
                                   group: "service:\(name)", cpu: 0, memory: 0, containers: TaskDemand.containers(for: definition))
                let demand = TaskDemand(definition: definition, overrides: nil, group: t.group, strategy: [])
                t.cpu = demand.cpu
                t.memory = demand.memory
                t.service = name
                t.deploymentId = deploymentId
                t.startedBy = "ecs-svc/\(deploymentId)"
                t.requiredInstanceId = host
                t.placementConstraints = service.placementConstraints
                t.placementStrategy = service.placementStrategy
                t.tags = []
                started.append(t)
            }
        }
        for (deploymentId, count) in plan.start { try await newTasks(deploymentId, count: count, host: nil) }
        for start in plan.startOn { try await newTasks(start.deploymentId, count: 1, host: start.hostId) }
        try await tasks.insert(conn, account: account, started)

        for (id, change) in plan.rollout {
            try await services.setRollout(conn, account: account, cluster: cluster, service: name, id: id, state: change.state,
                                          reason: change.reason)
        }
        try await services.retire(conn, account: account, cluster: cluster, service: name, ids: plan.retire)
        if let target = plan.rollbackTo, let (family, revision) = Self.splitRevision(target) {
            try await services.addDeployment(conn, account: account, cluster: cluster, service: name,
                                             id: Identifier.deployment(), family: family, revision: revision)
            try await queue.reconcile(conn, account: account, cluster: cluster, service: name)
        }
        if let desired = plan.daemonDesired, desired != service.desiredCount {
            service.desiredCount = desired
            _ = try await services.update(conn, account: account, service)
        }
        let stopping = Set(plan.stop.map(\.taskId))
        try await syncTargets(conn, account: account, cluster: cluster, balancing, tasks: serviceTasks, stopping: stopping, hosts: hostRecords, now: now)
        try await syncRegistries(conn, account: account, cluster: cluster, service: service, tasks: serviceTasks, stopping: stopping,
                                 hosts: hostRecords, now: now)
        if service.status == "DRAINING", taskSpecs.allSatisfy({ task in !task.isActive || stopping.contains(task.id) }) {
            service.status = "INACTIVE"
            if let fresh = try await services.get(conn, account: account, cluster: cluster, names: [name]).first {
                service.version = fresh.version
                service.desiredCount = fresh.desiredCount
            }
            _ = try await services.update(conn, account: account, service)
            try await services.retire(conn, account: account, cluster: cluster, service: name, ids: deployments.map(\.id))
        }
        try await addEventsOnce(conn, account: account, cluster: cluster, service: name, events)
        if !started.isEmpty {
            let pass = try await placePending(conn, account: account, cluster: cluster, only: Set(started.map(\.id)),
                                              hosts: hostRecords, definitions: bodies)
            try await reportFailures(conn, account: account, cluster: cluster, pass)
        }
    }

    /// StopTask on a service task: it leaves its Cloud Map registry now; behind load balancers its targets drain
    /// now (routing to them ends) and the task runs until the longest deregistration delay of its groups has
    /// passed. Returns that time, or nil without targets.
    public func drainBeforeStop(_ conn: PostgresConnection, account: String, cluster: String, service: String, taskId: String, now: Date)
        async throws -> Date?
    {
        // Names stop answering it first: its Cloud Map instances go now, whatever its targets do.
        let discovery = DiscoveryStore(logger: logger)
        for instance in try await discovery.instances(conn, account: account, taskIds: [taskId]) {
            _ = try await discovery.deleteInstance(conn, account: account, serviceId: instance.serviceId, instanceId: instance.instanceId)
        }
        let store = LoadBalancerStore(logger: logger)
        let registered = try await store.targets(conn, taskIds: [taskId]).filter { $0.state != .draining }
        guard !registered.isEmpty else { return nil }
        let groups = try await store.targetGroupsById(conn, ids: Array(Set(registered.map(\.targetGroupId))))
        var last = now
        for t in registered {
            let until = now.addingTimeInterval(TimeInterval(groups[t.targetGroupId]?.attributes.deregistrationDelaySeconds ?? 0))
            last = max(last, until)
            try await store.deregister(conn, targetGroupId: t.targetGroupId, targets: [(t.targetId, t.port)], until: until)
        }
        try await store.notify(conn)
        guard last > now else { return nil }
        try await tasks.drain(conn, account: account, cluster: cluster, until: [taskId: last])
        try await queue.reconcile(conn, account: account, cluster: cluster, service: service, delay: last.timeIntervalSince(now) + 0.5)
        return last
    }

    /// A service's target groups and what they hold of its tasks.
    struct Balancing: Sendable {
        var bindings: [LoadBalancerBinding] = []
        var registered: [RegisteredTarget] = []
    }

    func loadBalancing(_ conn: PostgresConnection, account: String, service: ServiceRecord, tasks: [TaskRecord]) async throws -> Balancing {
        guard !service.loadBalancers.isEmpty else { return Balancing() }
        let store = LoadBalancerStore(logger: logger)
        var out = Balancing()
        for lb in service.loadBalancers {
            guard let arn = lb.targetGroupArn, case .targetGroup(_, let id)? = ELB.resource(arn, account: account),
                  let group = try await store.targetGroups(conn, account: account, ids: [id]).first,
                  let container = lb.containerName, let port = lb.containerPort else { continue }
            out.bindings.append(LoadBalancerBinding(targetGroupId: id, targetGroupArn: arn, targetType: group.targetType, containerName: container,
                                                    containerPort: port, deregistrationDelay: TimeInterval(group.attributes.deregistrationDelaySeconds)))
        }
        out.registered = try await store.targets(conn, taskIds: tasks.map(\.id)).map {
            RegisteredTarget(targetGroupId: $0.targetGroupId, targetId: $0.targetId, port: $0.port, taskId: $0.taskId, state: $0.state,
                             reason: $0.reason, description: $0.description)
        }
        return out
    }

    /// Where each task runs and which host ports it got, as target and registry syncs see it.
    static func endpoints(_ tasks: [TaskRecord], stopping: Set<String>, hosts: [ContainerInstanceRecord]) -> [TaskEndpoint] {
        let hostById = Dictionary(hosts.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        return tasks.map { t -> TaskEndpoint in
            let host = t.instanceId.flatMap { hostById[$0] }
            let address = host?.attributes.first { $0.name == AgentProtocol.hostAddressAttribute }?.value
            let bindings = t.containers.flatMap { c in
                (c.networkBindings ?? []).compactMap { b -> TaskEndpoint.Binding? in
                    guard let containerPort = b.containerPort, let hostPort = b.hostPort, b.protocol != "udp" else { return nil }
                    return TaskEndpoint.Binding(containerName: c.name ?? "", containerPort: containerPort, hostPort: hostPort)
                }
            }
            return TaskEndpoint(taskId: t.id, serving: t.lastStatus == "RUNNING" && t.desiredStatus == "RUNNING" && !stopping.contains(t.id),
                                ec2InstanceId: host?.ec2InstanceId, hostAddress: address, bindings: bindings)
        }
    }

    /// Registers the service's serving tasks in its target groups and drains the rest; wakes `stowage lb` on a change.
    func syncTargets(_ conn: PostgresConnection, account: String, cluster: String, _ balancing: Balancing, tasks: [TaskRecord],
                     stopping: Set<String>, hosts: [ContainerInstanceRecord], now: Date) async throws {
        guard !balancing.bindings.isEmpty || !balancing.registered.isEmpty else { return }
        let endpoints = Self.endpoints(tasks, stopping: stopping, hosts: hosts)
        let plan = TargetSync.plan(bindings: balancing.bindings, tasks: endpoints, registered: balancing.registered, now: now)
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

    /// Makes the service's serving tasks the instances of its Cloud Map registry, each as healthy as the task (a
    /// task whose definition has health checks counts only once they pass), and removes the rest.
    func syncRegistries(_ conn: PostgresConnection, account: String, cluster: String, service: ServiceRecord, tasks: [TaskRecord],
                        stopping: Set<String>, hosts: [ContainerInstanceRecord], now: Date) async throws {
        let store = DiscoveryStore(logger: logger)
        let registered = try await store.instances(conn, account: account, taskIds: tasks.map(\.id))
        guard !service.serviceRegistries.isEmpty || !registered.isEmpty else { return }
        var bindings = service.serviceRegistries.compactMap { r -> RegistryBinding? in
            guard let arn = r.registryArn, let id = DiscoveryRules.id(arn, kind: "service", account: account) else { return nil }
            return RegistryBinding(serviceId: id, containerName: r.containerName, containerPort: r.containerPort)
        }
        // A registry deleted behind the service's back (from an older Stowage, or in the same instant) is skipped and
        // said in the service's events: the rest of the reconcile pass goes on, and its tasks keep running.
        // (No bindings, no read: an empty id list would mean every service of the account.)
        let existing = bindings.isEmpty ? []
            : Set(try await store.services(conn, account: account, ids: bindings.map(\.serviceId)).map(\.id))
        let missing = bindings.filter { !existing.contains($0.serviceId) }
        if !missing.isEmpty {
            bindings.removeAll { !existing.contains($0.serviceId) }
            try await addEventsOnce(conn, account: account, cluster: cluster, service: service.name, missing.map {
                "(service \(service.name)) is unable to register its tasks in service registry \($0.serviceId): it no longer exists."
            })
        }
        let hostById = Dictionary(hosts.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var checked: [String: Bool] = [:]
        var candidates: [RegistryTask] = []
        for (t, endpoint) in zip(tasks, Self.endpoints(tasks, stopping: stopping, hosts: hosts)) where endpoint.serving {
            let key = "\(t.family):\(t.revision)"
            if checked[key] == nil {
                let body = try await definitions.get(conn, account: account, family: t.family, revision: t.revision)?.body
                checked[key] = (body?.containerDefinitions ?? []).contains { $0.healthCheck != nil }
            }
            let healthy = t.healthStatus == "HEALTHY" || (t.healthStatus != "UNHEALTHY" && checked[key] == false)
            let host = t.instanceId.flatMap { hostById[$0] }
            var attributes = ["ECS_CLUSTER_NAME": cluster, "ECS_SERVICE_NAME": service.name, "ECS_TASK_DEFINITION_FAMILY": t.family]
            if let host {
                attributes["EC2_INSTANCE_ID"] = host.ec2InstanceId
                if let zone = host.attributes.first(where: { $0.name == "ecs.availability-zone" })?.value { attributes["AVAILABILITY_ZONE"] = zone }
            }
            candidates.append(RegistryTask(endpoint: endpoint, healthy: healthy, attributes: attributes))
        }
        let plan = RegistrySync.plan(bindings: bindings, tasks: candidates, registered: registered.map {
            RegisteredInstance(serviceId: $0.serviceId, instanceId: $0.instanceId, attributes: $0.attributes, health: $0.health, taskId: $0.taskId)
        })
        for i in plan.put {
            try await store.putInstance(conn, account: account, DiscoveryInstanceRow(
                serviceId: i.serviceId, instanceId: i.instanceId, attributes: i.attributes, creatorRequestId: nil, health: i.health,
                taskId: i.taskId), now: now)
        }
        for r in plan.remove { _ = try await store.deleteInstance(conn, account: account, serviceId: r.serviceId, instanceId: r.instanceId) }
    }

    /// Says in each service's events why its tasks could not be placed (they wait for the next pass).
    public func reportFailures(_ conn: PostgresConnection, account: String, cluster: String, _ pass: PlacementPass) async throws {
        var reasons: [String: String] = [:]
        for (task, service) in pass.failedService { reasons[service] = pass.failed[task] }
        for (service, reason) in reasons.sorted(by: { $0.key < $1.key }) {
            try await reportUnplaceable(conn, account: account, cluster: cluster, service: service, reason: reason)
        }
    }

    /// Adds events, leaving out any that repeats one of the service's events of the last five minutes word for word.
    func addEventsOnce(_ conn: PostgresConnection, account: String, cluster: String, service: String, _ messages: [String]) async throws {
        guard !messages.isEmpty else { return }
        let recent = try await services.events(conn, account: account, cluster: cluster, service: service, limit: 20)
            .filter { ($0.createdAt ?? .distantPast) > clock.now().addingTimeInterval(-300) }.compactMap(\.message)
        try await services.addEvents(conn, account: account, cluster: cluster, service: service,
                                     messages.filter { message in message.contains("has started") || message.contains("has stopped")
                                         || !recent.contains(message) })
    }

    /// Records why tasks of a service could not be placed, without repeating the same event within five minutes.
    public func reportUnplaceable(_ conn: PostgresConnection, account: String, cluster: String, service: String,
                                  reason: String) async throws {
        if let words = HostSettingsCheck.explanation(reason) {
            try await addEventsOnce(conn, account: account, cluster: cluster, service: service,
                                    ["(service \(service)) was unable to place a task because \(words)."])
            return
        }
        let explanation: String = switch reason {
        case "RESOURCE:CPU": "has insufficient CPU units available"
        case "RESOURCE:MEMORY": "has insufficient memory available"
        case "RESOURCE:PORTS": "is already using a port required by your task"
        case "RESOURCE:GPU": "has insufficient GPUs available"
        case "MemberOf": "does not match the placement constraints"
        case "DistinctInstance": "already runs a task of this service (distinctInstance)"
        default: reason
        }
        let message = "(service \(service)) was unable to place a task because no container instance met all of its requirements. The closest matching container instance \(explanation) (\(reason))."
        try await addEventsOnce(conn, account: account, cluster: cluster, service: service, [message])
    }

    static func splitRevision(_ text: String) -> (String, Int)? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let revision = Int(parts[1]) else { return nil }
        return (String(parts[0]), revision)
    }
}
