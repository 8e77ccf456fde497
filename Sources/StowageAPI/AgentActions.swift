import Foundation
import PostgresNIO
import StowageModel
import StowageStore
import StowageWorker

/// What an agent reports about one of its tasks.
struct TaskStateReport: Codable, Sendable {
    var taskArn: String
    var lastStatus: String
    var healthStatus: String?
    var containers: [Container]?
    var stoppedReason: String?
    var stopCode: String?
}

struct StateReportRequest: Codable, Sendable {
    /// Strictly increasing per instance (agents use milliseconds since the epoch), so reports apply once and in order.
    var sequence: Int64
    var tasks: [TaskStateReport]
}

struct StateReportResponse: Codable, Sendable {
    var accepted: Bool
    var sequence: Int64
}

/// One task as its agent must run it: the definition's containers with overrides and host port bindings.
struct AgentTask: Codable, Sendable {
    var taskArn: String
    var family: String
    var revision: Int
    var desiredStatus: String
    var lastStatus: String
    var containers: [Container]
    var taskDefinition: TaskDefinition
    var overrides: TaskOverride?
}

struct DesiredTasksResponse: Codable, Sendable {
    var containerInstanceArn: String
    var tasks: [AgentTask]
}

/// The agent's side of the API: its desired task set, and its state reports.
struct AgentActions {
    static let statuses = Set(TaskStatus.allCases.map(\.rawValue))
    static let healths: Set<String> = ["HEALTHY", "UNHEALTHY", "UNKNOWN"]

    static func desired(cluster clusterRef: String, instance instanceRef: String, _ c: Caller) async throws -> DesiredTasksResponse {
        let (cluster, _) = try c.refs.cluster(clusterRef)
        let (id, arn) = try c.refs.containerInstance(instanceRef, cluster: cluster)
        try await c.authorize("ecs:Poll", [arn])
        return try await c.services.database.withConnection { conn in
            _ = try await ContainerInstanceActions.live(conn, c, cluster: cluster, id: id, reference: instanceRef)
            let live = try await c.services.tasks.live(conn, account: c.account, cluster: cluster).filter { $0.instanceId == id }
            var definitions: [String: TaskDefinition] = [:]
            var tasks: [AgentTask] = []
            for t in live.sorted(by: { $0.id < $1.id }) {
                let key = "\(t.family):\(t.revision)"
                if definitions[key] == nil {
                    definitions[key] = try await c.services.taskDefinitions.get(conn, account: c.account, family: t.family, revision: t.revision)
                        .map { TaskDefinitionActions.model($0, c) }
                }
                guard let definition = definitions[key] else { continue }
                tasks.append(AgentTask(taskArn: c.services.scope.task(c.account, cluster: cluster, id: t.id), family: t.family,
                                       revision: t.revision, desiredStatus: t.desiredStatus, lastStatus: t.lastStatus,
                                       containers: t.containers, taskDefinition: definition, overrides: t.overrides))
            }
            return DesiredTasksResponse(containerInstanceArn: arn, tasks: tasks)
        }
    }

    static func report(cluster clusterRef: String, instance instanceRef: String, _ input: StateReportRequest, _ c: Caller) async throws
        -> StateReportResponse
    {
        let (cluster, _) = try c.refs.cluster(clusterRef)
        let (id, arn) = try c.refs.containerInstance(instanceRef, cluster: cluster)
        guard input.tasks.count <= 500 else { throw APIError.invalidParameter("A report holds at most 500 tasks.") }
        var reports: [(id: String, report: TaskStateReport)] = []
        for report in input.tasks {
            guard statuses.contains(report.lastStatus) else {
                throw APIError.invalidParameter("lastStatus '\(report.lastStatus)' is not a task status.")
            }
            if let health = report.healthStatus, !healths.contains(health) {
                throw APIError.invalidParameter("healthStatus must be HEALTHY, UNHEALTHY or UNKNOWN.")
            }
            if let code = report.stopCode, StopCode(rawValue: code) == nil {
                throw APIError.invalidParameter("stopCode '\(code)' is not an ECS stop code.")
            }
            reports.append((try TaskActions.taskId(report.taskArn, cluster: cluster), report))
        }
        try await c.authorize("ecs:SubmitTaskStateChange", [arn])
        return try await c.services.database.transaction { conn in
            _ = try await ContainerInstanceActions.live(conn, c, cluster: cluster, id: id, reference: instanceRef)
            let known = try await c.services.tasks.get(conn, account: c.account, cluster: cluster, ids: reports.map(\.id))
            let mine = Dictionary(known.filter { $0.instanceId == id }.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            if let stranger = reports.first(where: { mine[$0.id] == nil }) {
                throw APIError.invalidParameter("Task \(stranger.report.taskArn) is not assigned to container instance \(arn).")
            }
            guard try await c.services.instances.recordReport(conn, account: c.account, cluster: cluster, id: id, sequence: input.sequence) else {
                return StateReportResponse(accepted: false, sequence: input.sequence)
            }
            var services = Set<String>()
            var freed = false
            for (taskId, report) in reports {
                guard let before = mine[taskId],
                      let after = try await c.services.tasks.applyReport(
                          conn, account: c.account, cluster: cluster, instanceId: id, taskId: taskId, lastStatus: report.lastStatus,
                          health: report.healthStatus, containers: report.containers, stoppedReason: report.stoppedReason,
                          stopCode: report.stopCode) else { continue }
                let changed = after.lastStatus != before.lastStatus || after.healthStatus != before.healthStatus
                if changed, let service = after.service { services.insert(service) }
                if after.lastStatus == "STOPPED" && before.lastStatus != "STOPPED" { freed = true }
            }
            let queue = JobQueue(logger: c.logger)
            for service in services.sorted() { try await queue.reconcile(conn, account: c.account, cluster: cluster, service: service) }
            if freed { try await queue.place(conn, account: c.account, cluster: cluster) }
            return StateReportResponse(accepted: true, sequence: input.sequence)
        }
    }
}

extension ClusterActions {
    /// Capacity or eligibility changed (an instance joined, drained or left): every service of the cluster
    /// reconciles, and waiting tasks get another placement pass.
    static func capacityChanged(_ conn: PostgresConnection, _ c: Caller, cluster: String) async throws {
        let queue = JobQueue(logger: c.logger)
        for service in try await c.services.ecsServices.live(conn, account: c.account, cluster: cluster) {
            try await queue.reconcile(conn, account: c.account, cluster: cluster, service: service.name)
        }
        try await queue.place(conn, account: c.account, cluster: cluster)
    }
}
