import Foundation
import StowageModel
import StowageStore
import StowageUseCases

/// ECS capacity provider actions: FARGATE and FARGATE_SPOT are built in; an account's own providers are Stowage's
/// instance groups (the instances whose `stowage.capacity-provider` attribute is the name).
struct CapacityProviderActions {
    static func arn(_ name: String, _ c: Caller) -> String { c.backend.scope.ecs(c.account, "capacity-provider/\(name)") }

    static func model(builtIn name: String, _ c: Caller) -> CapacityProvider {
        var m = CapacityProvider(capacityProviderArn: arn(name, c), name: name)
        m.status = "ACTIVE"
        m.type = name
        return m
    }

    static func model(_ row: CapacityProviderRow, _ c: Caller, includeTags: Bool = true) -> CapacityProvider {
        var m = CapacityProvider(capacityProviderArn: arn(row.name, c), name: row.name)
        m.status = "ACTIVE"
        m.cluster = row.cluster
        if includeTags { m.tags = row.tags }
        return m
    }

    /// A provider as a request names it: its name, or its ARN.
    static func name(_ reference: String) -> String {
        guard reference.hasPrefix("arn:"), let slash = reference.range(of: ":capacity-provider/") else { return reference }
        return String(reference[slash.upperBound...])
    }

    /// A provider a cluster is to use, as a name of the caller's own: an ARN of another account (or region) is refused,
    /// never read as the caller's provider of the same name.
    static func ownName(_ reference: String, _ c: Caller) throws(APIError) -> String {
        let short = name(reference)
        guard !reference.hasPrefix("arn:") || reference == arn(short, c) else {
            throw .invalidParameter("The capacity provider \(reference) is not one of this account's: give its name or this account's ARN.")
        }
        return short
    }

    /// What authorization sees: an ARN as given (another account's is refused there), a name as this account's.
    static func resource(_ reference: String, _ c: Caller) -> String {
        reference.hasPrefix("arn:") ? reference : arn(reference, c)
    }

    static func create(_ input: CreateCapacityProviderRequest, _ c: Caller) async throws -> CapacityProviderResponse {
        try CapacityProviders.checkName(input.name)
        try Validate.tags(input.tags)
        let cluster = try input.cluster.map { try c.refs.cluster($0).name }
        try await c.authorize([arn(input.name, c)], requestTags: input.tags)
        let row = try await c.capacityProviders.create(name: input.name, cluster: cluster, tags: input.tags ?? [])
        return CapacityProviderResponse(capacityProvider: model(row, c))
    }

    /// The only members UpdateCapacityProvider changes (Auto Scaling group and managed instances settings) are refused
    /// by name, so an update that passes changes nothing: the provider is answered as it is.
    static func update(_ input: UpdateCapacityProviderRequest, _ c: Caller) async throws -> CapacityProviderResponse {
        try await c.authorize([resource(input.name, c)])
        let provider = name(input.name)
        if LaunchRules.fargateProviders.contains(provider) { return CapacityProviderResponse(capacityProvider: model(builtIn: provider, c)) }
        guard let row = try await c.capacityProviders.describe(names: [provider]).first else { throw CapacityProviders.notFound(provider) }
        return CapacityProviderResponse(capacityProvider: model(row, c))
    }

    static func describe(_ input: DescribeCapacityProvidersRequest, _ c: Caller) async throws -> DescribeCapacityProvidersResponse {
        let limit = try Validate.maxResults(input.maxResults)
        let include = Set(input.include ?? [])
        guard include.isSubset(of: ["TAGS"]) else { throw APIError.invalidParameter("include must be TAGS.") }
        let after = try PageToken.decode(input.nextToken)?.first ?? ""
        let asked = input.capacityProviders.map { $0.map(name) }
        if let asked, asked.count > 100 { throw APIError.invalidParameter("At most 100 capacity providers can be described at once.") }
        try await c.authorize(input.capacityProviders?.map { resource($0, c) } ?? ["*"])
        // `cluster`: the providers made for that cluster (CreateCapacityProvider's `cluster`); the built-in ones belong to none.
        let cluster = try input.cluster.map { try c.refs.cluster($0).name }
        let own = try await c.capacityProviders.describe(names: asked).filter { cluster == nil || $0.cluster == cluster }
        var all: [(String, CapacityProvider)] = cluster != nil ? [] : LaunchRules.fargateProviders.sorted().map { ($0, model(builtIn: $0, c)) }
        all += own.map { ($0.name, model($0, c, includeTags: include.contains("TAGS"))) }
        var failures: [Failure] = []
        if let asked {
            let known = Set(all.map(\.0))
            failures = asked.filter { !known.contains($0) }.map { Failure(arn: arn($0, c), reason: "MISSING") }
            all = all.filter { asked.contains($0.0) }
        }
        let page = all.sorted { $0.0 < $1.0 }.filter { $0.0 > after }
        let shown = page.prefix(limit)
        return DescribeCapacityProvidersResponse(capacityProviders: shown.map(\.1), failures: failures,
                                                 nextToken: page.count > limit ? shown.last.map { PageToken.encode([$0.0]) } : nil)
    }

    static func delete(_ input: DeleteCapacityProviderRequest, _ c: Caller) async throws -> CapacityProviderResponse {
        let provider = name(input.capacityProvider)
        if LaunchRules.fargateProviders.contains(provider) {
            throw APIError.invalidParameter("The \(provider) capacity provider is built in and cannot be deleted.")
        }
        try await c.authorize([resource(input.capacityProvider, c)])
        let cluster = try input.cluster.map { try c.refs.cluster($0).name }
        var m = model(try await c.capacityProviders.delete(name: provider, cluster: cluster), c)
        m.status = "INACTIVE"
        return CapacityProviderResponse(capacityProvider: m)
    }

    static func putCluster(_ input: PutClusterCapacityProvidersRequest, _ c: Caller) async throws -> ClusterResponse {
        let (cluster, clusterArn) = try c.refs.cluster(input.cluster)
        let providers = try input.capacityProviders.map { reference throws(APIError) in try ownName(reference, c) }
        try CapacityProviders.check(providers: providers, strategy: input.defaultCapacityProviderStrategy)
        try await c.authorize([clusterArn])
        try await c.capacityProviders.put(cluster: cluster, providers: providers, strategy: input.defaultCapacityProviderStrategy)
        guard let shown = try await ClusterActions.describe(DescribeClustersRequest(clusters: [cluster]), c).clusters.first else {
            throw APIError.clusterNotFound("Cluster not found: \(cluster).")
        }
        return ClusterResponse(cluster: shown)
    }
}

extension Caller {
    var capacityProviders: CapacityProviders { CapacityProviders(tenant: tenant, stores: ecsStores) }
}
