import Foundation

public struct AwsVpcConfiguration: Codable, Sendable, Equatable, Hashable {
    public var subnets: [String]?
    public var securityGroups: [String]?
    public var assignPublicIp: String?
    public init(subnets: [String]? = nil, securityGroups: [String]? = nil, assignPublicIp: String? = nil) {
        self.subnets = subnets; self.securityGroups = securityGroups; self.assignPublicIp = assignPublicIp
    }
}

public struct NetworkConfiguration: Codable, Sendable, Equatable, Hashable {
    public var awsvpcConfiguration: AwsVpcConfiguration?
    public init(awsvpcConfiguration: AwsVpcConfiguration?) { self.awsvpcConfiguration = awsvpcConfiguration }
}

public struct CapacityProviderStrategyItem: Codable, Sendable, Equatable, Hashable {
    public var capacityProvider: String
    public var weight: Int?
    public var base: Int?
    public init(capacityProvider: String, weight: Int? = nil, base: Int? = nil) {
        self.capacityProvider = capacityProvider; self.weight = weight; self.base = base
    }
}

/// How a task or service is launched, as stored with it (`launch` on tasks and services): the launch type or the
/// capacity provider strategy it was given (or its cluster's default), the Fargate platform version and the awsvpc
/// configuration honoured. On a task, `capacityProviderName` is the provider placement chose.
public struct TaskLaunch: Codable, Sendable, Equatable, Hashable {
    /// EC2, EXTERNAL or FARGATE; for a task launched by strategy, set when it is placed (FARGATE for the built-in
    /// providers, EC2 for the account's own).
    public var launchType: String?
    public var platformVersion: String?
    public var capacityProviderStrategy: [CapacityProviderStrategyItem]?
    public var networkConfiguration: NetworkConfiguration?
    public var capacityProviderName: String?
    public init(launchType: String? = nil, platformVersion: String? = nil, capacityProviderStrategy: [CapacityProviderStrategyItem]? = nil,
                networkConfiguration: NetworkConfiguration? = nil, capacityProviderName: String? = nil) {
        self.launchType = launchType; self.platformVersion = platformVersion; self.capacityProviderStrategy = capacityProviderStrategy
        self.networkConfiguration = networkConfiguration; self.capacityProviderName = capacityProviderName
    }

    /// The subnets the task may be placed in (nil: any).
    public var subnets: [String]? { networkConfiguration?.awsvpcConfiguration?.subnets }

    /// What DescribeTasks and DescribeServices show as the launch type: EC2 when nothing was asked.
    public var shownLaunchType: String? {
        if let launchType { return launchType }
        return (capacityProviderStrategy ?? []).isEmpty ? "EC2" : nil
    }
}

/// The rules of RunTask's, CreateService's and UpdateService's launch members, in ECS's words where ECS has them.
public enum LaunchRules {
    /// The built-in providers every cluster may use; their names are reserved.
    public static let fargateProviders: Set<String> = ["FARGATE", "FARGATE_SPOT"]
    public static let spotProvider = "FARGATE_SPOT"
    /// ECS's stoppedReason for a task whose Spot capacity was reclaimed (stopCode SpotInterruption).
    public static let spotInterruptedReason = "Your Spot Task was interrupted."

    /// The launch a request asks for, checked against the task definition it launches. `strategy` nil or empty and
    /// `launchType` nil means the caller uses the cluster's default strategy (resolved by the use case).
    public static func check(launchType: String?, platformVersion: String?, strategy: [CapacityProviderStrategyItem]?,
                             network: NetworkConfiguration?, definition: TaskDefinition) throws(APIError) -> TaskLaunch {
        let strategy = strategy ?? []
        if launchType != nil, !strategy.isEmpty {
            throw .invalidParameter("Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.")
        }
        if let launchType, !["EC2", "EXTERNAL", "FARGATE"].contains(launchType) {
            throw .invalidParameter("launchType \(launchType) is refused: Stowage launches EC2, EXTERNAL or FARGATE tasks.")
        }
        if !strategy.isEmpty { try checkStrategy(strategy) }
        let fargate = launchType == "FARGATE" || strategy.contains { fargateProviders.contains($0.capacityProvider) }
        if fargate, definition.compatibilities?.contains("FARGATE") != true {
            throw .invalidParameter("Task definition does not support launch_type FARGATE.")
        }
        var launch = TaskLaunch(launchType: launchType, capacityProviderStrategy: strategy.isEmpty ? nil : strategy)
        if let platformVersion {
            guard fargate else {
                throw .invalidParameter("The platform version must be null when specifying an EC2 launch type.")
            }
            guard let version = FargateRules.platformVersion(platformVersion) else {
                throw .invalidParameter("platformVersion \(platformVersion) is refused: Stowage's Fargate capacity is platform version \(FargateRules.platformVersion) (LATEST).")
            }
            launch.platformVersion = version
        } else if fargate {
            launch.platformVersion = FargateRules.platformVersion
        }
        launch.networkConfiguration = try checkNetwork(network, definition: definition)
        return launch
    }

    /// awsvpcConfiguration: only for awsvpc definitions, optional (a single host has no subnets); subnets become a
    /// placement filter; security groups and public addresses are refused rather than accepted and ignored.
    public static func checkNetwork(_ network: NetworkConfiguration?, definition: TaskDefinition) throws(APIError) -> NetworkConfiguration? {
        guard let vpc = network?.awsvpcConfiguration else { return nil }
        guard definition.networkMode == "awsvpc" else {
            throw .invalidParameter("Network Configuration is not valid for the given networkMode of this task definition.")
        }
        let subnets = vpc.subnets ?? []
        guard !subnets.isEmpty else { throw .invalidParameter("subnets can not be empty.") }
        guard subnets.count <= 16 else { throw .invalidParameter("subnets can have at most 16 items.") }
        for subnet in subnets where subnet.isEmpty || subnet.count > 255 {
            throw .invalidParameter("Invalid subnet id '\(subnet)'.")
        }
        guard Set(subnets).count == subnets.count else { throw .invalidParameter("subnets must not repeat a subnet.") }
        if !(vpc.securityGroups ?? []).isEmpty {
            throw .invalidParameter("networkConfiguration.awsvpcConfiguration.securityGroups is refused: Stowage does not filter task traffic by security group; omit securityGroups.")
        }
        switch vpc.assignPublicIp {
        case nil, "DISABLED": break
        case "ENABLED":
            throw .invalidParameter("networkConfiguration.awsvpcConfiguration.assignPublicIp ENABLED is refused: tasks get addresses on their instance's task subnet only.")
        case let other?: throw .invalidParameter("assignPublicIp must be ENABLED or DISABLED, got '\(other)'.")
        }
        return NetworkConfiguration(awsvpcConfiguration: AwsVpcConfiguration(subnets: subnets, assignPublicIp: vpc.assignPublicIp ?? "DISABLED"))
    }

    /// A capacity provider strategy's own rules (which providers the cluster has is the caller's to check).
    public static func checkStrategy(_ strategy: [CapacityProviderStrategyItem]) throws(APIError) {
        guard strategy.count <= 20 else { throw .invalidParameter("A capacity provider strategy can have at most 20 capacity providers.") }
        var seen = Set<String>()
        for item in strategy {
            guard !item.capacityProvider.isEmpty else { throw .invalidParameter("capacityProvider should not be empty.") }
            guard seen.insert(item.capacityProvider).inserted else {
                throw .invalidParameter("The capacity provider \(item.capacityProvider) is repeated in the strategy.")
            }
            if let base = item.base, !(0...100_000).contains(base) {
                throw .invalidParameter("The base value of capacity provider \(item.capacityProvider) must be between 0 and 100000.")
            }
            if let weight = item.weight, !(0...1000).contains(weight) {
                throw .invalidParameter("The weight value of capacity provider \(item.capacityProvider) must be between 0 and 1000.")
            }
        }
        guard strategy.filter({ ($0.base ?? 0) > 0 }).count <= 1 else {
            throw .invalidParameter("Only one capacity provider in a capacity provider strategy can have a base value greater than 0.")
        }
        let fargate = strategy.filter { fargateProviders.contains($0.capacityProvider) }.count
        guard fargate == 0 || fargate == strategy.count else {
            throw .invalidParameter("The specified capacity provider strategy cannot contain a mix of capacity providers using Auto Scaling groups and Fargate providers. Specify one or the other and try again.")
        }
    }
}

/// The launch members of a RunTask, CreateService or UpdateService request, checked once the definition is read.
public struct LaunchRequest: Sendable, Equatable {
    public var launchType: String?
    public var platformVersion: String?
    public var capacityProviderStrategy: [CapacityProviderStrategyItem]?
    public var networkConfiguration: NetworkConfiguration?
    public init(launchType: String? = nil, platformVersion: String? = nil, capacityProviderStrategy: [CapacityProviderStrategyItem]? = nil,
                networkConfiguration: NetworkConfiguration? = nil) {
        self.launchType = launchType; self.platformVersion = platformVersion; self.capacityProviderStrategy = capacityProviderStrategy
        self.networkConfiguration = networkConfiguration
    }

    /// Whether UpdateService asks to change any of it.
    public var isEmpty: Bool { self == LaunchRequest() }

    /// UpdateService: what is given replaces what the service has; the rest stays. The platform version is not carried
    /// over: the only one recorded is what a Fargate launch gets anyway, and a move off Fargate must not keep it.
    public func over(_ current: TaskLaunch?) -> LaunchRequest {
        let strategy = capacityProviderStrategy ?? current?.capacityProviderStrategy
        return LaunchRequest(launchType: strategy == nil ? (launchType ?? current?.launchType) : nil,
                             platformVersion: platformVersion, capacityProviderStrategy: strategy,
                             networkConfiguration: networkConfiguration ?? current?.networkConfiguration)
    }

    public func checked(_ definition: TaskDefinition) throws(APIError) -> TaskLaunch {
        try LaunchRules.check(launchType: launchType, platformVersion: platformVersion, strategy: capacityProviderStrategy,
                              network: networkConfiguration, definition: definition)
    }
}

public struct CapacityProvider: Codable, Sendable, Equatable {
    public var capacityProviderArn: String?
    public var name: String?
    public var cluster: String?
    public var status: String?
    /// FARGATE or FARGATE_SPOT for the built-in providers; nil for the account's own (instance groups).
    public var type: String?
    public var tags: [Tag]?
    public init(capacityProviderArn: String?, name: String?) { self.capacityProviderArn = capacityProviderArn; self.name = name }
}

public struct CreateCapacityProviderRequest: Codable, Sendable {
    public var name: String
    public var cluster: String?
    public var tags: [Tag]?
}

/// UpdateCapacityProvider changes only the Auto Scaling group or managed instances settings, both refused by name.
public struct UpdateCapacityProviderRequest: Codable, Sendable {
    public var name: String
    public var cluster: String?
}

public struct CapacityProviderResponse: Codable, Sendable {
    public var capacityProvider: CapacityProvider
    public init(capacityProvider: CapacityProvider) { self.capacityProvider = capacityProvider }
}

public struct DescribeCapacityProvidersRequest: Codable, Sendable {
    public var capacityProviders: [String]?
    public var cluster: String?
    public var include: [String]?
    public var maxResults: Int?
    public var nextToken: String?
}

public struct DescribeCapacityProvidersResponse: Codable, Sendable {
    public var capacityProviders: [CapacityProvider]
    public var failures: [Failure]
    public var nextToken: String?
    public init(capacityProviders: [CapacityProvider], failures: [Failure], nextToken: String?) {
        self.capacityProviders = capacityProviders; self.failures = failures; self.nextToken = nextToken
    }
}

public struct DeleteCapacityProviderRequest: Codable, Sendable {
    public var capacityProvider: String
    public var cluster: String?
}

public struct PutClusterCapacityProvidersRequest: Codable, Sendable {
    public var cluster: String
    public var capacityProviders: [String]
    public var defaultCapacityProviderStrategy: [CapacityProviderStrategyItem]
}

extension CreateCapacityProviderRequest: ShapeChecked { public static let shapeName = "CreateCapacityProviderRequest" }
extension UpdateCapacityProviderRequest: ShapeChecked { public static let shapeName = "UpdateCapacityProviderRequest" }
extension PutClusterCapacityProvidersRequest: ShapeChecked { public static let shapeName = "PutClusterCapacityProvidersRequest" }
