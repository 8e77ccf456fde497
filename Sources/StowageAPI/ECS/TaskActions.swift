import Foundation
import StowageModel
import StowageScheduler
import StowageStore
import StowageUseCases

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
        m.launchType = t.launch?.shownLaunchType ?? "EC2"
        m.capacityProviderName = t.launch?.capacityProviderName
        if m.launchType == "FARGATE" {
            m.platformVersion = t.launch?.platformVersion ?? FargateRules.platformVersion
            m.platformFamily = "Linux"
        }
        if includeTags { m.tags = t.tags }
        return m.withECSDefaults()
    }

    /// A task id or ARN (`task/<cluster>/<id>` or the older `task/<id>`) within the cluster.
    static func taskId(_ reference: String, cluster: String) throws(APIError) -> String {
        try References.scoped(reference, type: "task", cluster: cluster)
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

    static func run(_ input: RunTaskRequest, _ c: Caller) async throws -> TasksResponse {
        let (cluster, clusterArn) = try c.refs.cluster(input.cluster)
        let count = input.count ?? 1
        guard (1...10).contains(count) else { throw APIError.invalidParameter("count must be between 1 and 10, got \(count).") }
        let ref = try c.refs.taskDefinition(input.taskDefinition)
        _ = try ConstraintRules.parse(input.placementConstraints)
        _ = try StrategyRule.parse(input.placementStrategy)
        try Validate.tags(input.tags)
        if let startedBy = input.startedBy, startedBy.count > 128 { throw APIError.invalidParameter("startedBy is limited to 128 characters.") }
        if let group = input.group, group.isEmpty || group.count > 255 { throw APIError.invalidParameter("group must be 1 to 255 characters.") }
        try await c.authorize([ref.arn], cluster: clusterArn, requestTags: input.tags)
        let overrides = try await passRoleOverride(input.overrides, c)
        let launch = LaunchRequest(launchType: input.launchType, platformVersion: input.platformVersion,
                                   capacityProviderStrategy: input.capacityProviderStrategy, networkConfiguration: input.networkConfiguration)
        let launched = try await c.tasks.run(cluster: cluster, family: ref.family, revision: ref.revision, clientToken: input.clientToken,
                                             launch: launch) { record in
            try validate(overrides: overrides, definition: record.body)
            return newTasks(count: count, cluster: cluster, record: record, group: input.group, startedBy: input.startedBy,
                            overrides: overrides, constraints: input.placementConstraints,
                            strategy: input.placementStrategy, tags: input.tags, clientToken: input.clientToken)
        }
        return response(launched, c)
    }

    static func response(_ launched: Tasks.Launched, _ c: Caller) -> TasksResponse {
        TasksResponse(tasks: launched.tasks.map { model($0, c, includeTags: true) }, failures: launched.failures)
    }

    static func start(_ input: StartTaskRequest, _ c: Caller) async throws -> TasksResponse {
        let (cluster, clusterArn) = try c.refs.cluster(input.cluster)
        guard (1...10).contains(input.containerInstances.count) else {
            throw APIError.invalidParameter("containerInstances must name between 1 and 10 instances.")
        }
        let ref = try c.refs.taskDefinition(input.taskDefinition)
        try Validate.tags(input.tags)
        let targets = try input.containerInstances.map { try c.refs.containerInstance($0, cluster: cluster) }
        try await c.authorize([ref.arn] + targets.map(\.arn), cluster: clusterArn, requestTags: input.tags)
        let overrides = try await passRoleOverride(input.overrides, c)
        let launched = try await c.tasks.start(cluster: cluster, instances: targets, family: ref.family, revision: ref.revision) { record in
            try validate(overrides: overrides, definition: record.body)
            return newTasks(count: targets.count, cluster: cluster, record: record, group: input.group,
                            startedBy: input.startedBy, overrides: overrides, constraints: nil, strategy: nil,
                            tags: input.tags, clientToken: nil, instances: targets.map(\.id))
        }
        return response(launched, c)
    }

    static func stop(_ input: StopTaskRequest, _ c: Caller) async throws -> TaskResponse {
        let (cluster, clusterArn) = try c.refs.cluster(input.cluster)
        let id = try taskId(input.task, cluster: cluster)
        if let reason = input.reason, reason.count > 255 { throw APIError.invalidParameter("reason is limited to 255 characters.") }
        try await c.authorize([c.backend.scope.task(c.owner(clusterArn), cluster: cluster, id: id)])
        let record = try await c.tasks.stop(cluster: cluster, id: id, reason: input.reason ?? "Task stopped by user")
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
        let records = try await c.tasks.describe(cluster: cluster, ids: wanted.map(\.id))
        let byId = Dictionary(records.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let includeTags = input.include?.contains("TAGS") ?? false
        let networks = try await c.tasks.networks(cluster: cluster, records)
        var tasks: [ECSTask] = []
        for (id, _) in wanted {
            if let record = byId[id] { tasks.append(withNetwork(model(record, c, includeTags: includeTags), networks[id])) } else {
                failures.append(Failure(arn: c.backend.scope.task(c.account, cluster: cluster, id: id), reason: "MISSING"))
            }
        }
        return TasksResponse(tasks: tasks, failures: failures)
    }

    /// An awsvpc task's ENI attachment, and the interface entry of each of its containers (they share it).
    static func withNetwork(_ task: ECSTask, _ network: TaskNetworkView?) -> ECSTask {
        guard let network else { return task }
        var task = task
        task.attachments = [network.attachment]
        task.containers = task.containers?.map { container in
            var container = container
            container.networkInterfaces = [network.networkInterface]
            return container
        }
        return task
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
        let ids = try await c.tasks.list(cluster: cluster, filter: filter, after: after, limit: limit + 1)
        let page = ids.prefix(limit)
        return ListTasksResponse(taskArns: page.map { c.backend.scope.task(c.account, cluster: cluster, id: $0) },
                                 nextToken: ids.count > limit ? page.last.map { PageToken.encode([$0]) } : nil)
    }
}

extension Caller {
    var tasks: Tasks { Tasks(tenant: tenant, stores: ecsStores) }
}
