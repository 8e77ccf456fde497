import Foundation

public struct NetworkBinding: Codable, Sendable, Equatable, Hashable {
    public var bindIP: String?
    public var containerPort: Int?
    public var hostPort: Int?
    public var `protocol`: String?
    public init(bindIP: String? = "0.0.0.0", containerPort: Int?, hostPort: Int?, protocol: String?) {
        self.bindIP = bindIP; self.containerPort = containerPort; self.hostPort = hostPort; self.protocol = `protocol`
    }
}

/// A container of a task as ECS describes it.
public struct Container: Codable, Sendable, Equatable {
    public var containerArn: String?
    public var taskArn: String?
    public var name: String?
    public var image: String?
    /// The digest the image resolved to (`sha256:…`), the same for every task of a deployment.
    public var imageDigest: String?
    public var runtimeId: String?
    public var lastStatus: String?
    public var exitCode: Int?
    public var reason: String?
    public var networkBindings: [NetworkBinding]?
    public var healthStatus: String?
    public var cpu: String?
    public var memory: String?
    public var memoryReservation: String?
    public var gpuIds: [String]?
    /// An awsvpc task's interface (attachment id, its address), which all its containers share; empty otherwise.
    public var networkInterfaces: [JSONValue]?
    /// Restarts in place under the container's restartPolicy (Stowage's addition; ECS shows it only in task metadata).
    public var restartCount: Int?
    public init(name: String?) { self.name = name }
}

public struct ContainerOverride: Codable, Sendable, Equatable {
    public var name: String?
    public var command: [String]?
    public var environment: [KeyValuePair]?
    public var cpu: Int?
    public var memory: Int?
    public var memoryReservation: Int?
    public init(name: String?) { self.name = name }
}

public struct TaskOverride: Codable, Sendable, Equatable {
    public var containerOverrides: [ContainerOverride]?
    public var cpu: String?
    public var memory: String?
    public var taskRoleArn: String?
    public var executionRoleArn: String?
    /// Always empty in responses (accelerator overrides are refused on input).
    public var inferenceAcceleratorOverrides: [JSONValue]?
    public init() {}
}

public struct PlacementStrategy: Codable, Sendable, Equatable, Hashable {
    public var type: String?
    public var field: String?
    public init(type: String?, field: String? = nil) { self.type = type; self.field = field }
}

public struct ECSTask: Codable, Sendable, Equatable {
    /// An awsvpc task's ENI attachment in DescribeTasks (`TaskNetwork.attachment`); empty otherwise.
    public var attachments: [JSONValue]?
    public var taskArn: String?
    public var clusterArn: String?
    public var taskDefinitionArn: String?
    public var containerInstanceArn: String?
    public var overrides: TaskOverride?
    public var lastStatus: String?
    public var desiredStatus: String?
    public var healthStatus: String?
    public var cpu: String?
    public var memory: String?
    public var containers: [Container]?
    public var startedBy: String?
    public var version: Int?
    public var stoppedReason: String?
    public var stopCode: String?
    public var connectivity: String?
    public var createdAt: Date?
    public var pullStartedAt: Date?
    public var pullStoppedAt: Date?
    public var startedAt: Date?
    public var stoppingAt: Date?
    public var stoppedAt: Date?
    public var executionStoppedAt: Date?
    public var group: String?
    public var launchType: String?
    public var capacityProviderName: String?
    public var platformVersion: String?
    public var platformFamily: String?
    public var availabilityZone: String?
    public var attributes: [Attribute]?
    public var tags: [Tag]?
    public init() {}
}

public struct RunTaskRequest: Codable, Sendable {
    public var cluster: String?
    public var taskDefinition: String
    public var count: Int?
    public var startedBy: String?
    public var group: String?
    public var overrides: TaskOverride?
    public var placementConstraints: [PlacementConstraint]?
    public var placementStrategy: [PlacementStrategy]?
    public var tags: [Tag]?
    public var clientToken: String?
    public var launchType: String?
    public var platformVersion: String?
    public var capacityProviderStrategy: [CapacityProviderStrategyItem]?
    public var networkConfiguration: NetworkConfiguration?
    public init(cluster: String?, taskDefinition: String, count: Int? = nil) {
        self.cluster = cluster; self.taskDefinition = taskDefinition; self.count = count
    }
}

public struct StartTaskRequest: Codable, Sendable {
    public var cluster: String?
    public var taskDefinition: String
    public var containerInstances: [String]
    public var overrides: TaskOverride?
    public var startedBy: String?
    public var group: String?
    public var tags: [Tag]?
}

public struct TasksResponse: Codable, Sendable {
    public var tasks: [ECSTask]
    public var failures: [Failure]
    public init(tasks: [ECSTask], failures: [Failure]) { self.tasks = tasks; self.failures = failures }
}

public struct StopTaskRequest: Codable, Sendable {
    public var cluster: String?
    public var task: String
    public var reason: String?
    public init(cluster: String?, task: String, reason: String? = nil) { self.cluster = cluster; self.task = task; self.reason = reason }
}

public struct TaskResponse: Codable, Sendable {
    public var task: ECSTask
    public init(task: ECSTask) { self.task = task }
}

public struct DescribeTasksRequest: Codable, Sendable {
    public var cluster: String?
    public var tasks: [String]
    public var include: [String]?
    public init(cluster: String?, tasks: [String]) { self.cluster = cluster; self.tasks = tasks }
}

public struct ListTasksRequest: Codable, Sendable {
    public var cluster: String?
    public var containerInstance: String?
    public var family: String?
    public var nextToken: String?
    public var maxResults: Int?
    public var startedBy: String?
    public var serviceName: String?
    public var desiredStatus: String?
    public var launchType: String?
    public init(cluster: String?) { self.cluster = cluster }
}

public struct ListTasksResponse: Codable, Sendable {
    public var taskArns: [String]
    public var nextToken: String?
    public init(taskArns: [String], nextToken: String?) { self.taskArns = taskArns; self.nextToken = nextToken }
}

public struct UpdateTaskProtectionRequest: Codable, Sendable {
    public var cluster: String
    public var tasks: [String]
    public var protectionEnabled: Bool
    public var expiresInMinutes: Int?
}

public struct GetTaskProtectionRequest: Codable, Sendable {
    public var cluster: String
    public var tasks: [String]?
}

public struct ProtectedTask: Codable, Sendable, Equatable {
    public var taskArn: String?
    public var protectionEnabled: Bool?
    public var expirationDate: Date?
    public init(taskArn: String, protectionEnabled: Bool, expirationDate: Date?) {
        self.taskArn = taskArn; self.protectionEnabled = protectionEnabled; self.expirationDate = expirationDate
    }
}

public struct TaskProtectionResponse: Codable, Sendable {
    public var protectedTasks: [ProtectedTask]
    public var failures: [Failure]
    public init(protectedTasks: [ProtectedTask], failures: [Failure]) { self.protectedTasks = protectedTasks; self.failures = failures }
}
