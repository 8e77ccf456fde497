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

public struct LogConfiguration: Codable, Sendable, Equatable, Hashable {
    public var logDriver: String
    public var options: [String: String]?
    public var secretOptions: [JSONValue]?
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
    public var volumesFrom: [JSONValue]?
    public var secrets: [JSONValue]?
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
    public var dockerLabels: [String: String]?
    public var ulimits: [Ulimit]?
    public var logConfiguration: LogConfiguration?
    public var healthCheck: HealthCheck?
    public var resourceRequirements: [ResourceRequirement]?
    public var linuxParameters: JSONValue?
    public init(name: String?, image: String?) { self.name = name; self.image = image }
}

public struct HostVolumeProperties: Codable, Sendable, Equatable, Hashable {
    public var sourcePath: String?
}

public struct Volume: Codable, Sendable, Equatable {
    public var name: String?
    public var host: HostVolumeProperties?
    public var dockerVolumeConfiguration: JSONValue?
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
    public var runtimePlatform: JSONValue?
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
    public var runtimePlatform: JSONValue?
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
