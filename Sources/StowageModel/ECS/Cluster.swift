import Foundation

public struct ClusterSetting: Codable, Sendable, Equatable, Hashable {
    public var name: String?
    public var value: String?
    public init(name: String, value: String) { self.name = name; self.value = value }
}

public struct Cluster: Codable, Sendable, Equatable {
    public var clusterArn: String?
    public var clusterName: String?
    public var configuration: JSONValue?
    public var status: String?
    public var registeredContainerInstancesCount: Int?
    public var runningTasksCount: Int?
    public var pendingTasksCount: Int?
    public var activeServicesCount: Int?
    public var statistics: [KeyValuePair]?
    public var tags: [Tag]?
    public var settings: [ClusterSetting]?
    public var capacityProviders: [String]?
    public var defaultCapacityProviderStrategy: [CapacityProviderStrategyItem]?
    public init() {}
}

public struct CreateClusterRequest: Codable, Sendable {
    public var clusterName: String?
    public var tags: [Tag]?
    public var settings: [ClusterSetting]?
    public var configuration: JSONValue?
    public var capacityProviders: [String]?
    public var defaultCapacityProviderStrategy: [CapacityProviderStrategyItem]?
    public init(clusterName: String? = nil, tags: [Tag]? = nil, settings: [ClusterSetting]? = nil) {
        self.clusterName = clusterName; self.tags = tags; self.settings = settings
    }
}

public struct ClusterResponse: Codable, Sendable {
    public var cluster: Cluster
    public init(cluster: Cluster) { self.cluster = cluster }
}

public struct DescribeClustersRequest: Codable, Sendable {
    public var clusters: [String]?
    public var include: [String]?
    public init(clusters: [String]? = nil, include: [String]? = nil) { self.clusters = clusters; self.include = include }
}

public struct DescribeClustersResponse: Codable, Sendable {
    public var clusters: [Cluster]
    public var failures: [Failure]
    public init(clusters: [Cluster], failures: [Failure]) { self.clusters = clusters; self.failures = failures }
}

public struct ListRequest: Codable, Sendable {
    public var nextToken: String?
    public var maxResults: Int?
    public init(nextToken: String? = nil, maxResults: Int? = nil) { self.nextToken = nextToken; self.maxResults = maxResults }
}

public struct ListClustersResponse: Codable, Sendable {
    public var clusterArns: [String]
    public var nextToken: String?
    public init(clusterArns: [String], nextToken: String?) { self.clusterArns = clusterArns; self.nextToken = nextToken }
}

public struct UpdateClusterRequest: Codable, Sendable {
    public var cluster: String
    public var settings: [ClusterSetting]?
    public var configuration: JSONValue?
    public init(cluster: String, settings: [ClusterSetting]? = nil, configuration: JSONValue? = nil) {
        self.cluster = cluster; self.settings = settings; self.configuration = configuration
    }
}

public struct UpdateClusterSettingsRequest: Codable, Sendable {
    public var cluster: String
    public var settings: [ClusterSetting]
}

public struct ClusterReferenceRequest: Codable, Sendable {
    public var cluster: String
    public init(cluster: String) { self.cluster = cluster }
}
