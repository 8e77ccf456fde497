import Foundation

/// A quantity an instance offers (CPU, MEMORY, PORTS, PORTS_UDP, GPU), in ECS's tagged-union shape.
public struct Resource: Codable, Sendable, Equatable, Hashable {
    public var name: String?
    public var type: String?
    public var doubleValue: Double?
    public var longValue: Int64?
    public var integerValue: Int?
    public var stringSetValue: [String]?
    public init(name: String, integer: Int) { self.name = name; self.type = "INTEGER"; self.integerValue = integer }
    public init(name: String, stringSet: [String]) { self.name = name; self.type = "STRINGSET"; self.stringSetValue = stringSet }
}

public struct VersionInfo: Codable, Sendable, Equatable, Hashable {
    public var agentVersion: String?
    public var agentHash: String?
    public var dockerVersion: String?
    public init(agentVersion: String? = nil, agentHash: String? = nil, dockerVersion: String? = nil) {
        self.agentVersion = agentVersion; self.agentHash = agentHash; self.dockerVersion = dockerVersion
    }
}

public struct ContainerInstance: Codable, Sendable, Equatable {
    public var containerInstanceArn: String?
    public var ec2InstanceId: String?
    public var version: Int?
    public var versionInfo: VersionInfo?
    public var remainingResources: [Resource]?
    public var registeredResources: [Resource]?
    public var status: String?
    public var statusReason: String?
    public var agentConnected: Bool?
    public var runningTasksCount: Int?
    public var pendingTasksCount: Int?
    public var attributes: [Attribute]?
    public var registeredAt: Date?
    public var tags: [Tag]?
    /// Always empty: instances have no elastic network interfaces attached.
    public var attachments: [JSONValue]?
    public init() {}
}

public struct RegisterContainerInstanceRequest: Codable, Sendable {
    public var cluster: String?
    public var instanceIdentityDocument: String?
    public var instanceIdentityDocumentSignature: String?
    public var totalResources: [Resource]?
    public var versionInfo: VersionInfo?
    public var containerInstanceArn: String?
    public var attributes: [Attribute]?
    public var tags: [Tag]?
    public init(cluster: String? = nil, totalResources: [Resource]? = nil, attributes: [Attribute]? = nil) {
        self.cluster = cluster; self.totalResources = totalResources; self.attributes = attributes
    }
}

public struct ContainerInstanceResponse: Codable, Sendable {
    public var containerInstance: ContainerInstance
    /// Stowage's own member of RegisterContainerInstance's answer (botocore ignores it): the instance's credential,
    /// which its agent signs every later call with.
    public var instanceCredentials: AgentProtocol.InstanceCredentials?
    public init(containerInstance: ContainerInstance, instanceCredentials: AgentProtocol.InstanceCredentials? = nil) {
        self.containerInstance = containerInstance
        self.instanceCredentials = instanceCredentials
    }
}

public struct DescribeContainerInstancesRequest: Codable, Sendable {
    public var cluster: String?
    public var containerInstances: [String]
    public var include: [String]?
    public init(cluster: String?, containerInstances: [String]) { self.cluster = cluster; self.containerInstances = containerInstances }
}

public struct DescribeContainerInstancesResponse: Codable, Sendable {
    public var containerInstances: [ContainerInstance]
    public var failures: [Failure]
    public init(containerInstances: [ContainerInstance], failures: [Failure]) {
        self.containerInstances = containerInstances; self.failures = failures
    }
}

public struct ListContainerInstancesRequest: Codable, Sendable {
    public var cluster: String?
    public var filter: String?
    public var nextToken: String?
    public var maxResults: Int?
    public var status: String?
    public init(cluster: String?, status: String? = nil, nextToken: String? = nil, maxResults: Int? = nil) {
        self.cluster = cluster; self.status = status; self.nextToken = nextToken; self.maxResults = maxResults
    }
}

public struct ListContainerInstancesResponse: Codable, Sendable {
    public var containerInstanceArns: [String]
    public var nextToken: String?
    public init(containerInstanceArns: [String], nextToken: String?) {
        self.containerInstanceArns = containerInstanceArns; self.nextToken = nextToken
    }
}

public struct DeregisterContainerInstanceRequest: Codable, Sendable {
    public var cluster: String?
    public var containerInstance: String
    public var force: Bool?
    public init(cluster: String?, containerInstance: String, force: Bool? = nil) {
        self.cluster = cluster; self.containerInstance = containerInstance; self.force = force
    }
}

public struct UpdateContainerInstancesStateRequest: Codable, Sendable {
    public var cluster: String?
    public var containerInstances: [String]
    public var status: String
    public init(cluster: String?, containerInstances: [String], status: String) {
        self.cluster = cluster; self.containerInstances = containerInstances; self.status = status
    }
}

public struct AttributesRequest: Codable, Sendable {
    public var cluster: String?
    public var attributes: [Attribute]
    public init(cluster: String?, attributes: [Attribute]) { self.cluster = cluster; self.attributes = attributes }
}

public struct AttributesResponse: Codable, Sendable {
    public var attributes: [Attribute]
    public var nextToken: String?
    public init(attributes: [Attribute], nextToken: String? = nil) { self.attributes = attributes; self.nextToken = nextToken }
}

public struct ListAttributesRequest: Codable, Sendable {
    public var cluster: String?
    public var targetType: String
    public var attributeName: String?
    public var attributeValue: String?
    public var nextToken: String?
    public var maxResults: Int?
    public init(cluster: String?, targetType: String, attributeName: String? = nil, attributeValue: String? = nil) {
        self.cluster = cluster; self.targetType = targetType; self.attributeName = attributeName
        self.attributeValue = attributeValue
    }
}
