import Foundation
import PostgresNIO
import ServiceLifecycle
import StowageIAM
import StowageModel
import StowageStore

typealias StateReportRequest = AgentProtocol.StateReport

/// The agent's side of the API: its desired task set, and its state reports.
struct AgentActions {
    static let statuses = Set(TaskStatus.allCases.map(\.rawValue))
    static let healths: Set<String> = ["HEALTHY", "UNHEALTHY", "UNKNOWN"]

    /// The instance's whole desired task set. With `after`, a long poll: it answers at once when the version
    /// differs, else when the set changes or `wait` runs out. Every poll is also the agent's heartbeat.
    static func desired(cluster clusterRef: String, instance instanceRef: String, after: String?, wait: Int, _ c: Caller)
        async throws -> AgentProtocol.DesiredTasks
    {
        guard (0...60).contains(wait) else { throw APIError.invalidParameter("wait must be between 0 and 60 seconds.") }
        let (cluster, id, arn) = try await instance(clusterRef, instanceRef, c)
        let ticket = c.backend.notifier?.subscribe(account: c.account, cluster: cluster, instance: id)
        defer { if let ticket { c.backend.notifier?.cancel(ticket) } }
        var waited = false
        while true {
            let answer = try await snapshot(cluster: cluster, id: id, arn: arn, reference: instanceRef, c)
            guard let after, answer.version == after, !waited, wait > 0, let ticket, let notifier = c.backend.notifier else {
                return answer
            }
            await withGracefulShutdownHandler {
                await notifier.wait(ticket, timeout: .seconds(wait))
            } onGracefulShutdown: {
                notifier.release(ticket)
            }
            waited = true
        }
    }

    static func snapshot(cluster: String, id: String, arn: String, reference: String, _ c: Caller) async throws
        -> AgentProtocol.DesiredTasks
    {
        // One lease, no transaction: the heartbeat with the liveness checks is one autocommitted statement (it never
        // waits on a lock held by a reader), then the read. The version is computed from the very rows that are
        // sent, so the two always agree.
        let (answer, reconnected) = try await c.backend.agentDatabase.withConnection { conn in
            let reconnected = try await heartbeat(conn, cluster: cluster, id: id, reference: reference, c)
            // A stopping task whose load balancer targets still drain runs until its stop_after: the agent sees it RUNNING.
            let now = c.backend.clock.now()
            let live = try await c.backend.tasks.live(conn, account: c.account, cluster: cluster, instance: id).map { t in
                var t = t
                if t.desiredStatus == "STOPPED", let until = t.stopAfter, until > now { t.desiredStatus = "RUNNING" }
                return t
            }
            let version = AgentProtocol.version(of: live.map { ($0.id, $0.desiredStatus) })
            // A task not yet started runs the digests its deployment's first tasks resolved (versionConsistency).
            let unstarted = Set(live.filter { $0.lastStatus == "PENDING" || $0.lastStatus == "PROVISIONING" }.compactMap(\.deploymentId))
            let pinned = try await c.backend.ecsServices.imageDigests(conn, account: c.account, cluster: cluster, deployments: unstarted.sorted())
            var tasks: [AgentProtocol.AssignedTask] = []
            for var t in live.sorted(by: { $0.id < $1.id }) {
                guard let definition = try await definition(conn, family: t.family, revision: t.revision, c) else { continue }
                if let digests = t.deploymentId.flatMap({ pinned[$0] }) {
                    for index in t.containers.indices {
                        let name = t.containers[index].name ?? ""
                        let consistent = definition.containerDefinitions?.first { $0.name == name }?.versionConsistency != "disabled"
                        if consistent, t.containers[index].imageDigest == nil { t.containers[index].imageDigest = digests[name] }
                    }
                }
                tasks.append(AgentProtocol.AssignedTask(
                    taskArn: c.backend.scope.task(c.account, cluster: cluster, id: t.id), family: t.family, revision: t.revision,
                    desiredStatus: t.desiredStatus, lastStatus: t.lastStatus, containers: t.containers, taskDefinition: definition,
                    overrides: t.overrides, group: t.group))
            }
            return (AgentProtocol.DesiredTasks(containerInstanceArn: arn, version: version, tasks: tasks), reconnected)
        }
        if reconnected {
            try await c.backend.agentDatabase.transaction { conn in try await ClusterActions.capacityChanged(conn, c, cluster: cluster) }
        }
        return answer
    }

    /// The heartbeat every agent call carries, with its liveness checks, in one statement: a call from a
    /// deregistered instance or into a cluster that is gone is refused with ECS's error. True: the agent came back.
    static func heartbeat(_ conn: PostgresConnection, cluster: String, id: String, reference: String, _ c: Caller) async throws -> Bool {
        let beat = try await HeartbeatStore(logger: c.logger).beat(conn, account: c.account, cluster: cluster, id: id)
        guard let beat, beat.clusterActive, beat.instanceLive else {
            try await ClusterActions.requireActive(conn, c, cluster)
            throw APIError.containerInstanceNotFound("Container instance \(reference) not found in cluster \(cluster).")
        }
        return beat.reconnected
    }

    /// A task definition revision as agents receive it. Revisions never change what they run, so every poll of
    /// the fleet shares one bounded memo instead of reading each revision from the database every time.
    static func definition(_ conn: PostgresConnection, family: String, revision: Int, _ c: Caller) async throws -> TaskDefinition? {
        let key = "\(c.account)/\(family):\(revision)"
        if let known = c.backend.agentDefinitions[key] { return known }
        guard let record = try await c.backend.taskDefinitions.get(conn, account: c.account, family: family, revision: revision) else {
            return nil
        }
        let model = TaskDefinitionActions.model(record, c)
        c.backend.agentDefinitions.store(model, for: key)
        return model
    }

    static func report(cluster clusterRef: String, instance instanceRef: String, _ input: StateReportRequest, _ c: Caller) async throws
        -> AgentProtocol.StateReportAnswer
    {
        let (cluster, id, arn) = try await instance(clusterRef, instanceRef, c)
        guard input.tasks.count <= 500 else { throw APIError.invalidParameter("A report holds at most 500 tasks.") }
        // A bad entry is set aside with its reason; the rest of the report still applies.
        var ignored: [String: String] = [:]
        var reports: [(id: String, report: AgentProtocol.TaskState)] = []
        for report in input.tasks {
            if !statuses.contains(report.lastStatus) {
                ignored[report.taskArn] = "lastStatus '\(report.lastStatus)' is not a task status."
            } else if let health = report.healthStatus, !healths.contains(health) {
                ignored[report.taskArn] = "healthStatus must be HEALTHY, UNHEALTHY or UNKNOWN."
            } else if let code = report.stopCode, StopCode(rawValue: code) == nil {
                ignored[report.taskArn] = "stopCode '\(code)' is not an ECS stop code."
            } else if let bad = report.containers?.first(where: { $0.imageDigest.map { !ImageReference.isDigest($0) } ?? false }) {
                // Recorded for the deployment, a digest is what the other hosts pull (name@digest).
                ignored[report.taskArn] = "The imageDigest of container \(bad.name ?? "") must be sha256: and 64 lower-case hex digits."
            } else {
                do {
                    reports.append((try TaskActions.taskId(report.taskArn, cluster: cluster), report))
                } catch {
                    ignored[report.taskArn] = error.message
                }
            }
        }
        // The heartbeat (with the liveness checks) commits on its own, before the report's transaction: held to a
        // report's commit, its row would make the agent's concurrent poll wait on a lock while holding a pooled
        // connection, and under a fleet-wide burst those waits exhaust the pool (measured: 0 -> 1,433 503s).
        let reconnected = try await c.backend.agentDatabase.withConnection { conn in
            try await heartbeat(conn, cluster: cluster, id: id, reference: instanceRef, c)
        }
        let answer = try await c.backend.agentDatabase.transaction { conn in
            if reconnected { try await ClusterActions.capacityChanged(conn, c, cluster: cluster) }
            let known = try await c.backend.tasks.get(conn, account: c.account, cluster: cluster, ids: reports.map(\.id))
            let mine = Dictionary(known.filter { $0.instanceId == id }.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            for stranger in reports where mine[stranger.id] == nil {
                ignored[stranger.report.taskArn] = "Task \(stranger.report.taskArn) is not assigned to container instance \(arn)."
            }
            // A task named twice in one report: its last entry counts, as if applied in order.
            let latest = Dictionary(reports.filter { mine[$0.id] != nil }.map { ($0.id, $0.report) }, uniquingKeysWith: { _, last in last })
            guard try await c.backend.instances.recordReport(conn, account: c.account, cluster: cluster, id: id, sequence: input.sequence) else {
                return AgentProtocol.StateReportAnswer(accepted: false, sequence: input.sequence)
            }
            var services = Set<String>()
            var freed = false
            let applied = try await c.backend.tasks.applyReports(conn, account: c.account, cluster: cluster, instanceId: id,
                                                                  latest.map { (taskId: $0.key, state: $0.value) })
            let digests = applied.flatMap { task in
                task.containers.compactMap { container -> (service: String, deployment: String, container: String, digest: String)? in
                    guard let service = task.service, let deployment = task.deploymentId, let name = container.name,
                          let digest = container.imageDigest else { return nil }
                    return (service, deployment, name, digest)
                }
            }
            try await c.backend.ecsServices.recordImageDigests(conn, account: c.account, cluster: cluster, digests)
            for after in applied {
                guard let before = mine[after.id] else { continue }
                let changed = after.lastStatus != before.lastStatus || after.healthStatus != before.healthStatus
                if changed, let service = after.service { services.insert(service) }
                if after.lastStatus == "STOPPED" && before.lastStatus != "STOPPED" { freed = true }
            }
            let queue = JobQueue(logger: c.logger)
            for service in services.sorted() { try await queue.reconcile(conn, account: c.account, cluster: cluster, service: service) }
            if freed { try await queue.place(conn, account: c.account, cluster: cluster) }
            return AgentProtocol.StateReportAnswer(accepted: true, sequence: input.sequence, ignored: ignored.isEmpty ? nil : ignored)
        }
        if let ignored = answer.ignored {
            c.logger.warning("state report entries ignored", metadata: ["instance": "\(arn)", "ignored": "\(ignored)"])
        }
        return answer
    }
}

extension ClusterActions {
    /// Capacity or eligibility changed (an instance joined, drained or left): every service of the cluster
    /// reconciles, and waiting tasks get another placement pass.
    static func capacityChanged(_ conn: PostgresConnection, _ c: Caller, cluster: String) async throws {
        let queue = JobQueue(logger: c.logger)
        for service in try await c.backend.ecsServices.live(conn, account: c.account, cluster: cluster) {
            try await queue.reconcile(conn, account: c.account, cluster: cluster, service: service.name)
        }
        try await queue.place(conn, account: c.account, cluster: cluster)
    }

}

extension AgentActions {
    /// The instance an agent route names, once the caller is shown to be that instance: only the credential issued
    /// to an instance at its registration speaks for it (a user's or a cluster-wide agent key does not), so a host
    /// can neither read another host's task secrets and credentials nor report or heartbeat for it.
    static func instance(_ clusterRef: String, _ instanceRef: String, action: IAMAction? = nil, _ c: Caller) async throws
        -> (cluster: String, id: String, arn: String)
    {
        let (cluster, _) = try c.refs.cluster(clusterRef)
        let (id, arn) = try c.refs.containerInstance(instanceRef, cluster: cluster)
        guard let action = action ?? c.operation else { throw APIError.server() }
        guard let bound = c.principal.instance else {
            c.trail.note(action: action.description, resources: [arn])
            c.trail.deny()
            throw APIError.accessDenied("\(c.principal.arn) is not a container instance: the agent protocol takes the credential an instance is given when it registers (RegisterContainerInstance's instanceCredentials).")
        }
        guard bound.cluster == cluster, bound.id == id else {
            c.trail.note(action: action.description, resources: [arn])
            c.trail.deny()
            throw APIError.accessDenied("\(c.principal.arn) speaks only for itself, not for \(arn).")
        }
        try await c.authorize(action, [arn])
        return (cluster, id, arn)
    }

    /// A new credential for the calling instance; the one it signed with keeps working for the grace period, so the
    /// agent switches without a failed call.
    static func rotateCredentials(cluster clusterRef: String, instance instanceRef: String, _ c: Caller) async throws
        -> AgentProtocol.InstanceCredentials
    {
        let (cluster, id, _) = try await instance(clusterRef, instanceRef, c)
        let issued = try await c.backend.agentDatabase.transaction { conn in
            _ = try await ContainerInstanceActions.live(conn, c, cluster: cluster, id: id, reference: instanceRef)
            return try await c.backend.tenancy.issueInstanceCredential(conn, account: c.account, cluster: cluster, instance: id,
                                                                       now: c.backend.clock.now())
        }
        c.backend.verifier.forget(issued.accessKeyId)
        return AgentProtocol.InstanceCredentials(accessKeyId: issued.accessKeyId, secretAccessKey: issued.secretAccessKey)
    }

    /// A task the calling agent may act for: placed on its instance and not stopped. `action` is authorized on
    /// the instance (the agent's own policy), as the credentials and secrets endpoints need.
    /// The DNS names the agent's resolver answers for its containers: its own tenant's, never another's (the
    /// account is the agent's). Reading them is discovering instances, so that is what is authorized.
    static func discoveryNames(cluster clusterRef: String, instance instanceRef: String, _ c: Caller) async throws -> ServiceDiscovery.DNSNames {
        _ = try await instance(clusterRef, instanceRef, action: .agentPoll, c)
        try await c.authorize(.discoverInstances, ["*"])
        let names = try await c.backend.database.withConnection { conn in
            try await DiscoveryStore(logger: c.logger).dnsNames(conn, account: c.account)
        }
        return ServiceDiscovery.DNSNames(names: names)
    }

    static func placedTask(cluster clusterRef: String, instance instanceRef: String, task taskRef: String, _ c: Caller)
        async throws -> (cluster: String, taskId: String, task: TaskRow, definition: TaskDefinition)
    {
        let (cluster, id, arn) = try await instance(clusterRef, instanceRef, c)
        let taskId = try TaskActions.taskId(taskRef, cluster: cluster)
        let (task, definition) = try await c.backend.agentDatabase.withConnection { conn in
            _ = try await ContainerInstanceActions.live(conn, c, cluster: cluster, id: id, reference: instanceRef)
            guard let task = try await c.backend.tasks.get(conn, account: c.account, cluster: cluster, ids: [taskId]).first,
                  task.instanceId == id, task.lastStatus != "STOPPED" else {
                throw APIError.invalidParameter("Task \(taskRef) is not running on container instance \(arn).")
            }
            let definition = try await c.backend.taskDefinitions.get(conn, account: c.account, family: task.family, revision: task.revision)
            return (task, definition)
        }
        guard let definition else { throw APIError.taskDefinitionNotFound() }
        return (cluster, taskId, task, definition.body)
    }

    /// A role of the caller's account that trusts ECS tasks, or why it cannot be used.
    static func taskRole(_ roleArn: String, _ c: Caller) async throws -> (role: RoleRow?, problem: String?) {
        let role = try await c.backend.agentDatabase.withConnection { try await IAMActions.role($0, c, arn: roleArn) }
        guard let role else { return (nil, "role \(roleArn) does not exist") }
        let trust = try PolicyDocument.parse(role.trustPolicy, kind: .trust, maxSize: .max)
        guard PolicyEvaluator.trustsService(trust, "ecs-tasks.amazonaws.com") else {
            return (role, "the trust policy of \(roleArn) does not allow ecs-tasks.amazonaws.com to assume it")
        }
        return (role, nil)
    }

    /// Writes a line to the task's service event log, so a failure the agent acts on is not silent.
    static func serviceEvent(_ c: Caller, cluster: String, task: TaskRow, _ message: String) async throws {
        guard let service = task.service else { return }
        try await c.backend.agentDatabase.transaction { conn in
            try await c.backend.ecsServices.addEvents(conn, account: c.account, cluster: cluster, service: service, [message])
        }
    }

    /// Temporary credentials for a task's role, for the agent to serve to the task's containers. Only the
    /// instance the task is placed on may ask. A role that was deleted (or no longer trusts ECS tasks) refuses
    /// the refresh, and the failure is written to the task's service events so it is not silent.
    static func taskCredentials(cluster clusterRef: String, instance instanceRef: String, task taskRef: String, _ c: Caller) async throws
        -> AgentProtocol.TaskCredentials
    {
        let (cluster, taskId, task, definition) = try await placedTask(cluster: clusterRef, instance: instanceRef, task: taskRef, c)
        // RunTask's override, checked with iam:PassRole when the task was run, else the definition's role.
        guard let roleArn = task.overrides?.taskRoleArn ?? definition.taskRoleArn else {
            throw APIError.invalidParameter("Task \(taskRef) has no task role (neither its task definition nor its overrides set taskRoleArn).")
        }
        let (found, problem) = try await taskRole(roleArn, c)
        if let problem {
            try await serviceEvent(c, cluster: cluster, task: task,
                                   "(service \(task.service ?? ""), task \(taskId)) could not refresh task role credentials: \(problem).")
            throw APIError.accessDenied("Task \(taskId) could not get credentials: \(problem).")
        }
        guard let role = found else { throw APIError.server() }
        let session = try await c.backend.tenancy.issueSession(
            account: c.account, role: role, sessionName: taskId, sessionPolicy: nil, duration: role.maxSessionSeconds,
            assumedBy: "ecs-tasks.amazonaws.com", now: c.backend.clock.now())
        c.backend.verifier.forget(session.accessKeyId)  // never remembered as unknown here, even if presented before it existed
        return AgentProtocol.TaskCredentials(roleArn: roleArn, accessKeyId: session.accessKeyId, secretAccessKey: session.secretAccessKey,
                                             token: session.sessionToken, expiration: UTCTime.rfc3339(session.expiration))
    }
}
