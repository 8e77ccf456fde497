import Foundation
import PostgresNIO
import StowageModel
import StowageStore

/// ECS task scale-in protection. Setting or lifting it enqueues the reconcile pass of each service touched in the same
/// transaction: lifting it may let a waiting scale-in or deployment go on now.
public struct TaskProtection: Sendable {
    let tenant: TenantContext
    let stores: ECSStores

    public init(tenant: TenantContext, stores: ECSStores) { self.tenant = tenant; self.stores = stores }

    var account: String { tenant.account }

    /// Protects the named tasks until `until` (nil lifts it); only a service's running tasks can be. Answers the tasks
    /// changed, and a failure for each named task that is missing or not eligible, in the order named.
    public func update(cluster: String, ids: [String], until: Date?) async throws -> (updated: [TaskRow], failures: [Failure]) {
        try await tenant.database.transaction { [self] conn in
            try await Clusters(tenant: tenant, stores: stores).requireActive(conn, cluster)
            let known = try await stores.tasks.get(conn, account: account, cluster: cluster, ids: ids)
            var eligible: [String] = []
            var failures: [Failure] = []
            for id in ids {
                let arn = tenant.scope.task(account, cluster: cluster, id: id)
                guard let task = known.first(where: { $0.id == id }) else {
                    failures.append(Failure(arn: arn, reason: "MISSING", detail: "The task was not found in cluster \(cluster)."))
                    continue
                }
                guard task.service != nil else {
                    failures.append(Failure(arn: arn, reason: "TASK_NOT_VALID", detail: "Only the tasks of a service can be protected from scale-in."))
                    continue
                }
                guard task.lastStatus != "STOPPED", task.desiredStatus == "RUNNING" else {
                    failures.append(Failure(arn: arn, reason: "TASK_NOT_VALID", detail: "The task is stopping or stopped."))
                    continue
                }
                eligible.append(id)
            }
            let updated = try await stores.tasks.protect(conn, account: account, cluster: cluster, ids: eligible, until: until)
            let queue = JobQueue(logger: tenant.logger)
            for service in Set(updated.compactMap(\.service)).sorted() {
                try await queue.reconcile(conn, account: account, cluster: cluster, service: service)
            }
            return (updated, failures)
        }
    }

    /// The named tasks that exist, or with `ids` nil every service task protected at `now`.
    public func get(cluster: String, ids: [String]?, now: Date) async throws -> [TaskRow] {
        try await tenant.database.withConnection { [self] conn in
            try await Clusters(tenant: tenant, stores: stores).requireActive(conn, cluster)
            guard let ids else {
                return try await stores.tasks.live(conn, account: account, cluster: cluster)
                    .filter { $0.service != nil && ($0.protectedUntil ?? .distantPast) > now }
            }
            return try await stores.tasks.get(conn, account: account, cluster: cluster, ids: ids)
        }
    }
}
