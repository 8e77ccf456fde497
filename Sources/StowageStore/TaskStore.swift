import Foundation
import Logging
import PostgresNIO
import StowageModel

/// A task row.
public struct TaskRow: Sendable, Equatable {
    public var cluster: String
    public var id: String
    public var family: String
    public var revision: Int
    public var service: String?
    public var deploymentId: String?
    public var startedBy: String?
    public var group: String
    public var instanceId: String?
    public var requiredInstanceId: String?
    public var lastStatus: String
    public var desiredStatus: String
    public var healthStatus: String
    public var cpu: Int
    public var memory: Int
    public var overrides: TaskOverride?
    public var containers: [Container]
    public var placementConstraints: [PlacementConstraint]
    public var placementStrategy: [PlacementStrategy]
    public var tags: [Tag]
    public var stoppedReason: String?
    public var stopCode: String?
    public var clientToken: String?
    public var createdAt: Date
    public var pullStartedAt: Date?
    public var pullStoppedAt: Date?
    /// Scale-in protection: until then, scale-in and deployments leave the task alone.
    public var protectedUntil: Date?
    /// A stopping task keeps running until then while its load balancer targets drain.
    public var stopAfter: Date?
    public var startedAt: Date?
    public var stoppingAt: Date?
    public var stoppedAt: Date?
    public var version: Int
    /// Launch type or capacity provider strategy, platform version, awsvpc configuration, the provider chosen.
    public var launch: TaskLaunch?

    public init(cluster: String, id: String, family: String, revision: Int, group: String, cpu: Int, memory: Int,
                containers: [Container]) {
        self.cluster = cluster; self.id = id; self.family = family; self.revision = revision; self.group = group
        self.lastStatus = "PROVISIONING"; self.desiredStatus = "RUNNING"; self.healthStatus = "UNKNOWN"
        self.cpu = cpu; self.memory = memory; self.containers = containers; self.placementConstraints = []
        self.placementStrategy = []; self.tags = []; self.createdAt = Date(timeIntervalSince1970: 0); self.version = 1
    }
}

/// A placement to record: task -> instance, with the containers' port bindings.
public struct TaskBinding: Sendable {
    public var taskId: String
    public var instanceId: String
    public var containers: [Container]
    /// The launch with the capacity provider placement chose; nil leaves the task's as it is.
    public var launch: TaskLaunch?
    public init(taskId: String, instanceId: String, containers: [Container], launch: TaskLaunch? = nil) {
        self.taskId = taskId; self.instanceId = instanceId; self.containers = containers; self.launch = launch
    }
}

/// Filters of ListTasks.
public struct TaskFilter: Sendable {
    public var instanceId: String?
    public var family: String?
    public var startedBy: String?
    public var service: String?
    /// RUNNING (desired RUNNING), PENDING (desired RUNNING, not yet running), STOPPED.
    public var desiredStatus: String
    public init(instanceId: String? = nil, family: String? = nil, startedBy: String? = nil, service: String? = nil,
                desiredStatus: String = "RUNNING") {
        self.instanceId = instanceId; self.family = family; self.startedBy = startedBy; self.service = service
        self.desiredStatus = desiredStatus
    }
}

public struct TaskStore: Sendable {
    public let logger: Logger
    public init(logger: Logger) { self.logger = logger }

    /// The clusters, across accounts, with tasks still waiting for an instance.
    public func clustersWithWaitingTasks(_ conn: PostgresConnection) async throws -> [(account: String, cluster: String)] {
        let rows = try await conn.query("""
            SELECT DISTINCT account_id, cluster_name FROM tasks
            WHERE instance_id IS NULL AND desired_status = 'RUNNING' AND last_status <> 'STOPPED'
            """, logger: logger)
        var out: [(account: String, cluster: String)] = []
        for try await row in rows.decode((String, String).self) { out.append(row) }
        return out
    }

    static let columns = """
        cluster_name, task_id, family, revision, service_name, deployment_id, started_by, task_group, instance_id,
        required_instance_id, last_status, desired_status, health_status, cpu, memory, overrides::text, containers::text,
        placement_constraints::text, placement_strategy::text, tags::text, stopped_reason, stop_code, client_token,
        created_at, pull_started_at, started_at, stopping_at, stopped_at, version, pull_stopped_at, protected_until, stop_after,
        launch::text
        """
    /// The same columns of `tasks t`, for statements that join.
    static let qualifiedColumns = columns.split(separator: ",").map { "t." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        .joined(separator: ", ")

    /// Inserts many tasks in one statement (absent optional values travel as '' and become NULL).
    public func insert(_ conn: PostgresConnection, account: String, _ tasks: [TaskRow]) async throws {
        guard !tasks.isEmpty else { return }
        let encoder = ECSJSON.encoder()
        func json<T: Encodable>(_ value: T) throws -> String { String(decoding: try encoder.encode(value), as: UTF8.self) }
        let overrides: [String] = try tasks.map { try $0.overrides.map(json) ?? "" }
        let containers: [String] = try tasks.map { try json($0.containers) }
        let constraints: [String] = try tasks.map { try json($0.placementConstraints) }
        let strategies: [String] = try tasks.map { try json($0.placementStrategy) }
        let tags: [String] = try tasks.map { try json($0.tags) }
        let launches: [String] = try tasks.map { try $0.launch.map(json) ?? "" }
        try await conn.query("""
            INSERT INTO tasks (account_id, cluster_name, task_id, family, revision, service_name, deployment_id, started_by,
                task_group, instance_id, required_instance_id, last_status, cpu, memory, overrides, containers,
                placement_constraints, placement_strategy, tags, client_token, launch)
            SELECT \(account), c, id, f, r, NULLIF(svc, ''), NULLIF(dep, ''), NULLIF(sb, ''), grp, NULLIF(inst, ''),
                   NULLIF(req, ''), ls, cpu, mem, NULLIF(ov, '')::jsonb, cont::jsonb, pc::jsonb, ps::jsonb, tg::jsonb,
                   NULLIF(tok, ''), NULLIF(la, '')::jsonb
            FROM unnest(
                \(tasks.map(\.cluster))::text[], \(tasks.map(\.id))::text[], \(tasks.map(\.family))::text[],
                \(tasks.map(\.revision))::int[], \(tasks.map { $0.service ?? "" })::text[],
                \(tasks.map { $0.deploymentId ?? "" })::text[], \(tasks.map { $0.startedBy ?? "" })::text[],
                \(tasks.map(\.group))::text[], \(tasks.map { $0.instanceId ?? "" })::text[],
                \(tasks.map { $0.requiredInstanceId ?? "" })::text[], \(tasks.map(\.lastStatus))::text[],
                \(tasks.map(\.cpu))::int[], \(tasks.map(\.memory))::int[], \(overrides)::text[], \(containers)::text[],
                \(constraints)::text[], \(strategies)::text[], \(tags)::text[], \(tasks.map { $0.clientToken ?? "" })::text[],
                \(launches)::text[])
              AS v(c, id, f, r, svc, dep, sb, grp, inst, req, ls, cpu, mem, ov, cont, pc, ps, tg, tok, la)
            """, logger: logger)
    }

    public func get(_ conn: PostgresConnection, account: String, cluster: String, ids: [String]) async throws -> [TaskRow] {
        try await records(conn.query("""
            SELECT \(unescaped: Self.columns) FROM tasks
            WHERE account_id = \(account) AND cluster_name = \(cluster) AND task_id = ANY(\(ids))
            """, logger: logger))
    }

    public func byClientToken(_ conn: PostgresConnection, account: String, cluster: String, token: String) async throws
        -> [TaskRow]
    {
        try await records(conn.query("""
            SELECT \(unescaped: Self.columns) FROM tasks
            WHERE account_id = \(account) AND cluster_name = \(cluster) AND client_token = \(token)
            ORDER BY task_id
            """, logger: logger))
    }

    /// Every task of the cluster that is not STOPPED: what holds resources, and what is waiting for a place.
    public func live(_ conn: PostgresConnection, account: String, cluster: String) async throws -> [TaskRow] {
        try await records(conn.query("""
            SELECT \(unescaped: Self.columns) FROM tasks
            WHERE account_id = \(account) AND cluster_name = \(cluster) AND last_status <> 'STOPPED'
            """, logger: logger))
    }

    /// The live tasks bound to one instance: an agent's poll costs O(its own tasks), not O(the cluster's).
    public func live(_ conn: PostgresConnection, account: String, cluster: String, instance: String) async throws -> [TaskRow] {
        try await records(conn.query("""
            SELECT \(unescaped: Self.columns) FROM tasks
            WHERE account_id = \(account) AND cluster_name = \(cluster) AND instance_id = \(instance) AND last_status <> 'STOPPED'
            ORDER BY task_id
            """, logger: logger))
    }

    /// The service's live tasks and those that stopped within `recent` seconds (the circuit breaker counts them).
    public func ofService(_ conn: PostgresConnection, account: String, cluster: String, service: String,
                          recent: TimeInterval = 3600) async throws -> [TaskRow] {
        try await records(conn.query("""
            SELECT \(unescaped: Self.columns) FROM tasks
            WHERE account_id = \(account) AND cluster_name = \(cluster) AND service_name = \(service)
              AND (last_status <> 'STOPPED' OR stopped_at > now() - make_interval(secs => \(recent)))
            """, logger: logger))
    }

    public func list(_ conn: PostgresConnection, account: String, cluster: String, filter: TaskFilter, after: String?,
                     limit: Int) async throws -> [String] {
        let rows = try await conn.query("""
            SELECT task_id FROM tasks
            WHERE account_id = \(account) AND cluster_name = \(cluster) AND task_id > \(after ?? "")
              AND (\(filter.instanceId)::text IS NULL OR instance_id = \(filter.instanceId))
              AND (\(filter.family)::text IS NULL OR family = \(filter.family))
              AND (\(filter.startedBy)::text IS NULL OR started_by = \(filter.startedBy))
              AND (\(filter.service)::text IS NULL OR service_name = \(filter.service))
              AND CASE \(filter.desiredStatus)
                    WHEN 'STOPPED' THEN desired_status = 'STOPPED'
                    WHEN 'PENDING' THEN desired_status = 'RUNNING' AND last_status IN ('PROVISIONING', 'PENDING', 'ACTIVATING')
                    ELSE desired_status = 'RUNNING' END
            ORDER BY task_id LIMIT \(limit)
            """, logger: logger)
        var ids: [String] = []
        for try await id in rows.decode(String.self) { ids.append(id) }
        return ids
    }

    /// Binds placed tasks to their instances in one statement; a task already bound is left alone.
    public func bind(_ conn: PostgresConnection, account: String, cluster: String, _ bindings: [TaskBinding]) async throws {
        guard !bindings.isEmpty else { return }
        let encoder = ECSJSON.encoder()
        let containers = try bindings.map { String(decoding: try encoder.encode($0.containers), as: UTF8.self) }
        let launches = try bindings.map { try $0.launch.map { String(decoding: try encoder.encode($0), as: UTF8.self) } ?? "" }
        try await conn.query("""
            UPDATE tasks t SET instance_id = v.instance_id, last_status = 'PENDING', containers = v.containers::jsonb,
                   launch = COALESCE(NULLIF(v.launch, '')::jsonb, t.launch), version = t.version + 1
            FROM unnest(\(bindings.map(\.taskId))::text[], \(bindings.map(\.instanceId))::text[], \(containers)::text[],
                        \(launches)::text[])
                 AS v(task_id, instance_id, containers, launch)
            WHERE t.account_id = \(account) AND t.cluster_name = \(cluster) AND t.task_id = v.task_id
              AND t.instance_id IS NULL
            """, logger: logger)
    }

    /// Asks tasks to stop. Tasks never placed stop at once, since nothing runs them.
    public func stop(_ conn: PostgresConnection, account: String, cluster: String, ids: [String], reason: String,
                     code: String) async throws {
        guard !ids.isEmpty else { return }
        try await conn.query("""
            UPDATE tasks SET desired_status = 'STOPPED', stopped_reason = COALESCE(stopped_reason, \(reason)),
                   stop_code = COALESCE(stop_code, \(code)), stopping_at = COALESCE(stopping_at, now()),
                   last_status = CASE WHEN instance_id IS NULL THEN 'STOPPED' ELSE last_status END,
                   stopped_at = CASE WHEN instance_id IS NULL THEN now() ELSE stopped_at END,
                   version = version + 1
            WHERE account_id = \(account) AND cluster_name = \(cluster) AND task_id = ANY(\(ids))
              AND desired_status = 'RUNNING'
            """, logger: logger)
    }

    /// Lets stopping tasks run until their targets have drained (the agent keeps them until then).
    public func drain(_ conn: PostgresConnection, account: String, cluster: String, until: [String: Date]) async throws {
        for (id, date) in until.sorted(by: { $0.key < $1.key }) {
            try await conn.query("""
                UPDATE tasks SET stop_after = \(date), version = version + 1
                WHERE account_id = \(account) AND cluster_name = \(cluster) AND task_id = \(id) AND desired_status = 'STOPPED'
                """, logger: logger)
        }
    }

    /// Removes tasks that were never placed (RunTask's failures), so nothing half-written stays behind.
    public func delete(_ conn: PostgresConnection, account: String, cluster: String, ids: [String]) async throws {
        guard !ids.isEmpty else { return }
        try await conn.query("""
            DELETE FROM tasks WHERE account_id = \(account) AND cluster_name = \(cluster) AND task_id = ANY(\(ids))
              AND instance_id IS NULL
            """, logger: logger)
    }

    /// Sets or clears scale-in protection of live tasks; returns the tasks after.
    public func protect(_ conn: PostgresConnection, account: String, cluster: String, ids: [String], until: Date?) async throws -> [TaskRow] {
        guard !ids.isEmpty else { return [] }
        return try await records(conn.query("""
            UPDATE tasks SET protected_until = \(until), version = version + 1
            WHERE account_id = \(account) AND cluster_name = \(cluster) AND task_id = ANY(\(ids)) AND last_status <> 'STOPPED'
              AND desired_status = 'RUNNING'
            RETURNING \(unescaped: Self.columns)
            """, logger: logger))
    }

    public func setTags(_ conn: PostgresConnection, account: String, cluster: String, id: String, tags: [Tag]) async throws {
        try await conn.query("""
            UPDATE tasks SET tags = \(try ECSJSON.encodeString(tags))::jsonb, version = version + 1
            WHERE account_id = \(account) AND cluster_name = \(cluster) AND task_id = \(id)
            """, logger: logger)
    }

    /// Applies an agent's state report: status only moves forward; containers and health are replaced. One
    /// statement for the whole report, so a fleet's reports hold their connections for milliseconds. Returns the tasks after.
    public func applyReports(_ conn: PostgresConnection, account: String, cluster: String, instanceId: String,
                             _ reports: [(taskId: String, state: AgentProtocol.TaskState)]) async throws -> [TaskRow] {
        guard !reports.isEmpty else { return [] }
        let order = TaskStatus.allCases.map(\.rawValue)
        // Arrays of optionals travel as "" for absent, turned back into NULL by NULLIF.
        let ids = reports.map(\.taskId)
        let statuses = reports.map(\.state.lastStatus)
        let healths = reports.map { $0.state.healthStatus ?? "" }
        let containers = try reports.map { try $0.state.containers.map { try ECSJSON.encodeString($0) } ?? "" }
        let reasons = reports.map { $0.state.stoppedReason ?? "" }
        let codes = reports.map { $0.state.stopCode ?? "" }
        // Milliseconds since the epoch, 0 for absent.
        let pullStarts = reports.map { $0.state.pullStartedAt ?? 0 }
        let pullStops = reports.map { $0.state.pullStoppedAt ?? 0 }
        return try await records(conn.query("""
            UPDATE tasks t SET
                last_status = CASE WHEN array_position(\(order)::text[], r.status) > array_position(\(order)::text[], t.last_status)
                                   THEN r.status ELSE t.last_status END,
                health_status = COALESCE(NULLIF(r.health, ''), t.health_status),
                containers = COALESCE(NULLIF(r.containers, '')::jsonb, t.containers),
                started_at = CASE WHEN r.status = 'RUNNING' THEN COALESCE(t.started_at, now()) ELSE t.started_at END,
                pull_started_at = COALESCE(t.pull_started_at, to_timestamp(NULLIF(r.pull_started, 0) / 1000.0),
                                           CASE WHEN r.status IN ('ACTIVATING', 'RUNNING') THEN now() END),
                pull_stopped_at = COALESCE(t.pull_stopped_at, to_timestamp(NULLIF(r.pull_stopped, 0) / 1000.0),
                                           CASE WHEN r.status IN ('ACTIVATING', 'RUNNING') THEN now() END),
                stopped_at = CASE WHEN r.status = 'STOPPED' THEN COALESCE(t.stopped_at, now()) ELSE t.stopped_at END,
                stopping_at = CASE WHEN r.status IN ('DEACTIVATING', 'STOPPING', 'DEPROVISIONING', 'STOPPED') THEN COALESCE(t.stopping_at, now()) ELSE t.stopping_at END,
                stopped_reason = COALESCE(t.stopped_reason, NULLIF(r.reason, '')),
                stop_code = COALESCE(t.stop_code, NULLIF(r.code, '')),
                desired_status = CASE WHEN r.status = 'STOPPED' THEN 'STOPPED' ELSE t.desired_status END,
                version = t.version + 1
            FROM unnest(\(ids)::text[], \(statuses)::text[], \(healths)::text[], \(containers)::text[], \(reasons)::text[], \(codes)::text[],
                        \(pullStarts)::int8[], \(pullStops)::int8[])
                 AS r(task_id, status, health, containers, reason, code, pull_started, pull_stopped)
            WHERE t.account_id = \(account) AND t.cluster_name = \(cluster) AND t.task_id = r.task_id AND t.instance_id = \(instanceId)
            RETURNING \(unescaped: Self.qualifiedColumns)
            """, logger: logger))
    }

    /// Running and pending task counts per instance of a cluster (for DescribeContainerInstances and clusters).
    public func countsByInstance(_ conn: PostgresConnection, account: String, cluster: String) async throws
        -> [String: (running: Int, pending: Int)]
    {
        let rows = try await conn.query("""
            SELECT instance_id, count(*) FILTER (WHERE last_status = 'RUNNING'),
                   count(*) FILTER (WHERE last_status IN ('PROVISIONING', 'PENDING', 'ACTIVATING'))
            FROM tasks WHERE account_id = \(account) AND cluster_name = \(cluster) AND last_status <> 'STOPPED'
              AND instance_id IS NOT NULL
            GROUP BY instance_id
            """, logger: logger)
        var result: [String: (running: Int, pending: Int)] = [:]
        for try await (id, running, pending) in rows.decode((String, Int, Int).self) { result[id] = (running, pending) }
        return result
    }

    func records(_ rows: PostgresRowSequence) async throws -> [TaskRow] {
        let decoder = ECSJSON.decoder()
        func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T { try decoder.decode(T.self, from: Data(text.utf8)) }
        var result: [TaskRow] = []
        for try await row in rows {
            let r = row.makeRandomAccess()
            var t = TaskRow(cluster: try r[0].decode(String.self), id: try r[1].decode(String.self),
                               family: try r[2].decode(String.self), revision: try r[3].decode(Int.self),
                               group: try r[7].decode(String.self), cpu: try r[13].decode(Int.self),
                               memory: try r[14].decode(Int.self), containers: try decode([Container].self, try r[16].decode(String.self)))
            t.service = try r[4].decode(String?.self)
            t.deploymentId = try r[5].decode(String?.self)
            t.startedBy = try r[6].decode(String?.self)
            t.instanceId = try r[8].decode(String?.self)
            t.requiredInstanceId = try r[9].decode(String?.self)
            t.lastStatus = try r[10].decode(String.self)
            t.desiredStatus = try r[11].decode(String.self)
            t.healthStatus = try r[12].decode(String.self)
            t.overrides = try r[15].decode(String?.self).map { try decode(TaskOverride.self, $0) }
            t.placementConstraints = try decode([PlacementConstraint].self, try r[17].decode(String.self))
            t.placementStrategy = try decode([PlacementStrategy].self, try r[18].decode(String.self))
            t.tags = try decode([Tag].self, try r[19].decode(String.self))
            t.stoppedReason = try r[20].decode(String?.self)
            t.stopCode = try r[21].decode(String?.self)
            t.clientToken = try r[22].decode(String?.self)
            t.createdAt = try r[23].decode(Date.self)
            t.pullStartedAt = try r[24].decode(Date?.self)
            t.startedAt = try r[25].decode(Date?.self)
            t.stoppingAt = try r[26].decode(Date?.self)
            t.stoppedAt = try r[27].decode(Date?.self)
            t.version = try r[28].decode(Int.self)
            t.pullStoppedAt = try r[29].decode(Date?.self)
            t.protectedUntil = try r[30].decode(Date?.self)
            t.stopAfter = try r[31].decode(Date?.self)
            t.launch = try r[32].decode(String?.self).map { try decode(TaskLaunch.self, $0) }
            result.append(t)
        }
        return result
    }
}

extension TaskStore {
    /// Running, pending and recently failed task counts per deployment of the named services.
    public func deploymentCounts(_ conn: PostgresConnection, account: String, cluster: String, services: [String]) async throws
        -> [String: (running: Int, pending: Int, failed: Int)]
    {
        let rows = try await conn.query("""
            SELECT deployment_id,
                   count(*) FILTER (WHERE last_status = 'RUNNING' AND desired_status = 'RUNNING'),
                   count(*) FILTER (WHERE last_status IN ('PROVISIONING', 'PENDING', 'ACTIVATING') AND desired_status = 'RUNNING'),
                   count(*) FILTER (WHERE last_status = 'STOPPED' AND stop_code IN ('TaskFailedToStart', 'EssentialContainerExited'))
            FROM tasks
            WHERE account_id = \(account) AND cluster_name = \(cluster) AND service_name = ANY(\(services))
              AND deployment_id IS NOT NULL
              AND (last_status <> 'STOPPED' OR stopped_at > now() - interval '1 hour')
            GROUP BY deployment_id
            """, logger: logger)
        var result: [String: (running: Int, pending: Int, failed: Int)] = [:]
        for try await (id, running, pending, failed) in rows.decode((String, Int, Int, Int).self) {
            result[id] = (running, pending, failed)
        }
        return result
    }

    /// Live task counts of a cluster: running, and pending as services count it (a pending task being stopped is
    /// no longer pending), so a cluster's and its services' pending counts agree.
    public func clusterCounts(_ conn: PostgresConnection, account: String, cluster: String) async throws -> (running: Int, pending: Int) {
        let rows = try await conn.query("""
            SELECT count(*) FILTER (WHERE last_status = 'RUNNING'),
                   count(*) FILTER (WHERE last_status IN ('PROVISIONING', 'PENDING', 'ACTIVATING') AND desired_status = 'RUNNING')
            FROM tasks WHERE account_id = \(account) AND cluster_name = \(cluster) AND last_status <> 'STOPPED'
            """, logger: logger)
        for try await (running, pending) in rows.decode((Int, Int).self) { return (running, pending) }
        return (0, 0)
    }
}
