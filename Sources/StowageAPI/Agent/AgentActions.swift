import Foundation
import ServiceLifecycle
import StowageIAM
import StowageModel
import StowageStore
import StowageUseCases

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
            let answer = try await c.agentPolls.desired(cluster: cluster, id: id, arn: arn, reference: instanceRef)
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
        let answer = try await c.taskReports.apply(cluster: cluster, id: id, arn: arn, reference: instanceRef, sequence: input.sequence,
                                                   reports, ignored: ignored)
        if let ignored = answer.ignored {
            c.logger.warning("state report entries ignored", metadata: ["instance": "\(arn)", "ignored": "\(ignored)"])
        }
        return answer
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
        let issued = try await c.agentTasks.rotateCredential(cluster: cluster, id: id, reference: instanceRef)
        c.backend.verifier.forget(issued.accessKeyId)
        return AgentProtocol.InstanceCredentials(accessKeyId: issued.accessKeyId, secretAccessKey: issued.secretAccessKey)
    }

    /// The DNS names the agent's resolver answers for its containers: its own tenant's, never another's (the
    /// account is the agent's). Reading them is discovering instances, so that is what is authorized.
    static func discoveryNames(cluster clusterRef: String, instance instanceRef: String, _ c: Caller) async throws -> ServiceDiscovery.DNSNames {
        _ = try await instance(clusterRef, instanceRef, action: .agentPoll, c)
        try await c.authorize(.discoverInstances, ["*"])
        let names = try await c.agentDiscovery.names()
        return ServiceDiscovery.DNSNames(names: names)
    }

    /// The routes to the task subnets of the account's other hosts, as `[AgentProtocol.TaskRoute]`: only the
    /// instance's own credential asks (as for its polls), and the answer never names another account's hosts.
    static func taskRoutes(cluster clusterRef: String, instance instanceRef: String, _ c: Caller) async throws -> [AgentProtocol.TaskRoute] {
        let (cluster, id, _) = try await instance(clusterRef, instanceRef, action: .agentPoll, c)
        return try await c.agentTasks.taskRoutes(cluster: cluster, id: id, reference: instanceRef)
    }

    /// A task the calling agent may act for: placed on its instance and not stopped, authorized on the instance
    /// (the agent's own policy), as the credentials and secrets endpoints need.
    static func placedTask(cluster clusterRef: String, instance instanceRef: String, task taskRef: String, _ c: Caller)
        async throws -> (cluster: String, taskId: String, task: TaskRow, definition: TaskDefinition)
    {
        let (cluster, id, arn) = try await instance(clusterRef, instanceRef, c)
        let taskId = try TaskActions.taskId(taskRef, cluster: cluster)
        let (task, definition) = try await c.agentTasks.placed(cluster: cluster, id: id, arn: arn, reference: instanceRef, taskId: taskId,
                                                               taskReference: taskRef)
        guard let definition else { throw APIError.taskDefinitionNotFound() }
        return (cluster, taskId, task, definition.body)
    }

    /// A role of the caller's account that trusts ECS tasks, or why it cannot be used.
    static func taskRole(_ roleArn: String, _ c: Caller) async throws -> (role: RoleRow?, problem: String?) {
        let role = try await c.agentTasks.role(arn: roleArn)
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
        try await c.agentTasks.serviceEvent(cluster: cluster, service: service, message)
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

extension Caller {
    /// The account this agent acts for, on the agent protocol's own pool: a fleet's polls and reports queue there,
    /// never in front of tenants' calls.
    var agentTenant: TenantContext {
        TenantContext(account: account, database: backend.agentDatabase, scope: backend.scope, clock: backend.clock, logger: logger)
    }

    var agentPolls: AgentPolls { AgentPolls(tenant: agentTenant, stores: ecsStores, definitions: backend.agentDefinitions) }
    var taskReports: TaskReports { TaskReports(tenant: agentTenant, stores: ecsStores) }
    var agentTasks: AgentTasks {
        AgentTasks(tenant: agentTenant, stores: ecsStores, tenancy: backend.tenancy,
                   iam: IAMEntities(tenant: agentTenant, store: backend.iam, authorizer: backend.authorizer))
    }
    var agentDiscovery: AgentDiscovery { AgentDiscovery(tenant: tenant) }
}
