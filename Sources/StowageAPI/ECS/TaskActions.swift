import Foundation
import PostgresNIO
import StowageModel
import StowageOrchestrator
import StowageScheduler
import StowageStore

/// ECS task actions: RunTask, StartTask, StopTask, DescribeTasks, ListTasks.
struct TaskActions {
    static func model(_ t: TaskRow, _ c: Caller, includeTags: Bool = false) -> ECSTask {
        let scope = c.backend.scope
        let arn = scope.task(c.account, cluster: t.cluster, id: t.id)
        var m = ECSTask()
        m.taskArn = arn
        m.clusterArn = scope.cluster(c.account, t.cluster)
        m.taskDefinitionArn = scope.taskDefinition(c.account, family: t.family, revision: t.revision)
        m.containerInstanceArn = t.instanceId.map { scope.containerInstance(c.account, cluster: t.cluster, id: $0) }
        var overrides = t.overrides ?? TaskOverride()
        if overrides.containerOverrides == nil { overrides.containerOverrides = t.containers.map { ContainerOverride(name: $0.name) } }
        m.overrides = overrides
        m.lastStatus = t.lastStatus
        m.desiredStatus = t.desiredStatus
        m.healthStatus = t.healthStatus
        m.cpu = String(t.cpu)
        m.memory = String(t.memory)
        m.containers = t.containers.map { container in
            var out = container
            out.taskArn = arn
            out.containerArn = scope.ecs(c.account, "container/\(t.cluster)/\(t.id)/\(container.name ?? "")")
            return out
        }
        m.startedBy = t.startedBy
        m.group = t.group
        m.version = t.version
        m.stoppedReason = t.stoppedReason
        m.stopCode = t.stopCode
        m.connectivity = t.instanceId == nil ? nil : "CONNECTED"
        m.createdAt = t.createdAt
        m.pullStartedAt = t.pullStartedAt
        m.pullStoppedAt = t.pullStoppedAt
        m.startedAt = t.startedAt
        m.stoppingAt = t.stoppingAt
        m.stoppedAt = t.stoppedAt
        m.launchType = "EC2"
        if includeTags { m.tags = t.tags }
        return m.withECSDefaults()
    }

    /// A task id or ARN (`task/<cluster>/<id>` or the older `task/<id>`) within the cluster.
    static func taskId(_ reference: String, cluster: String) throws(APIError) -> String {
        try References.scoped(reference, type: "task", cluster: cluster)
    }

    /// Resolves the task definition a task will run: it must exist and be ACTIVE.
    static func activeDefinition(_ conn: PostgresConnection, _ c: Caller, family: String, revision: Int?) async throws
        -> TaskDefinitionRow
    {
        guard let record = try await TaskDefinitionActions.find(conn, c, family: family, revision: revision) else {
            throw APIError.client("Unable to find task definition '\(family)\(revision.map { ":\($0)" } ?? "")'.")
        }
        guard record.status == "ACTIVE" else {
            throw APIError.client("TaskDefinition is inactive: \(family):\(record.revision).")
        }
        return record
    }

    static func validate(overrides: TaskOverride?, definition: TaskDefinition) throws(APIError) {
        let names = Set((definition.containerDefinitions ?? []).compactMap(\.name))
        for o in overrides?.containerOverrides ?? [] {
            guard let name = o.name, names.contains(name) else {
                throw .invalidParameter("Container override names '\(o.name ?? "")', which the task definition does not have.")
            }
            if let cpu = o.cpu, !(0...10_240).contains(cpu) {
                throw .invalidParameter("Container override cpu must be between 0 and 10240 CPU units, got \(cpu).")
            }
            if let memory = o.memory, !(6...1_048_576).contains(memory) {
                throw .invalidParameter("Container override memory must be between 6 and 1048576 MiB, got \(memory).")
            }
            if let reservation = o.memoryReservation, !(6...1_048_576).contains(reservation) {
                throw .invalidParameter("Container override memoryReservation must be between 6 and 1048576 MiB, got \(reservation).")
            }
        }
    }

    /// RunTask's and StartTask's `overrides.taskRoleArn`: a role name becomes the account's role ARN, and passing
    /// it to the tasks is authorized (iam:PassRole) as a task definition's role is. The agent then serves its
    /// credentials instead of the definition's role's.
    static func passRoleOverride(_ overrides: TaskOverride?, _ c: Caller) async throws -> TaskOverride? {
        guard var overrides, let role = overrides.taskRoleArn else { return overrides }
        guard !role.isEmpty else { overrides.taskRoleArn = nil; return overrides }
        let arn = TaskDefinitionActions.roleArn(role, c)
        try await TaskDefinitionActions.authorizePass(arn, c)
        overrides.taskRoleArn = arn
        return overrides
    }

    static func newTasks(count: Int, cluster: String, record: TaskDefinitionRow, group: String?, startedBy: String?,
                         overrides: TaskOverride?, constraints: [PlacementConstraint]?, strategy: [PlacementStrategy]?,
                         tags: [Tag]?, clientToken: String?, instances: [String]? = nil) -> [TaskRow] {
        let group = group ?? "family:\(record.family)"
        let demand = TaskDemand(definition: record.body, overrides: overrides, group: group, strategy: [])
        return (0..<count).map { i in
            var t = TaskRow(cluster: cluster, id: Identifier.task(), family: record.family, revision: record.revision,
                               group: group, cpu: demand.cpu, memory: demand.memory,
                               containers: TaskDemand.containers(for: record.body))
            t.startedBy = startedBy
            t.overrides = overrides
            t.placementConstraints = constraints ?? []
            t.placementStrategy = strategy ?? []
            t.tags = tags ?? []
            t.clientToken = clientToken
            t.requiredInstanceId = instances?[i]
            return t
        }
    }

    /// Inserts the tasks and places them at once under the cluster lock; what cannot be placed is removed
    /// again and reported as failures, so nothing half-written stays behind.
    static func launch(_ conn: PostgresConnection, _ c: Caller, cluster: String, tasks new: [TaskRow]) async throws
        -> TasksResponse
    {
        let scheduler = ClusterScheduler(logger: c.logger, clock: c.backend.clock)
        try await scheduler.lock(conn, account: c.account, cluster: cluster)
        try await c.backend.tasks.insert(conn, account: c.account, new)
        let pass = try await scheduler.placePending(conn, account: c.account, cluster: cluster, only: Set(new.map(\.id)))
        let failedIds = new.map(\.id).filter { pass.placed[$0] == nil }
        try await c.backend.tasks.delete(conn, account: c.account, cluster: cluster, ids: failedIds)
        let placed = try await c.backend.tasks.get(conn, account: c.account, cluster: cluster, ids: Array(pass.placed.keys))
            .sorted { $0.id < $1.id }
        let failures = failedIds.map { id in
            let target = new.first { $0.id == id }?.requiredInstanceId
            return Failure(arn: target.map { c.backend.scope.containerInstance(c.account, cluster: cluster, id: $0) },
                           reason: pass.failed[id] ?? "RESOURCE:UNKNOWN")
        }
        return TasksResponse(tasks: placed.map { model($0, c, includeTags: true) }, failures: failures)
    }

    static func run(_ input: RunTaskRequest, _ c: Caller) async throws -> TasksResponse {
        let (cluster, clusterArn) = try c.refs.cluster(input.cluster)
        let count = input.count ?? 1
        guard (1...10).contains(count) else { throw APIError.invalidParameter("count must be between 1 and 10, got \(count).") }
        let ref = try c.refs.taskDefinition(input.taskDefinition)
        _ = try ConstraintRules.parse(input.placementConstraints)
        _ = try StrategyRule.parse(input.placementStrategy)
        try Validate.tags(input.tags)
        if let launchType = input.launchType, launchType != "EC2", launchType != "EXTERNAL" {
            throw APIError.invalidParameter("launchType must be EC2 or EXTERNAL: Stowage runs tasks on registered instances.")
        }
        if let startedBy = input.startedBy, startedBy.count > 128 { throw APIError.invalidParameter("startedBy is limited to 128 characters.") }
        if let group = input.group, group.isEmpty || group.count > 255 { throw APIError.invalidParameter("group must be 1 to 255 characters.") }
        try await c.authorize([ref.arn], cluster: clusterArn, requestTags: input.tags)
        let overrides = try await passRoleOverride(input.overrides, c)
        return try await c.backend.database.transaction { conn in
            try await ClusterActions.requireActive(conn, c, cluster)
            if let token = input.clientToken {
                let earlier = try await c.backend.tasks.byClientToken(conn, account: c.account, cluster: cluster, token: token)
                if !earlier.isEmpty { return TasksResponse(tasks: earlier.map { model($0, c, includeTags: true) }, failures: []) }
            }
            let record = try await activeDefinition(conn, c, family: ref.family, revision: ref.revision)
            try validate(overrides: overrides, definition: record.body)
            let new = newTasks(count: count, cluster: cluster, record: record, group: input.group, startedBy: input.startedBy,
                               overrides: overrides, constraints: input.placementConstraints,
                               strategy: input.placementStrategy, tags: input.tags, clientToken: input.clientToken)
            return try await launch(conn, c, cluster: cluster, tasks: new)
        }
    }

    static func start(_ input: StartTaskRequest, _ c: Caller) async throws -> TasksResponse {
        let (cluster, clusterArn) = try c.refs.cluster(input.cluster)
        guard (1...10).contains(input.containerInstances.count) else {
            throw APIError.invalidParameter("containerInstances must name between 1 and 10 instances.")
        }
        let ref = try c.refs.taskDefinition(input.taskDefinition)
        try Validate.tags(input.tags)
        var targets: [(id: String, arn: String)] = []
        for reference in input.containerInstances { targets.append(try c.refs.containerInstance(reference, cluster: cluster)) }
        try await c.authorize([ref.arn] + targets.map(\.arn), cluster: clusterArn, requestTags: input.tags)
        let overrides = try await passRoleOverride(input.overrides, c)
        return try await c.backend.database.transaction { conn in
            for target in targets {
                let instance = try await ContainerInstanceActions.live(conn, c, cluster: cluster, id: target.id, reference: target.arn)
                guard instance.status == "ACTIVE" else {
                    throw APIError.invalidParameter("Container instance \(target.arn) is \(instance.status); StartTask needs an ACTIVE instance.")
                }
            }
            let record = try await activeDefinition(conn, c, family: ref.family, revision: ref.revision)
            try validate(overrides: overrides, definition: record.body)
            let new = newTasks(count: targets.count, cluster: cluster, record: record, group: input.group,
                               startedBy: input.startedBy, overrides: overrides, constraints: nil, strategy: nil,
                               tags: input.tags, clientToken: nil, instances: targets.map(\.id))
            return try await launch(conn, c, cluster: cluster, tasks: new)
        }
    }

    static func stop(_ input: StopTaskRequest, _ c: Caller) async throws -> TaskResponse {
        let (cluster, clusterArn) = try c.refs.cluster(input.cluster)
        let id = try taskId(input.task, cluster: cluster)
        if let reason = input.reason, reason.count > 255 { throw APIError.invalidParameter("reason is limited to 255 characters.") }
        try await c.authorize([c.backend.scope.task(c.owner(clusterArn), cluster: cluster, id: id)])
        let record = try await c.backend.database.transaction { conn in
            try await ClusterActions.requireActive(conn, c, cluster)
            guard let task = try await c.backend.tasks.get(conn, account: c.account, cluster: cluster, ids: [id]).first else {
                throw APIError.invalidParameter("The referenced task was not found.")
            }
            try await c.backend.tasks.stop(conn, account: c.account, cluster: cluster, ids: [id],
                                            reason: input.reason ?? "Task stopped by user", code: StopCode.userInitiated.rawValue)
            let queue = JobQueue(logger: c.logger)
            if let service = task.service { try await queue.reconcile(conn, account: c.account, cluster: cluster, service: service) }
            let scheduler = ClusterScheduler(logger: c.logger, clock: c.backend.clock)
            if let service = task.service, task.instanceId != nil,
               try await scheduler.drainBeforeStop(conn, account: c.account, cluster: cluster, service: service, taskId: id, now: c.backend.clock.now()) != nil {
                // Behind a load balancer: its agent stops it once its targets have drained.
            } else if let instance = task.instanceId {
                try await ClusterScheduler(logger: c.logger, clock: c.backend.clock).notify(conn, account: c.account, cluster: cluster, instances: [instance])
            } else {
                try await queue.place(conn, account: c.account, cluster: cluster)
            }
            return try await c.backend.tasks.get(conn, account: c.account, cluster: cluster, ids: [id]).first ?? task
        }
        return TaskResponse(task: model(record, c))
    }

    static func describe(_ input: DescribeTasksRequest, _ c: Caller) async throws -> TasksResponse {
        let (cluster, clusterArn) = try c.refs.cluster(input.cluster)
        guard (1...100).contains(input.tasks.count) else { throw APIError.invalidParameter("tasks must name between 1 and 100 tasks.") }
        var wanted: [(id: String, ref: String)] = []
        var failures: [Failure] = []
        for reference in input.tasks {
            do { wanted.append((try taskId(reference, cluster: cluster), reference)) } catch {
                failures.append(Failure(arn: reference, reason: "MISSING"))
            }
        }
        try await c.authorize(wanted.map { c.backend.scope.task(c.owner(clusterArn), cluster: cluster, id: $0.id) })
        let records = try await c.backend.database.withConnection { conn in
            try await ClusterActions.requireActive(conn, c, cluster)
            return try await c.backend.tasks.get(conn, account: c.account, cluster: cluster, ids: wanted.map(\.id))
        }
        let byId = Dictionary(records.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let includeTags = input.include?.contains("TAGS") ?? false
        var tasks: [ECSTask] = []
        for (id, _) in wanted {
            if let record = byId[id] { tasks.append(model(record, c, includeTags: includeTags)) } else {
                failures.append(Failure(arn: c.backend.scope.task(c.account, cluster: cluster, id: id), reason: "MISSING"))
            }
        }
        return TasksResponse(tasks: tasks, failures: failures)
    }

    static func list(_ input: ListTasksRequest, _ c: Caller) async throws -> ListTasksResponse {
        let (cluster, clusterArn) = try c.refs.cluster(input.cluster)
        let limit = try Validate.maxResults(input.maxResults)
        let desired = input.desiredStatus ?? "RUNNING"
        guard ["RUNNING", "PENDING", "STOPPED"].contains(desired) else {
            throw APIError.invalidParameter("desiredStatus must be RUNNING, PENDING or STOPPED.")
        }
        if input.serviceName != nil && input.family != nil {
            throw APIError.invalidParameter("serviceName and family cannot be used together.")
        }
        let instance = try input.containerInstance.map { try c.refs.containerInstance($0, cluster: cluster).id }
        let after = try PageToken.decode(input.nextToken)?.first
        try await c.authorize([clusterArn])
        let service = try input.serviceName.map { try ServiceActions.serviceName($0, cluster: cluster) }
        let filter = TaskFilter(instanceId: instance, family: input.family, startedBy: input.startedBy, service: service,
                                desiredStatus: desired)
        let ids = try await c.backend.database.withConnection { conn in
            try await ClusterActions.requireActive(conn, c, cluster)
            return try await c.backend.tasks.list(conn, account: c.account, cluster: cluster, filter: filter, after: after, limit: limit + 1)
        }
        let page = ids.prefix(limit)
        return ListTasksResponse(taskArns: page.map { c.backend.scope.task(c.account, cluster: cluster, id: $0) },
                                 nextToken: ids.count > limit ? page.last.map { PageToken.encode([$0]) } : nil)
    }
}
