import Foundation
import Logging
import StowageIAM
import StowageModel
import StowageStore

/// What the operator's commands (`stowage admin …`, `stowage jobs`, `stowage dev`) change or read, each in one
/// transaction: they act across accounts, as no tenant's call may.
public struct Operator: Sendable {
    let database: Database
    let logger: Logger

    public init(database: Database) { self.database = database; self.logger = database.logger }

    /// Reseals every data key under the current server key, then gives `accounts` (or, with `allAccounts`, every
    /// account that has one) a new data key; all of it or none.
    public func rotateKeys(_ vault: Vault, accounts: [String], allAccounts: Bool) async throws -> [(String, RotationReport)] {
        try await database.transaction { conn in
            var reports: [(String, RotationReport)] = [("server key", try await vault.rewrapUnderCurrentKey(conn))]
            var ids = accounts
            if allAccounts { ids += try await vault.accountsWithDataKeys(conn) }
            for id in ids { reports.append(("account \(id)", try await vault.rotateDataKey(conn, account: id))) }
            return reports
        }
    }

    public func setQuota(account: String, name: String, value: Int) async throws {
        try await database.transaction { [logger] conn in try await Quotas.set(conn, account: account, name: name, value: value, logger: logger) }
    }

    /// The queue's depth by state and its dead jobs, read together.
    public func jobs() async throws -> (QueueStats, [DeadJob]) {
        try await database.withConnection { [logger] conn in
            let queue = JobQueue(logger: logger)
            return (try await queue.stats(conn), try await queue.dead(conn))
        }
    }

    /// ECS's `default` cluster, which `stowage dev`'s agent joins; nothing changes when it exists.
    public func createDefaultCluster(account: String) async throws {
        try await database.transaction { [logger] conn in
            _ = try await ClusterStore(logger: logger).create(
                conn, account: account, name: "default", settings: [ClusterSetting(name: "containerInsights", value: "disabled")],
                configuration: nil, tags: [])
            // As the ECS console makes clusters: FARGATE and FARGATE_SPOT associated, so a capacity provider strategy
            // runs on `make dev` as written (while it names none: a list the user set stays).
            let providers = CapacityProviderStore(logger: logger)
            if try await providers.ofCluster(conn, account: account, cluster: "default")?.providers.isEmpty ?? false {
                try await providers.setCluster(conn, account: account, cluster: "default", providers: ["FARGATE", "FARGATE_SPOT"], strategy: [])
            }
        }
    }
}
