import Foundation
import PostgresNIO
import StowageModel
import StowageStore

/// ECS clusters: create, update and delete, each in one transaction, and the reads, each on one connection. The
/// door has checked the names, settings and configuration and authorized the call.
public struct ClusterLifecycle: Sendable {
    let tenant: TenantContext
    let stores: ECSStores
    let accountSettings: AccountSettings
    let quotas: Quotas

    public init(tenant: TenantContext, stores: ECSStores, accountSettings: AccountSettings, quotas: Quotas) {
        self.tenant = tenant; self.stores = stores; self.accountSettings = accountSettings; self.quotas = quotas
    }

    var account: String { tenant.account }
    var clusters: Clusters { Clusters(tenant: tenant, stores: stores) }

    /// Without settings of its own, a cluster takes its creator's (`principal`'s) containerInsights account setting.
    /// Creating an ACTIVE cluster again returns it unchanged; the quota counts the others.
    /// CreateCluster; `capacityProviders` and `strategy`, when given, are the cluster's providers and default strategy.
    public func create(name: String, settings given: [ClusterSetting]?, configuration: JSONValue?, tags: [Tag], principal: String,
                       capacityProviders: [String]? = nil, strategy: [CapacityProviderStrategyItem]? = nil) async throws -> ClusterRow
    {
        try await tenant.database.transaction { [self] conn in
            let settings: [ClusterSetting]
            if let given {
                settings = given
            } else {
                settings = [ClusterSetting(name: "containerInsights",
                                           value: try await accountSettings.effective(conn, "containerInsights", principal: principal))]
            }
            let others = try await stores.clusters.activeCount(conn, account: account, excluding: name)
            try await quotas.check(conn, account: account, [("clusters", others + 1, "Active clusters")])
            let record = try await stores.clusters.create(conn, account: account, name: name, settings: settings,
                                                          configuration: configuration, tags: tags)
            if capacityProviders != nil || strategy != nil {
                try await CapacityProviders(tenant: tenant, stores: stores).put(conn, cluster: name, providers: capacityProviders ?? [],
                                                                                strategy: strategy ?? [], services: [])
            }
            return record
        }
    }

    /// What the control plane decided about an ACTIVE cluster as a whole, newest first.
    public func events(cluster: String) async throws -> [ServiceEvent] {
        try await tenant.database.withConnection { [self] conn in
            try await clusters.requireActive(conn, cluster)
            return try await stores.clusters.events(conn, account: account, cluster: cluster)
        }
    }

    /// The named clusters that exist, whatever their status (DescribeClusters shows INACTIVE ones too).
    public func describe(names: [String]) async throws -> [ClusterRow] {
        try await tenant.database.withConnection { [self] conn in
            try await stores.clusters.get(conn, account: account, names: names)
        }
    }

    public func list(after: String?, limit: Int) async throws -> [ClusterRow] {
        try await tenant.database.withConnection { [self] conn in
            try await stores.clusters.list(conn, account: account, after: after, limit: limit)
        }
    }

    /// Changes what is given, the cluster held FOR UPDATE; the answer is the cluster as it now is.
    public func update(name: String, settings: [ClusterSetting]?, configuration: JSONValue?) async throws -> ClusterRow {
        try await tenant.database.transaction { [self] conn in
            _ = try await clusters.active(conn, name, lock: true)
            try await stores.clusters.update(conn, account: account, name: name, settings: settings, configuration: configuration)
            return try await clusters.active(conn, name)
        }
    }

    /// Refuses a cluster that still holds services, running tasks or instances: there is no cascade delete.
    public func delete(name: String) async throws -> ClusterRow {
        try await tenant.database.transaction { [self] conn in
            let record = try await clusters.active(conn, name, lock: true)
            if record.activeServices > 0 {
                throw APIError("ClusterContainsServicesException",
                               "The Cluster cannot be deleted while Services are active (\(record.activeServices)). Delete them first.",
                               restStatus: 409)
            }
            let live = try await stores.tasks.live(conn, account: account, cluster: name).filter { $0.desiredStatus == "RUNNING" }
            if !live.isEmpty {
                throw APIError("ClusterContainsTasksException",
                               "The Cluster cannot be deleted while Tasks are active (\(live.count)). Stop them first.",
                               restStatus: 409)
            }
            if record.registeredInstances > 0 {
                throw APIError("ClusterContainsContainerInstancesException",
                               "The Cluster cannot be deleted while Container Instances are active or draining (\(record.registeredInstances) registered). Deregister them first.",
                               restStatus: 409)
            }
            try await stores.clusters.markInactive(conn, account: account, name: name)
            var inactive = record
            inactive.status = "INACTIVE"
            return inactive
        }
    }
}
