import Foundation
import PostgresNIO
import StowageModel
import StowageOrchestrator
import StowageStore

/// ECS RunTask, StartTask and StopTask, each in one transaction. New tasks are inserted and placed at once under the
/// cluster's scheduling lock, so a caller is told where they run or why not, and nothing half-written stays behind; a
/// stop wakes the agent that runs the task (or drains its targets first) once it commits.
public struct Tasks: Sendable {
    /// What a launch answers: the tasks placed, and a failure for each that could not be.
    public struct Launched: Sendable {
        public let tasks: [TaskRow]
        public let failures: [Failure]
    }

    /// Builds the new task rows from the revision they run, checking what the request asks of it (its overrides);
    /// called inside the transaction that read that revision.
    public typealias Build = @Sendable (TaskDefinitionRow) throws -> [TaskRow]

    let tenant: TenantContext
    let stores: ECSStores

    public init(tenant: TenantContext, stores: ECSStores) { self.tenant = tenant; self.stores = stores }

    var account: String { tenant.account }
    var clusters: Clusters { Clusters(tenant: tenant, stores: stores) }
    var scheduler: ClusterScheduler { ClusterScheduler(logger: tenant.logger, clock: tenant.clock) }

    /// RunTask: a retry with the same client token answers the tasks it started. The tasks are launched as `launch`
    /// asks, or by the cluster's default capacity provider strategy when it names neither a launch type nor a strategy.
    public func run(cluster: String, family: String, revision: Int?, clientToken: String?, launch: LaunchRequest = LaunchRequest(),
                    build: @escaping Build) async throws -> Launched {
        try await tenant.database.transaction { [self] conn in
            try await clusters.requireActive(conn, cluster)
            if let token = clientToken {
                let earlier = try await stores.tasks.byClientToken(conn, account: account, cluster: cluster, token: token)
                if !earlier.isEmpty { return Launched(tasks: earlier, failures: []) }
            }
            let record = try await clusters.activeTaskDefinition(conn, family: family, revision: revision)
            let resolved = try await CapacityProviders(tenant: tenant, stores: stores).resolve(conn, cluster: cluster, launch, definition: record.body)
            var tasks = try build(record)
            for i in tasks.indices { tasks[i].launch = resolved }
            return try await self.launch(conn, cluster: cluster, tasks: tasks)
        }
    }

    /// StartTask: the tasks go to the instances `build` binds them to, each of which must be ACTIVE.
    public func start(cluster: String, instances: [(id: String, arn: String)], family: String, revision: Int?, build: @escaping Build)
        async throws -> Launched
    {
        try await tenant.database.transaction { [self] conn in
            for target in instances {
                let instance = try await clusters.liveInstance(conn, cluster: cluster, id: target.id, reference: target.arn)
                guard instance.status == "ACTIVE" else {
                    throw APIError.invalidParameter("Container instance \(target.arn) is \(instance.status); StartTask needs an ACTIVE instance.")
                }
            }
            let record = try await clusters.activeTaskDefinition(conn, family: family, revision: revision)
            return try await launch(conn, cluster: cluster, tasks: try build(record))
        }
    }

    /// Inserts the tasks and places them at once under the cluster lock; what cannot be placed is removed
    /// again and reported as failures, so nothing half-written stays behind.
    func launch(_ conn: PostgresConnection, cluster: String, tasks new: [TaskRow]) async throws -> Launched {
        try await scheduler.lock(conn, account: account, cluster: cluster)
        try await stores.tasks.insert(conn, account: account, new)
        let pass = try await scheduler.placePending(conn, account: account, cluster: cluster, only: Set(new.map(\.id)))
        let failedIds = new.map(\.id).filter { pass.placed[$0] == nil }
        try await stores.tasks.delete(conn, account: account, cluster: cluster, ids: failedIds)
        let placed = try await stores.tasks.get(conn, account: account, cluster: cluster, ids: Array(pass.placed.keys))
            .sorted { $0.id < $1.id }
        let failures = failedIds.map { id in
            let target = new.first { $0.id == id }?.requiredInstanceId
            return Failure(arn: target.map { tenant.scope.containerInstance(account, cluster: cluster, id: $0) },
                           reason: pass.failed[id] ?? "RESOURCE:UNKNOWN")
        }
        return Launched(tasks: placed, failures: failures)
    }

    /// StopTask: a service's task has its service reconciled (a replacement started); a placed task's agent is woken,
    /// unless the task is behind a load balancer, whose agent stops it once its targets have drained.
    public func stop(cluster: String, id: String, reason: String) async throws -> TaskRow {
        try await tenant.database.transaction { [self] conn in
            try await clusters.requireActive(conn, cluster)
            guard let task = try await stores.tasks.get(conn, account: account, cluster: cluster, ids: [id]).first else {
                throw APIError.invalidParameter("The referenced task was not found.")
            }
            try await stores.tasks.stop(conn, account: account, cluster: cluster, ids: [id], reason: reason, code: StopCode.userInitiated.rawValue)
            let queue = JobQueue(logger: tenant.logger)
            if let service = task.service { try await queue.reconcile(conn, account: account, cluster: cluster, service: service) }
            if let service = task.service, task.instanceId != nil,
               try await scheduler.drainBeforeStop(conn, account: account, cluster: cluster, service: service, taskId: id, now: tenant.clock.now()) != nil {
                // Behind a load balancer: its agent stops it once its targets have drained.
            } else if let instance = task.instanceId {
                try await scheduler.notify(conn, account: account, cluster: cluster, instances: [instance])
            } else {
                try await queue.place(conn, account: account, cluster: cluster)
            }
            return try await stores.tasks.get(conn, account: account, cluster: cluster, ids: [id]).first ?? task
        }
    }

    /// The named tasks of an ACTIVE cluster that exist.
    public func describe(cluster: String, ids: [String]) async throws -> [TaskRow] {
        try await tenant.database.withConnection { [self] conn in
            try await clusters.requireActive(conn, cluster)
            return try await stores.tasks.get(conn, account: account, cluster: cluster, ids: ids)
        }
    }

    public func list(cluster: String, filter: TaskFilter, after: String?, limit: Int) async throws -> [String] {
        try await tenant.database.withConnection { [self] conn in
            try await clusters.requireActive(conn, cluster)
            return try await stores.tasks.list(conn, account: account, cluster: cluster, filter: filter, after: after, limit: limit)
        }
    }
}
