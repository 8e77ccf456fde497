import Foundation
import StowageModel

/// Everything one scheduling pass knows of a cluster, read before anything is decided (the orchestrator's
/// `ClusterSnapshot.load`). `ClusterPlanner` turns it into a `ClusterPlan` without I/O, so a whole pass is a
/// function a test can call with values.
public struct ClusterSnapshot: Sendable {
    public var account: String
    public var cluster: String
    public var instances: [SnapshotInstance]
    /// Every task of the cluster that is not STOPPED: what holds resources, and what waits for a place.
    public var liveTasks: [SnapshotTask]
    /// Task definitions by "family:revision": those the pass may start, place or inspect.
    public var definitions: [String: TaskDefinition]
    /// The service this pass reconciles; nil for a placement pass alone.
    public var service: SnapshotService?
    /// Each service's latest events, newest first: what new events are told apart from.
    public var recentEvents: [String: [ServiceEvent]]

    public init(account: String, cluster: String, instances: [SnapshotInstance] = [], liveTasks: [SnapshotTask] = [],
                definitions: [String: TaskDefinition] = [:], service: SnapshotService? = nil, recentEvents: [String: [ServiceEvent]] = [:]) {
        self.account = account; self.cluster = cluster; self.instances = instances; self.liveTasks = liveTasks
        self.definitions = definitions; self.service = service; self.recentEvents = recentEvents
    }

    public static func definitionKey(family: String, revision: Int) -> String { "\(family):\(revision)" }
}

/// A container instance as the pass reads it.
public struct SnapshotInstance: Sendable, Equatable {
    public var id: String
    public var ec2InstanceId: String
    /// ACTIVE, DRAINING, ...
    public var status: String
    public var agentConnected: Bool
    public var registeredResources: [Resource]
    public var attributes: [Attribute]
    public var registeredAt: Date

    public init(id: String, ec2InstanceId: String = "", status: String = "ACTIVE", agentConnected: Bool = true,
                registeredResources: [Resource] = [], attributes: [Attribute] = [], registeredAt: Date = Date(timeIntervalSince1970: 0)) {
        self.id = id; self.ec2InstanceId = ec2InstanceId; self.status = status; self.agentConnected = agentConnected
        self.registeredResources = registeredResources; self.attributes = attributes; self.registeredAt = registeredAt
    }

    /// Only such an instance gets new tasks.
    public var active: Bool { status == "ACTIVE" && agentConnected }

    public func attribute(_ name: String) -> String? { attributes.first { $0.name == name }?.value }

    /// What placement sees of it: what it registered, what it is.
    public var placementHost: PlacementHost {
        func integer(_ name: String) -> Int {
            guard let resource = registeredResources.first(where: { $0.name == name }) else { return 0 }
            return resource.integerValue ?? resource.longValue.map(Int.init) ?? resource.doubleValue.map(Int.init) ?? 0
        }
        func ports(_ name: String) -> Set<Int> {
            Set((registeredResources.first { $0.name == name }?.stringSetValue ?? []).compactMap(Int.init))
        }
        var named: [String: String] = [:]
        for attribute in attributes { named[attribute.name] = attribute.value ?? "" }
        return PlacementHost(id: id, ec2InstanceId: ec2InstanceId, active: active, attributes: named, registeredAt: registeredAt,
                             cpu: integer("CPU"), memory: integer("MEMORY"), reservedTCP: ports("PORTS"), reservedUDP: ports("PORTS_UDP"),
                             gpus: registeredResources.first { $0.name == "GPU" }?.stringSetValue ?? [],
                             ephemeral: AgentProtocol.portRange(named[AgentProtocol.portRangeAttribute]) ?? AgentProtocol.defaultPortRange)
    }
}

/// A task as the pass reads it, and a new task the plan writes.
public struct SnapshotTask: Sendable, Equatable {
    public var id: String
    public var family: String
    public var revision: Int
    public var service: String?
    public var deploymentId: String?
    public var startedBy: String?
    public var group: String
    public var instanceId: String?
    public var requiredInstanceId: String?
    public var lastStatus: String
    public var desiredStatus: String
    public var healthStatus: String
    public var cpu: Int
    public var memory: Int
    public var overrides: TaskOverride?
    public var containers: [Container]
    public var placementConstraints: [PlacementConstraint]
    public var placementStrategy: [PlacementStrategy]
    public var createdAt: Date
    public var startedAt: Date?
    public var stoppedAt: Date?
    public var stopCode: String?
    /// A stopping task keeps running until then while its load balancer targets drain.
    public var stopAfter: Date?
    public var protectedUntil: Date?
    /// Its launch type or capacity provider strategy, platform version and awsvpc configuration; on a placed task,
    /// the capacity provider it went to.
    public var launch: TaskLaunch?
    /// An awsvpc task's own address, as its agent reported it: its targets and Cloud Map records carry it.
    public var privateIPv4Address: String?

    public init(id: String, family: String, revision: Int, service: String? = nil, deploymentId: String? = nil, startedBy: String? = nil,
                group: String, instanceId: String? = nil, requiredInstanceId: String? = nil, lastStatus: String = "PROVISIONING",
                desiredStatus: String = "RUNNING", healthStatus: String = "UNKNOWN", cpu: Int = 0, memory: Int = 0,
                overrides: TaskOverride? = nil, containers: [Container] = [], placementConstraints: [PlacementConstraint] = [],
                placementStrategy: [PlacementStrategy] = [], createdAt: Date = Date(timeIntervalSince1970: 0), startedAt: Date? = nil,
                stoppedAt: Date? = nil, stopCode: String? = nil, stopAfter: Date? = nil, protectedUntil: Date? = nil,
                launch: TaskLaunch? = nil) {
        self.id = id; self.family = family; self.revision = revision; self.service = service; self.deploymentId = deploymentId
        self.startedBy = startedBy; self.group = group; self.instanceId = instanceId; self.requiredInstanceId = requiredInstanceId
        self.lastStatus = lastStatus; self.desiredStatus = desiredStatus; self.healthStatus = healthStatus; self.cpu = cpu
        self.memory = memory; self.overrides = overrides; self.containers = containers; self.placementConstraints = placementConstraints
        self.placementStrategy = placementStrategy; self.createdAt = createdAt; self.startedAt = startedAt; self.stoppedAt = stoppedAt
        self.stopCode = stopCode; self.stopAfter = stopAfter; self.protectedUntil = protectedUntil; self.launch = launch
    }

    public var definitionKey: String { ClusterSnapshot.definitionKey(family: family, revision: revision) }

    /// What it holds on its instance, for placement; nil while it waits for one.
    var placed: PlacedTask? {
        guard let host = instanceId else { return nil }
        let bindings = containers.flatMap { $0.networkBindings ?? [] }
        return PlacedTask(hostId: host, cpu: cpu, memory: memory,
                          tcpPorts: bindings.filter { $0.protocol != "udp" }.compactMap(\.hostPort),
                          udpPorts: bindings.filter { $0.protocol == "udp" }.compactMap(\.hostPort),
                          gpus: containers.flatMap { $0.gpuIds ?? [] }, group: group)
    }
}

/// A service deployment as the pass reads it.
public struct SnapshotDeployment: Sendable, Equatable {
    public var id: String
    /// PRIMARY or ACTIVE.
    public var status: String
    public var family: String
    public var revision: Int
    public var rolloutState: String
    public var createdAt: Date

    public init(id: String, status: String, family: String, revision: Int, rolloutState: String = "IN_PROGRESS",
                createdAt: Date = Date(timeIntervalSince1970: 0)) {
        self.id = id; self.status = status; self.family = family; self.revision = revision; self.rolloutState = rolloutState
        self.createdAt = createdAt
    }

    public var definitionKey: String { ClusterSnapshot.definitionKey(family: family, revision: revision) }
}

/// The service a pass reconciles, with what its load balancers and Cloud Map registries hold of its tasks.
public struct SnapshotService: Sendable {
    public var name: String
    /// ACTIVE or DRAINING (an INACTIVE service is not reconciled).
    public var status: String
    public var desiredCount: Int
    /// REPLICA or DAEMON.
    public var schedulingStrategy: String
    public var deploymentConfiguration: DeploymentConfiguration
    public var placementConstraints: [PlacementConstraint]
    public var placementStrategy: [PlacementStrategy]
    public var healthCheckGracePeriod: Int
    /// Live deployments, newest first.
    public var deployments: [SnapshotDeployment]
    /// Its live tasks and those that stopped within the hour (the circuit breaker and crash-loop backoff count them).
    public var tasks: [SnapshotTask]
    /// Its target groups that exist, and their targets of its tasks.
    public var loadBalancers: [LoadBalancerBinding]
    public var targets: [RegisteredTarget]
    /// Its Cloud Map registries that exist, those that no longer do, and the instances its tasks hold in them.
    public var registries: [ServiceRegistryBinding]
    public var missingRegistries: [String]
    public var registryInstances: [RegisteredInstance]
    /// How its tasks are launched: copied onto each new task.
    public var launch: TaskLaunch?

    public init(name: String, status: String = "ACTIVE", desiredCount: Int, schedulingStrategy: String = "REPLICA",
                deploymentConfiguration: DeploymentConfiguration = DeploymentConfiguration(), placementConstraints: [PlacementConstraint] = [],
                placementStrategy: [PlacementStrategy] = [], healthCheckGracePeriod: Int = 0, deployments: [SnapshotDeployment],
                tasks: [SnapshotTask] = [], loadBalancers: [LoadBalancerBinding] = [], targets: [RegisteredTarget] = [],
                registries: [ServiceRegistryBinding] = [], missingRegistries: [String] = [], registryInstances: [RegisteredInstance] = [],
                launch: TaskLaunch? = nil) {
        self.name = name; self.status = status; self.desiredCount = desiredCount; self.schedulingStrategy = schedulingStrategy
        self.deploymentConfiguration = deploymentConfiguration; self.placementConstraints = placementConstraints
        self.placementStrategy = placementStrategy; self.healthCheckGracePeriod = healthCheckGracePeriod; self.deployments = deployments
        self.tasks = tasks; self.loadBalancers = loadBalancers; self.targets = targets; self.registries = registries
        self.missingRegistries = missingRegistries; self.registryInstances = registryInstances; self.launch = launch
    }

    public var daemon: Bool { schedulingStrategy == "DAEMON" }
    public var primary: SnapshotDeployment? { deployments.first { $0.status == "PRIMARY" } }

    /// Whether the reconciler could start a task at all: what decides if the pass needs the cluster's other tasks
    /// (placement's account of what each instance holds).
    public var mayStartTasks: Bool { status == "ACTIVE" && (primary.map { $0.rolloutState != "FAILED" } ?? false) }
}
