import Foundation
import PostgresNIO
import StowageModel
import StowageStore

/// Capacity providers: FARGATE and FARGATE_SPOT built in, and the account's own (Stowage's instance groups: the
/// instances whose `stowage.capacity-provider` attribute is the provider's name); which ones a cluster uses and its
/// default strategy; and how a launch's strategy is resolved against them.
public struct CapacityProviders: Sendable {
    let tenant: TenantContext
    let stores: ECSStores
    let store: CapacityProviderStore

    public init(tenant: TenantContext, stores: ECSStores) {
        self.tenant = tenant; self.stores = stores; self.store = CapacityProviderStore(logger: tenant.logger)
    }

    var account: String { tenant.account }

    static let notAssociated = "The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again."

    public static func notFound(_ name: String) -> APIError {
        APIError.invalidParameter("The specified capacity provider does not exist: \(name).")
    }

    /// The launch a request gets, inside the caller's transaction: its own members checked against the definition,
    /// or, when it names neither a launch type nor a strategy, the cluster's default strategy (as ECS copies it onto
    /// the service or task); every provider of the strategy must be one the cluster uses.
    func resolve(_ conn: PostgresConnection, cluster: String, _ request: LaunchRequest, definition: TaskDefinition) async throws -> TaskLaunch {
        var asked = request
        let own = try await store.ofCluster(conn, account: account, cluster: cluster) ?? (providers: [], strategy: [])
        if asked.launchType == nil, (asked.capacityProviderStrategy ?? []).isEmpty, !own.strategy.isEmpty {
            asked.capacityProviderStrategy = own.strategy
        }
        let launch = try asked.checked(definition)
        for item in launch.capacityProviderStrategy ?? [] where !own.providers.contains(item.capacityProvider) {
            throw APIError.invalidParameter(Self.notAssociated)
        }
        return launch
    }

    /// FARGATE_SPOT capacity set to DRAINING is reclaimed, as Spot capacity is: its tasks stop at once in ECS's words
    /// (the agent sends SIGTERM and waits each container's stopTimeout), and their services replace them per their
    /// strategies (the capacity change reconciles every service of the cluster) on the capacity that remains.
    func interruptSpot(_ conn: PostgresConnection, cluster: String, instances: [ContainerInstanceRow]) async throws {
        let spot = instances.filter { row in
            row.attributes.contains { $0.name == AgentProtocol.capacityProviderAttribute && $0.value == LaunchRules.spotProvider }
        }
        for instance in spot {
            let ids = try await stores.tasks.live(conn, account: account, cluster: cluster, instance: instance.id)
                .filter { $0.desiredStatus == "RUNNING" }.map(\.id)
            guard !ids.isEmpty else { continue }
            try await stores.tasks.stop(conn, account: account, cluster: cluster, ids: ids, reason: LaunchRules.spotInterruptedReason,
                                        code: StopCode.spotInterruption.rawValue)
            try await stores.instances.notifyChanged(conn, account: account, cluster: cluster, instances: [instance.id])
        }
    }

    /// Built-in or the account's own.
    func exists(_ conn: PostgresConnection, _ names: [String]) async throws -> Bool {
        let own = Set(try await store.get(conn, account: account, names: names).map(\.name))
        return names.allSatisfy { LaunchRules.fargateProviders.contains($0) || own.contains($0) }
    }

    /// CreateCapacityProvider: a name the account does not hold yet (the built-in names are reserved).
    public func create(name: String, cluster: String?, tags: [Tag]) async throws -> CapacityProviderRow {
        try await tenant.database.transaction { [self] conn in
            if let cluster { try await Clusters(tenant: tenant, stores: stores).requireActive(conn, cluster) }
            guard try await store.get(conn, account: account, names: [name]).isEmpty else {
                throw APIError.invalidParameter("The specified capacity provider already exists. To change the configuration of an existing capacity provider, update the capacity provider.")
            }
            let row = CapacityProviderRow(name: name, cluster: cluster, tags: tags)
            try await store.insert(conn, account: account, row)
            return row
        }
    }

    /// The account's own providers, the named ones or all of them.
    public func describe(names: [String]?) async throws -> [CapacityProviderRow] {
        try await tenant.database.withConnection { [self] conn in try await store.get(conn, account: account, names: names) }
    }

    /// DeleteCapacityProvider: refused while a cluster uses it.
    /// `cluster`, when given, must be the one the provider was made for (DeleteCapacityProvider's `cluster`).
    public func delete(name: String, cluster: String?) async throws -> CapacityProviderRow {
        try await tenant.database.transaction { [self] conn in
            guard let row = try await store.get(conn, account: account, names: [name]).first, cluster == nil || row.cluster == cluster else {
                throw Self.notFound(name)
            }
            let using = try await store.clustersUsing(conn, account: account, name: name)
            guard using.isEmpty else {
                throw APIError("ResourceInUseException",
                               "The specified capacity provider is in use and cannot be removed: clusters \(using.joined(separator: ", ")) use it. Remove it from their capacity providers first.")
            }
            try await store.delete(conn, account: account, name: name)
            return row
        }
    }

    /// The cluster's providers and default strategy.
    public func ofCluster(_ cluster: String) async throws -> (providers: [String], strategy: [CapacityProviderStrategyItem]) {
        try await tenant.database.withConnection { [self] conn in
            try await store.ofCluster(conn, account: account, cluster: cluster) ?? ([], [])
        }
    }

    /// PutClusterCapacityProviders and CreateCluster's members: the providers must exist, and the strategy use only them.
    /// A provider a live service's strategy uses cannot leave the list.
    public func put(_ conn: PostgresConnection, cluster: String, providers: [String], strategy: [CapacityProviderStrategyItem],
                    services: [ServiceRow]) async throws {
        try Self.check(providers: providers, strategy: strategy)
        guard try await exists(conn, providers) else {
            let own = Set(try await store.get(conn, account: account, names: providers).map(\.name))
            let missing = providers.first { !LaunchRules.fargateProviders.contains($0) && !own.contains($0) } ?? ""
            throw Self.notFound(missing)
        }
        for service in services where service.status != "INACTIVE" {
            for item in service.launch?.capacityProviderStrategy ?? [] where !providers.contains(item.capacityProvider) {
                throw APIError("ResourceInUseException",
                               "The capacity provider \(item.capacityProvider) cannot be removed from the cluster because it is in use by service \(service.name).")
            }
        }
        try await store.setCluster(conn, account: account, cluster: cluster, providers: providers, strategy: strategy)
    }

    public func put(cluster: String, providers: [String], strategy: [CapacityProviderStrategyItem]) async throws {
        try await tenant.database.transaction { [self] conn in
            try await Clusters(tenant: tenant, stores: stores).requireActive(conn, cluster)
            let services = try await stores.services.live(conn, account: account, cluster: cluster)
            try await put(conn, cluster: cluster, providers: providers, strategy: strategy, services: services)
        }
    }

    /// The list's and strategy's own rules, before anything is read.
    public static func check(providers: [String], strategy: [CapacityProviderStrategyItem]) throws(APIError) {
        guard providers.count <= 20 else { throw .invalidParameter("A cluster can have at most 20 capacity providers.") }
        guard Set(providers).count == providers.count else { throw .invalidParameter("capacityProviders must not repeat a provider.") }
        try LaunchRules.checkStrategy(strategy)
        for item in strategy where !providers.contains(item.capacityProvider) {
            throw .invalidParameter("The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster (\(item.capacityProvider)). Add it to capacityProviders.")
        }
    }

    /// ECS's naming rules for a provider an account creates.
    public static func checkName(_ name: String) throws(APIError) {
        guard !name.isEmpty, name.count <= 255, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw .invalidParameter("The specified capacity provider name is invalid: up to 255 letters, numbers, hyphens and underscores.")
        }
        let lower = name.lowercased()
        guard !["aws", "ecs", "fargate"].contains(where: { lower.hasPrefix($0) }) else {
            throw .invalidParameter("The specified capacity provider name is invalid. Capacity provider names cannot start with 'aws', 'ecs', or 'fargate'.")
        }
    }
}
