import Foundation

public struct PortMapping: Codable, Sendable, Equatable, Hashable {
    public var containerPort: Int?
    public var hostPort: Int?
    public var `protocol`: String?
    public var name: String?
    public var appProtocol: String?
    public init(containerPort: Int?, hostPort: Int? = nil, protocol: String? = nil) {
        self.containerPort = containerPort; self.hostPort = hostPort; self.protocol = `protocol`
    }
}

public struct HealthCheck: Codable, Sendable, Equatable, Hashable {
    public var command: [String]
    public var interval: Int?
    public var timeout: Int?
    public var retries: Int?
    public var startPeriod: Int?
    public init(command: [String], interval: Int? = nil, timeout: Int? = nil, retries: Int? = nil, startPeriod: Int? = nil) {
        self.command = command; self.interval = interval; self.timeout = timeout; self.retries = retries
        self.startPeriod = startPeriod
    }
}

/// A value a container gets from Parameter Store or Secrets Manager at start (an environment variable, or a
/// log driver option), read with the task's execution role.
public struct Secret: Codable, Sendable, Equatable, Hashable {
    public var name: String
    public var valueFrom: String
    public init(name: String, valueFrom: String) { self.name = name; self.valueFrom = valueFrom }
}

/// The Secrets Manager secret holding a private registry's `{"username": …, "password": …}`.
public struct RepositoryCredentials: Codable, Sendable, Equatable, Hashable {
    public var credentialsParameter: String
    public init(credentialsParameter: String) { self.credentialsParameter = credentialsParameter }
}

public struct LogConfiguration: Codable, Sendable, Equatable, Hashable {
    public var logDriver: String
    public var options: [String: String]?
    public var secretOptions: [Secret]?
    public init(logDriver: String, options: [String: String]? = nil) { self.logDriver = logDriver; self.options = options }
}

public struct ContainerDependency: Codable, Sendable, Equatable, Hashable {
    public var containerName: String
    public var condition: String
    public init(containerName: String, condition: String) { self.containerName = containerName; self.condition = condition }
}

public struct MountPoint: Codable, Sendable, Equatable, Hashable {
    public var sourceVolume: String?
    public var containerPath: String?
    public var readOnly: Bool?
    public init(sourceVolume: String? = nil, containerPath: String? = nil, readOnly: Bool? = nil) {
        self.sourceVolume = sourceVolume; self.containerPath = containerPath; self.readOnly = readOnly
    }
}

public struct Ulimit: Codable, Sendable, Equatable, Hashable {
    public var name: String
    public var softLimit: Int
    public var hardLimit: Int
    public init(name: String, softLimit: Int, hardLimit: Int) { self.name = name; self.softLimit = softLimit; self.hardLimit = hardLimit }
}

public struct VolumeFrom: Codable, Sendable, Equatable, Hashable {
    public var sourceContainer: String?
    public var readOnly: Bool?
    public init(sourceContainer: String?, readOnly: Bool? = nil) { self.sourceContainer = sourceContainer; self.readOnly = readOnly }
}

public struct HostEntry: Codable, Sendable, Equatable, Hashable {
    public var hostname: String?
    public var ipAddress: String?
    public init(hostname: String?, ipAddress: String?) { self.hostname = hostname; self.ipAddress = ipAddress }
}

public struct SystemControl: Codable, Sendable, Equatable, Hashable {
    public var namespace: String?
    public var value: String?
    public init(namespace: String?, value: String?) { self.namespace = namespace; self.value = value }
}

public struct KernelCapabilities: Codable, Sendable, Equatable, Hashable {
    public var add: [String]?
    public var drop: [String]?
    public init(add: [String]? = nil, drop: [String]? = nil) { self.add = add; self.drop = drop }
}

public struct Device: Codable, Sendable, Equatable, Hashable {
    public var hostPath: String?
    public var containerPath: String?
    public var permissions: [String]?
    public init(hostPath: String?, containerPath: String? = nil, permissions: [String]? = nil) {
        self.hostPath = hostPath; self.containerPath = containerPath; self.permissions = permissions
    }
}

public struct Tmpfs: Codable, Sendable, Equatable, Hashable {
    public var containerPath: String?
    public var size: Int?
    public var mountOptions: [String]?
    public init(containerPath: String?, size: Int?, mountOptions: [String]? = nil) {
        self.containerPath = containerPath; self.size = size; self.mountOptions = mountOptions
    }
}

/// ECS's `linuxParameters`: the kernel-facing settings the engine applies to a container.
public struct LinuxParameters: Codable, Sendable, Equatable, Hashable {
    public var capabilities: KernelCapabilities?
    public var devices: [Device]?
    public var initProcessEnabled: Bool?
    public var sharedMemorySize: Int?
    public var tmpfs: [Tmpfs]?
    public var maxSwap: Int?
    public var swappiness: Int?
    public init() {}
}

/// ECS's restart policy (2024): the agent restarts an exited container in place instead of replacing the task.
public struct ContainerRestartPolicy: Codable, Sendable, Equatable, Hashable {
    public var enabled: Bool?
    public var ignoredExitCodes: [Int]?
    public var restartAttemptPeriod: Int?
    public init(enabled: Bool?, ignoredExitCodes: [Int]? = nil, restartAttemptPeriod: Int? = nil) {
        self.enabled = enabled; self.ignoredExitCodes = ignoredExitCodes; self.restartAttemptPeriod = restartAttemptPeriod
    }
}

public struct ResourceRequirement: Codable, Sendable, Equatable, Hashable {
    public var value: String
    public var type: String
}

public struct ContainerDefinition: Codable, Sendable, Equatable {
    public var name: String?
    public var image: String?
    public var cpu: Int?
    public var memory: Int?
    public var memoryReservation: Int?
    public var links: [String]?
    public var portMappings: [PortMapping]?
    public var essential: Bool?
    public var entryPoint: [String]?
    public var command: [String]?
    public var environment: [KeyValuePair]?
    public var mountPoints: [MountPoint]?
    public var volumesFrom: [VolumeFrom]?
    public var secrets: [Secret]?
    public var repositoryCredentials: RepositoryCredentials?
    public var dependsOn: [ContainerDependency]?
    public var startTimeout: Int?
    public var stopTimeout: Int?
    public var hostname: String?
    public var user: String?
    public var workingDirectory: String?
    public var disableNetworking: Bool?
    public var privileged: Bool?
    public var readonlyRootFilesystem: Bool?
    public var dnsServers: [String]?
    public var dnsSearchDomains: [String]?
    public var extraHosts: [HostEntry]?
    public var dockerSecurityOptions: [String]?
    public var interactive: Bool?
    public var pseudoTerminal: Bool?
    public var systemControls: [SystemControl]?
    public var restartPolicy: ContainerRestartPolicy?
    public var versionConsistency: String?
    public var dockerLabels: [String: String]?
    public var ulimits: [Ulimit]?
    public var logConfiguration: LogConfiguration?
    public var healthCheck: HealthCheck?
    public var resourceRequirements: [ResourceRequirement]?
    public var linuxParameters: LinuxParameters?
    public init(name: String?, image: String?) { self.name = name; self.image = image }
}

public struct HostVolumeProperties: Codable, Sendable, Equatable, Hashable {
    public var sourcePath: String?
    public init(sourcePath: String?) { self.sourcePath = sourcePath }
}

/// A Docker volume the agent makes (or finds) for the task: scope `task` lives and dies with the task,
/// `shared` outlives it and is reused by name.
public struct DockerVolumeConfiguration: Codable, Sendable, Equatable, Hashable {
    public var scope: String?
    public var autoprovision: Bool?
    public var driver: String?
    public var driverOpts: [String: String]?
    public var labels: [String: String]?
    public init(scope: String? = nil, autoprovision: Bool? = nil, driver: String? = nil, driverOpts: [String: String]? = nil) {
        self.scope = scope; self.autoprovision = autoprovision; self.driver = driver; self.driverOpts = driverOpts
    }
}

public struct Volume: Codable, Sendable, Equatable {
    public var name: String?
    public var host: HostVolumeProperties?
    public var dockerVolumeConfiguration: DockerVolumeConfiguration?
    public init(name: String?, host: HostVolumeProperties? = nil, dockerVolumeConfiguration: DockerVolumeConfiguration? = nil) {
        self.name = name; self.host = host; self.dockerVolumeConfiguration = dockerVolumeConfiguration
    }
}

public struct PlacementConstraint: Codable, Sendable, Equatable, Hashable {
    public var type: String?
    public var expression: String?
    public init(type: String?, expression: String? = nil) { self.type = type; self.expression = expression }
}

public struct TaskDefinition: Codable, Sendable, Equatable {
    public var taskDefinitionArn: String?
    public var containerDefinitions: [ContainerDefinition]?
    public var family: String?
    public var taskRoleArn: String?
    public var executionRoleArn: String?
    public var networkMode: String?
    public var revision: Int?
    public var volumes: [Volume]?
    public var status: String?
    public var requiresAttributes: [Attribute]?
    public var placementConstraints: [PlacementConstraint]?
    public var compatibilities: [String]?
    public var requiresCompatibilities: [String]?
    public var cpu: String?
    public var memory: String?
    public var pidMode: String?
    public var ipcMode: String?
    public var runtimePlatform: RuntimePlatform?
    public var registeredAt: Date?
    public var deregisteredAt: Date?
    public var registeredBy: String?
    public init() {}
}

public struct RegisterTaskDefinitionRequest: Codable, Sendable {
    public var family: String?
    public var taskRoleArn: String?
    public var executionRoleArn: String?
    public var networkMode: String?
    public var containerDefinitions: [ContainerDefinition]?
    public var volumes: [Volume]?
    public var placementConstraints: [PlacementConstraint]?
    public var requiresCompatibilities: [String]?
    public var cpu: String?
    public var memory: String?
    public var tags: [Tag]?
    public var pidMode: String?
    public var ipcMode: String?
    public var runtimePlatform: RuntimePlatform?
    public init(family: String?, containerDefinitions: [ContainerDefinition]?) {
        self.family = family; self.containerDefinitions = containerDefinitions
    }
}

public struct TaskDefinitionResponse: Codable, Sendable {
    public var taskDefinition: TaskDefinition
    public var tags: [Tag]?
    public init(taskDefinition: TaskDefinition, tags: [Tag]? = nil) { self.taskDefinition = taskDefinition; self.tags = tags }
}

public struct DescribeTaskDefinitionRequest: Codable, Sendable {
    public var taskDefinition: String
    public var include: [String]?
    public init(taskDefinition: String, include: [String]? = nil) { self.taskDefinition = taskDefinition; self.include = include }
}

public struct DeregisterTaskDefinitionRequest: Codable, Sendable {
    public var taskDefinition: String
    public init(taskDefinition: String) { self.taskDefinition = taskDefinition }
}

public struct ListTaskDefinitionsRequest: Codable, Sendable {
    public var familyPrefix: String?
    public var status: String?
    public var sort: String?
    public var nextToken: String?
    public var maxResults: Int?
    public init(familyPrefix: String? = nil, status: String? = nil, sort: String? = nil, nextToken: String? = nil, maxResults: Int? = nil) {
        self.familyPrefix = familyPrefix; self.status = status; self.sort = sort; self.nextToken = nextToken
        self.maxResults = maxResults
    }
}

public struct ListTaskDefinitionsResponse: Codable, Sendable {
    public var taskDefinitionArns: [String]
    public var nextToken: String?
    public init(taskDefinitionArns: [String], nextToken: String?) { self.taskDefinitionArns = taskDefinitionArns; self.nextToken = nextToken }
}

public struct ListTaskDefinitionFamiliesResponse: Codable, Sendable {
    public var families: [String]
    public var nextToken: String?
    public init(families: [String], nextToken: String?) { self.families = families; self.nextToken = nextToken }
}

public struct DeleteTaskDefinitionsRequest: Codable, Sendable {
    public var taskDefinitions: [String]
    public init(taskDefinitions: [String]) { self.taskDefinitions = taskDefinitions }
}

public struct DeleteTaskDefinitionsResponse: Codable, Sendable {
    public var taskDefinitions: [TaskDefinition]
    public var failures: [Failure]
    public init(taskDefinitions: [TaskDefinition], failures: [Failure]) { self.taskDefinitions = taskDefinitions; self.failures = failures }
}
