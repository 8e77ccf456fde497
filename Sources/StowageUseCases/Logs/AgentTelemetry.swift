import Foundation
import StowageModel
import StowageStore
import StowageTelemetryStore

/// What agents ship (their tasks' metric samples and log lines) and the first read of it. The door gives the agent
/// protocol's tenant context for a shipment, so a fleet's writes queue on its own pool, and the tenant's for a read.
public struct AgentTelemetry: Sendable {
    let tenant: TenantContext
    let stores: ECSStores
    let store: TelemetryStore
    /// The task definitions agents receive, shared with their polls.
    let definitions: BoundedCache<String, TaskDefinition>

    public init(tenant: TenantContext, stores: ECSStores, store: TelemetryStore, definitions: BoundedCache<String, TaskDefinition>) {
        self.tenant = tenant; self.stores = stores; self.store = store; self.definitions = definitions
    }

    var account: String { tenant.account }

    /// One task's log lines for one stream, as the door accepted them (inside the time window).
    public struct LogLines: Sendable {
        public var taskId: String
        public var group: String
        public var stream: String
        public var events: [AgentProtocol.LogEvent]

        public init(taskId: String, group: String, stream: String, events: [AgentProtocol.LogEvent]) {
            self.taskId = taskId; self.group = group; self.stream = stream; self.events = events
        }
    }

    /// Stores a live instance's shipment, all or nothing: every task named must be assigned to that instance, and
    /// lines go only where the task's own definition sends them (its containers' awslogs group and stream).
    /// `reference` is how the request named the instance, `arn` its ARN.
    public func ingest(cluster: String, instance id: String, reference: String, arn: String, taskIds: Set<String>,
                       samples: [(taskId: String, sample: AgentProtocol.MetricSample)], logs: [LogLines]) async throws {
        try await tenant.database.transaction { [self] conn in
            _ = try await Clusters(tenant: tenant, stores: stores).liveInstance(conn, cluster: cluster, id: id, reference: reference)
            let known = try await stores.tasks.get(conn, account: account, cluster: cluster, ids: Array(taskIds))
            let mine = Set(known.filter { $0.instanceId == id }.map(\.id))
            if let stranger = taskIds.first(where: { !mine.contains($0) }) {
                throw APIError.accessDenied("Task \(stranger) is not assigned to container instance \(arn).")
            }
            let polls = AgentPolls(tenant: tenant, stores: stores, definitions: definitions)
            var allowed: [String: Set<String>] = [:]
            for task in known {
                guard let definition = try await polls.definition(conn, family: task.family, revision: task.revision) else { continue }
                for container in definition.containerDefinitions ?? [] {
                    if let (group, stream) = AgentProtocol.logDestination(container.logConfiguration, container: container.name ?? "", taskId: task.id) {
                        allowed[task.id, default: []].insert(group + "\u{0}" + stream)
                    }
                }
            }
            for lines in logs where allowed[lines.taskId]?.contains(lines.group + "\u{0}" + lines.stream) != true {
                throw APIError.accessDenied("Task \(lines.taskId) does not log to \(lines.group) / \(lines.stream): its definition's awslogs settings decide where its lines go.")
            }
            try await store.insertMetrics(conn, account: account, cluster: cluster, samples)
            for lines in logs {
                try await store.insertLogs(conn, account: account, group: lines.group, stream: lines.stream, lines.events)
            }
        }
    }

    /// A task's own samples in [start, end); the task must exist.
    public func taskDatapoints(cluster: String, task id: String, start: Date, end: Date) async throws -> [AgentProtocol.MetricSample] {
        try await tenant.database.withConnection { [self] conn in
            guard try await stores.tasks.get(conn, account: account, cluster: cluster, ids: [id]).first != nil else {
                throw APIError("InvalidParameterException", "The referenced task was not found.", restStatus: 404)
            }
            return try await store.taskDatapoints(conn, account: account, cluster: cluster, task: id,
                                                  taskArn: tenant.scope.task(account, cluster: cluster, id: id), start: start, end: end)
        }
    }
}
