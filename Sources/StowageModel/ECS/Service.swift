import Foundation

public struct DeploymentCircuitBreaker: Codable, Sendable, Equatable, Hashable {
    public var enable: Bool
    public var rollback: Bool
    public init(enable: Bool, rollback: Bool) { self.enable = enable; self.rollback = rollback }
}

public struct DeploymentConfiguration: Codable, Sendable, Equatable, Hashable {
    public var deploymentCircuitBreaker: DeploymentCircuitBreaker?
    public var maximumPercent: Int?
    public var minimumHealthyPercent: Int?
    public init(maximumPercent: Int? = nil, minimumHealthyPercent: Int? = nil, circuitBreaker: DeploymentCircuitBreaker? = nil) {
        self.maximumPercent = maximumPercent; self.minimumHealthyPercent = minimumHealthyPercent
        self.deploymentCircuitBreaker = circuitBreaker
    }
}

public struct Deployment: Codable, Sendable, Equatable {
    public var id: String?
    public var status: String?
    public var taskDefinition: String?
    public var desiredCount: Int?
    public var pendingCount: Int?
    public var runningCount: Int?
    public var failedTasks: Int?
    public var createdAt: Date?
    public var updatedAt: Date?
    public var launchType: String?
    public var capacityProviderStrategy: [CapacityProviderStrategyItem]?
    public var platformVersion: String?
    public var platformFamily: String?
    public var networkConfiguration: NetworkConfiguration?
    public var rolloutState: String?
    public var rolloutStateReason: String?
    public init() {}
}

public struct ServiceEvent: Codable, Sendable, Equatable {
    public var id: String?
    public var createdAt: Date?
    public var message: String?
    public init(id: String?, createdAt: Date?, message: String?) { self.id = id; self.createdAt = createdAt; self.message = message }
}

public struct ECSService: Codable, Sendable, Equatable {
    public var serviceArn: String?
    public var serviceName: String?
    public var clusterArn: String?
    public var status: String?
    public var desiredCount: Int?
    public var runningCount: Int?
    public var pendingCount: Int?
    public var launchType: String?
    public var capacityProviderStrategy: [CapacityProviderStrategyItem]?
    public var platformVersion: String?
    public var platformFamily: String?
    public var networkConfiguration: NetworkConfiguration?
    public var taskDefinition: String?
    public var deploymentConfiguration: DeploymentConfiguration?
    public var deployments: [Deployment]?
    public var events: [ServiceEvent]?
    public var createdAt: Date?
    public var placementConstraints: [PlacementConstraint]?
    public var placementStrategy: [PlacementStrategy]?
    public var healthCheckGracePeriodSeconds: Int?
    public var schedulingStrategy: String?
    public var deploymentController: JSONValue?
    public var tags: [Tag]?
    public var createdBy: String?
    public var loadBalancers: [ServiceLoadBalancer]?
    public var serviceRegistries: [ServiceRegistry]?
    public init() {}
}

/// A service's Cloud Map registry: its tasks are registered there as instances (the task id) while they serve.
public struct ServiceRegistry: Codable, Sendable, Equatable, Hashable {
    public var registryArn: String?
    public var port: Int?
    public var containerName: String?
    public var containerPort: Int?
    public init(registryArn: String?, containerName: String?, containerPort: Int?) {
        self.registryArn = registryArn; self.containerName = containerName; self.containerPort = containerPort
    }
}

/// A service's target group: its tasks register there (the container's port on their host) once RUNNING.
public struct ServiceLoadBalancer: Codable, Sendable, Equatable, Hashable {
    public var targetGroupArn: String?
    public var loadBalancerName: String?
    public var containerName: String?
    public var containerPort: Int?
    public init(targetGroupArn: String?, containerName: String?, containerPort: Int?) {
        self.targetGroupArn = targetGroupArn; self.containerName = containerName; self.containerPort = containerPort
    }
}

public struct CreateServiceRequest: Codable, Sendable {
    public var cluster: String?
    public var serviceName: String
    public var taskDefinition: String?
    public var desiredCount: Int?
    public var clientToken: String?
    public var launchType: String?
    public var platformVersion: String?
    public var capacityProviderStrategy: [CapacityProviderStrategyItem]?
    public var networkConfiguration: NetworkConfiguration?
    public var deploymentConfiguration: DeploymentConfiguration?
    public var placementConstraints: [PlacementConstraint]?
    public var placementStrategy: [PlacementStrategy]?
    public var healthCheckGracePeriodSeconds: Int?
    public var schedulingStrategy: String?
    public var tags: [Tag]?
    public var loadBalancers: [ServiceLoadBalancer]?
    public var serviceRegistries: [ServiceRegistry]?
    public init(cluster: String?, serviceName: String, taskDefinition: String?, desiredCount: Int?) {
        self.cluster = cluster; self.serviceName = serviceName; self.taskDefinition = taskDefinition; self.desiredCount = desiredCount
    }
}

public struct UpdateServiceRequest: Codable, Sendable {
    public var cluster: String?
    public var service: String
    public var desiredCount: Int?
    public var taskDefinition: String?
    public var deploymentConfiguration: DeploymentConfiguration?
    public var placementConstraints: [PlacementConstraint]?
    public var placementStrategy: [PlacementStrategy]?
    public var forceNewDeployment: Bool?
    public var platformVersion: String?
    public var capacityProviderStrategy: [CapacityProviderStrategyItem]?
    public var networkConfiguration: NetworkConfiguration?
    public var healthCheckGracePeriodSeconds: Int?
    public var loadBalancers: [ServiceLoadBalancer]?
    public var serviceRegistries: [ServiceRegistry]?
    public init(cluster: String?, service: String) { self.cluster = cluster; self.service = service }
}

public struct ServiceResponse: Codable, Sendable {
    public var service: ECSService
    public init(service: ECSService) { self.service = service }
}

public struct DescribeServicesRequest: Codable, Sendable {
    public var cluster: String?
    public var services: [String]
    public var include: [String]?
    public init(cluster: String?, services: [String]) { self.cluster = cluster; self.services = services }
}

public struct DescribeServicesResponse: Codable, Sendable {
    public var services: [ECSService]
    public var failures: [Failure]
    public init(services: [ECSService], failures: [Failure]) { self.services = services; self.failures = failures }
}

public struct ListServicesRequest: Codable, Sendable {
    public var cluster: String?
    public var nextToken: String?
    public var maxResults: Int?
    public var launchType: String?
    public var schedulingStrategy: String?
    public init(cluster: String?) { self.cluster = cluster }
}

public struct ListServicesResponse: Codable, Sendable {
    public var serviceArns: [String]
    public var nextToken: String?
    public init(serviceArns: [String], nextToken: String?) { self.serviceArns = serviceArns; self.nextToken = nextToken }
}

public struct DeleteServiceRequest: Codable, Sendable {
    public var cluster: String?
    public var service: String
    public var force: Bool?
    public init(cluster: String?, service: String, force: Bool? = nil) { self.cluster = cluster; self.service = service; self.force = force }
}
