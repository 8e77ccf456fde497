import Foundation
import StowageModel
import StowageStore
import StowageUseCases

/// ECS cluster actions (the door): names, settings and configuration checked, the call authorized; what is stored
/// is the ClusterLifecycle use case's.
struct ClusterActions {
    static let includes: Set<String> = ["ATTACHMENTS", "CONFIGURATIONS", "SETTINGS", "STATISTICS", "TAGS"]

    static func model(_ r: ClusterRow, _ c: Caller, include: Set<String> = includes,
                      capacity: (providers: [String], strategy: [CapacityProviderStrategyItem]) = ([], [])) -> Cluster {
        var cluster = Cluster()
        cluster.clusterArn = c.backend.scope.cluster(c.account, r.name)
        cluster.clusterName = r.name
        cluster.status = r.status
        cluster.registeredContainerInstancesCount = r.registeredInstances
        cluster.runningTasksCount = r.runningTasks
        cluster.pendingTasksCount = r.pendingTasks
        cluster.activeServicesCount = r.activeServices
        cluster.capacityProviders = capacity.providers
        cluster.defaultCapacityProviderStrategy = capacity.strategy
        if include.contains("SETTINGS") { cluster.settings = r.settings }
        if include.contains("CONFIGURATIONS") { cluster.configuration = r.configuration }
        if include.contains("TAGS") { cluster.tags = r.tags }
        if include.contains("STATISTICS") { cluster.statistics = [] }
        return cluster
    }

    static func create(_ input: CreateClusterRequest, _ c: Caller) async throws -> ClusterResponse {
        let (name, arn) = try c.refs.cluster(input.clusterName)
        try Validate.tags(input.tags)
        try Validate.clusterSettings(input.settings)
        try Validate.clusterConfiguration(input.configuration)
        let providers = try input.capacityProviders?.map { reference throws(APIError) in try CapacityProviderActions.ownName(reference, c) }
        if providers != nil || input.defaultCapacityProviderStrategy != nil {
            try CapacityProviders.check(providers: providers ?? [], strategy: input.defaultCapacityProviderStrategy ?? [])
        }
        try await c.authorize([arn], requestTags: input.tags)
        let record = try await c.clusterLifecycle.create(name: name, settings: input.settings, configuration: input.configuration,
                                                         tags: input.tags ?? [], principal: try AccountSettingActions.principal(nil, c),
                                                         capacityProviders: providers, strategy: input.defaultCapacityProviderStrategy)
        return ClusterResponse(cluster: model(record, c, capacity: try await c.capacityProviders.ofCluster(name)))
    }

    struct EventsResponse: Codable, Sendable { var events: [ServiceEvent] }

    /// What the control plane decided about the cluster as a whole (mass silence, rate-limited host loss),
    /// newest first. ECS has no such list; a cluster-wide decision deserves one place to read it.
    static func events(cluster reference: String, _ c: Caller) async throws -> EventsResponse {
        let (name, arn) = try c.refs.cluster(reference)
        try await c.authorize([arn])
        return EventsResponse(events: try await c.clusterLifecycle.events(cluster: name))
    }

    static func describe(_ input: DescribeClustersRequest, _ c: Caller) async throws -> DescribeClustersResponse {
        let references = input.clusters ?? ["default"]
        guard references.count <= 100 else { throw APIError.invalidParameter("At most 100 clusters can be described at once.") }
        let include = Set(input.include ?? [])
        guard include.isSubset(of: includes) else {
            throw APIError.invalidParameter("include must name ATTACHMENTS, CONFIGURATIONS, SETTINGS, STATISTICS or TAGS.")
        }
        var wanted: [(name: String, arn: String)] = []
        var failures: [Failure] = []
        for reference in references {
            do { wanted.append(try c.refs.cluster(reference)) } catch {
                failures.append(Failure(arn: reference, reason: "MISSING"))
            }
        }
        try await c.authorize(wanted.map(\.arn))
        let records = try await c.clusterLifecycle.describe(names: wanted.map(\.name))
        let byName = Dictionary(records.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var clusters: [Cluster] = []
        for (name, arn) in wanted {
            if let record = byName[name] {
                clusters.append(model(record, c, include: include, capacity: try await c.capacityProviders.ofCluster(name)))
            } else {
                failures.append(Failure(arn: arn, reason: "MISSING"))
            }
        }
        return DescribeClustersResponse(clusters: clusters, failures: failures)
    }

    static func list(_ input: ListRequest, _ c: Caller) async throws -> ListClustersResponse {
        let limit = try Validate.maxResults(input.maxResults)
        let after = try PageToken.decode(input.nextToken)?.first
        try await c.authorize(["*"])
        let records = try await c.clusterLifecycle.list(after: after, limit: limit + 1)
        let page = records.prefix(limit)
        return ListClustersResponse(
            clusterArns: page.map { c.backend.scope.cluster(c.account, $0.name) },
            nextToken: records.count > limit ? page.last.map { PageToken.encode([$0.name]) } : nil)
    }

    static func update(_ input: UpdateClusterRequest, _ c: Caller) async throws -> ClusterResponse {
        try await update(input, c, settingsOnly: false)
    }

    static func update(_ input: UpdateClusterRequest, _ c: Caller, settingsOnly: Bool) async throws -> ClusterResponse {
        let (name, arn) = try c.refs.cluster(input.cluster)
        try Validate.clusterSettings(input.settings)
        try Validate.clusterConfiguration(input.configuration)
        try await c.authorize([arn])
        let record = try await c.clusterLifecycle.update(name: name, settings: input.settings, configuration: input.configuration)
        return ClusterResponse(cluster: model(record, c))
    }

    static func updateSettings(_ input: UpdateClusterSettingsRequest, _ c: Caller) async throws -> ClusterResponse {
        try await update(UpdateClusterRequest(cluster: input.cluster, settings: input.settings), c, settingsOnly: true)
    }

    /// Refuses a cluster that still holds anything: there is no cascade delete.
    static func delete(_ input: ClusterReferenceRequest, _ c: Caller) async throws -> ClusterResponse {
        let (name, arn) = try c.refs.cluster(input.cluster)
        try await c.authorize([arn])
        let record = try await c.clusterLifecycle.delete(name: name)
        return ClusterResponse(cluster: model(record, c))
    }
}

extension Caller {
    var clusterLifecycle: ClusterLifecycle {
        ClusterLifecycle(tenant: tenant, stores: ecsStores, accountSettings: accountSettings, quotas: backend.quotas)
    }
}
