import Foundation
import StowageModel
import StowageStore
import StowageUseCases

/// ECS task scale-in protection: a service's task the reconciler leaves out of scale-in and deployments
/// until its protection expires (queue workers set it while they hold a job).
struct TaskProtectionActions {
    static func protected(_ t: TaskRow, _ c: Caller, now: Date) -> ProtectedTask {
        let until = t.protectedUntil.flatMap { $0 > now ? $0 : nil }
        return ProtectedTask(taskArn: c.backend.scope.task(c.account, cluster: t.cluster, id: t.id), protectionEnabled: until != nil,
                             expirationDate: until)
    }

    /// The task ids named, and a failure for each reference that does not name a task of the cluster.
    static func ids(_ references: [String], cluster: String) -> (ids: [String], failures: [Failure]) {
        var ids: [String] = []
        var failures: [Failure] = []
        for reference in references {
            do { ids.append(try TaskActions.taskId(reference, cluster: cluster)) } catch {
                failures.append(Failure(arn: reference, reason: "MISSING", detail: error.message))
            }
        }
        return (ids, failures)
    }

    static func update(_ input: UpdateTaskProtectionRequest, _ c: Caller) async throws -> TaskProtectionResponse {
        let (cluster, clusterArn) = try c.refs.cluster(input.cluster)
        guard (1...10).contains(input.tasks.count) else { throw APIError.invalidParameter("tasks must name between 1 and 10 tasks.") }
        let minutes = input.expiresInMinutes ?? 120
        guard (1...2880).contains(minutes) else { throw APIError.invalidParameter("expiresInMinutes must be between 1 and 2880 (48 hours).") }
        var (ids, failures) = ids(input.tasks, cluster: cluster)
        let owner = c.owner(clusterArn)
        try await c.authorize(ids.map { c.backend.scope.task(owner, cluster: cluster, id: $0) })
        let now = c.backend.clock.now()
        let until = input.protectionEnabled ? now.addingTimeInterval(TimeInterval(minutes * 60)) : nil
        let (updated, refused) = try await c.taskProtection.update(cluster: cluster, ids: ids, until: until)
        failures += refused
        return TaskProtectionResponse(protectedTasks: updated.map { protected($0, c, now: now) }, failures: failures)
    }

    static func get(_ input: GetTaskProtectionRequest, _ c: Caller) async throws -> TaskProtectionResponse {
        let (cluster, clusterArn) = try c.refs.cluster(input.cluster)
        if let tasks = input.tasks, tasks.count > 100 { throw APIError.invalidParameter("tasks names at most 100 tasks.") }
        var (ids, failures) = ids(input.tasks ?? [], cluster: cluster)
        let owner = c.owner(clusterArn)
        try await c.authorize(input.tasks == nil ? [c.backend.scope.task(owner, cluster: cluster, id: "*")]
                                                                              : ids.map { c.backend.scope.task(owner, cluster: cluster, id: $0) })
        let now = c.backend.clock.now()
        let found = try await c.taskProtection.get(cluster: cluster, ids: input.tasks == nil ? nil : ids, now: now)
        for id in ids where !found.contains(where: { $0.id == id }) {
            failures.append(Failure(arn: c.backend.scope.task(c.account, cluster: cluster, id: id), reason: "MISSING"))
        }
        return TaskProtectionResponse(protectedTasks: found.sorted { $0.id < $1.id }.map { protected($0, c, now: now) }, failures: failures)
    }
}

extension Caller {
    var taskProtection: TaskProtection { TaskProtection(tenant: tenant, stores: ecsStores) }
}
