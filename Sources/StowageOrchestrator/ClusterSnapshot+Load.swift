import Foundation
import Logging
import PostgresNIO
import StowageModel
import StowageScheduler
import StowageStore

/// A service pass's snapshot with the service row it was read from (the applier writes the row back with its version).
struct LoadedService: Sendable {
    var snapshot: ClusterSnapshot
    var record: ServiceRow
}

/// All the reading of a scheduling pass, in one place, inside the caller's transaction and under the cluster lock.
extension ClusterSnapshot {
    /// What reconciling one service needs: the service (locked), its deployments, tasks, target groups and registries,
    /// the cluster's instances, the definitions it may start or inspect, its recent events, and when it may start
    /// tasks, the cluster's other live tasks for placement. Nil when the service is gone or INACTIVE.
    static func load(_ conn: PostgresConnection, account: String, cluster: String, service name: String, logger: Logger) async throws
        -> LoadedService?
    {
        let services = ServiceStore(logger: logger)
        let tasks = TaskStore(logger: logger)
        let definitions = TaskDefinitionStore(logger: logger)
        guard let record = try await services.get(conn, account: account, cluster: cluster, names: [name], lock: true).first,
              record.status != "INACTIVE" else { return nil }
        let deployments = try await services.deployments(conn, account: account, cluster: cluster, services: [name])
        let serviceTasks = try await tasks.ofService(conn, account: account, cluster: cluster, service: name)
        let addresses = try await TaskAddressStore(logger: logger).addresses(conn, account: account, cluster: cluster, ids: serviceTasks.map(\.id))
        var snapshot = ClusterSnapshot(
            account: account, cluster: cluster,
            instances: try await ContainerInstanceStore(logger: logger).all(conn, account: account, cluster: cluster).map(SnapshotInstance.init))
        var service = SnapshotService(
            name: name, status: record.status, desiredCount: record.desiredCount, schedulingStrategy: record.schedulingStrategy,
            deploymentConfiguration: record.deploymentConfiguration, placementConstraints: record.placementConstraints,
            placementStrategy: record.placementStrategy, healthCheckGracePeriod: record.healthCheckGracePeriod,
            deployments: deployments.map {
                SnapshotDeployment(id: $0.id, status: $0.status, family: $0.family, revision: $0.revision, rolloutState: $0.rolloutState,
                                   createdAt: $0.createdAt)
            },
            tasks: serviceTasks.map { t in
                var task = SnapshotTask(t)
                task.privateIPv4Address = addresses[t.id]
                return task
            }, launch: record.launch)
        var wanted: [String: (family: String, revision: Int)] = [:]
        if let primary = service.primary { wanted[primary.definitionKey] = (primary.family, primary.revision) }
        try await loadBalancing(conn, account: account, record: record, into: &service, logger: logger)
        if try await loadRegistries(conn, account: account, record: record, into: &service, logger: logger) {
            // Whether each serving task's definition has health checks decides the health its instances are given.
            for t in service.tasks where t.lastStatus == "RUNNING" && t.desiredStatus == "RUNNING" { wanted[t.definitionKey] = (t.family, t.revision) }
        }
        for (key, definition) in wanted.sorted(by: { $0.key < $1.key }) {
            snapshot.definitions[key] = try await definitions.get(conn, account: account, family: definition.family,
                                                                  revision: definition.revision)?.body
        }
        if service.mayStartTasks {
            snapshot.liveTasks = try await tasks.live(conn, account: account, cluster: cluster).map(SnapshotTask.init)
        }
        snapshot.recentEvents[name] = try await services.events(conn, account: account, cluster: cluster, service: name, limit: 50)
        snapshot.service = service
        return LoadedService(snapshot: snapshot, record: record)
    }

    /// What a placement pass needs: the cluster's instances (unless the caller read them under the same lock) and
    /// live tasks, and the definitions of the tasks waiting (unless known).
    static func load(_ conn: PostgresConnection, account: String, cluster: String, placing only: Set<String>?,
                     instances: [ContainerInstanceRow]?, definitions known: [String: TaskDefinition], logger: Logger) async throws
        -> ClusterSnapshot
    {
        let live = try await TaskStore(logger: logger).live(conn, account: account, cluster: cluster).map(SnapshotTask.init)
        var snapshot = ClusterSnapshot(account: account, cluster: cluster, liveTasks: live, definitions: known)
        let waiting = live.filter { $0.instanceId == nil && $0.desiredStatus == "RUNNING" && (only?.contains($0.id) ?? true) }
        guard !waiting.isEmpty else { return snapshot }
        let hosts: [ContainerInstanceRow]
        if let instances { hosts = instances } else { hosts = try await ContainerInstanceStore(logger: logger).all(conn, account: account, cluster: cluster) }
        snapshot.instances = hosts.map(SnapshotInstance.init)
        let store = TaskDefinitionStore(logger: logger)
        for task in waiting where snapshot.definitions[task.definitionKey] == nil {
            snapshot.definitions[task.definitionKey] = try await store.get(conn, account: account, family: task.family, revision: task.revision)?.body
        }
        return snapshot
    }

    /// The latest events of each named service, newest first: what new events are told apart from.
    static func recentEvents(_ conn: PostgresConnection, account: String, cluster: String, services names: Set<String>, logger: Logger)
        async throws -> [String: [ServiceEvent]]
    {
        var events: [String: [ServiceEvent]] = [:]
        for name in names.sorted() {
            events[name] = try await ServiceStore(logger: logger).events(conn, account: account, cluster: cluster, service: name, limit: 20)
        }
        return events
    }

    /// The service's target groups (those that still exist) and what they hold of its tasks.
    static func loadBalancing(_ conn: PostgresConnection, account: String, record: ServiceRow, into service: inout SnapshotService,
                              logger: Logger) async throws {
        guard !record.loadBalancers.isEmpty else { return }
        let store = LoadBalancerStore(logger: logger)
        for lb in record.loadBalancers {
            guard let arn = lb.targetGroupArn, case .targetGroup(_, let id)? = ELB.resource(arn, account: account),
                  let group = try await store.targetGroups(conn, account: account, ids: [id]).first,
                  let container = lb.containerName, let port = lb.containerPort else { continue }
            service.loadBalancers.append(LoadBalancerBinding(
                targetGroupId: id, targetGroupArn: arn, targetType: group.targetType, containerName: container, containerPort: port,
                deregistrationDelay: TimeInterval(group.attributes.deregistrationDelaySeconds)))
        }
        service.targets = try await store.targets(conn, taskIds: service.tasks.map(\.id)).map {
            RegisteredTarget(targetGroupId: $0.targetGroupId, targetId: $0.targetId, port: $0.port, taskId: $0.taskId, state: $0.state,
                             reason: $0.reason, description: $0.description)
        }
    }

    /// The service's Cloud Map registries (split into those that exist and those deleted behind its back) and the
    /// instances its tasks hold; false when it has neither.
    static func loadRegistries(_ conn: PostgresConnection, account: String, record: ServiceRow, into service: inout SnapshotService,
                               logger: Logger) async throws -> Bool {
        let store = DiscoveryStore(logger: logger)
        let registered = try await store.instances(conn, account: account, taskIds: service.tasks.map(\.id))
        guard !record.serviceRegistries.isEmpty || !registered.isEmpty else { return false }
        service.registryInstances = registered.map {
            RegisteredInstance(serviceId: $0.serviceId, instanceId: $0.instanceId, attributes: $0.attributes, health: $0.health, taskId: $0.taskId)
        }
        let bindings = record.serviceRegistries.compactMap { r -> ServiceRegistryBinding? in
            guard let arn = r.registryArn, let id = DiscoveryRules.id(arn, kind: "service", account: account) else { return nil }
            return ServiceRegistryBinding(serviceId: id, containerName: r.containerName, containerPort: r.containerPort, port: r.port)
        }
        // No bindings, no read: an empty id list would mean every service of the account.
        let existing = bindings.isEmpty ? [] : Set(try await store.services(conn, account: account, ids: bindings.map(\.serviceId)).map(\.id))
        service.registries = bindings.filter { existing.contains($0.serviceId) }
        service.missingRegistries = bindings.filter { !existing.contains($0.serviceId) }.map(\.serviceId)
        return true
    }
}

extension SnapshotInstance {
    init(_ r: ContainerInstanceRow) {
        self.init(id: r.id, ec2InstanceId: r.ec2InstanceId, status: r.status, agentConnected: r.agentConnected,
                  registeredResources: r.registeredResources, attributes: r.attributes, registeredAt: r.registeredAt)
    }
}

extension SnapshotTask {
    init(_ t: TaskRow) {
        self.init(id: t.id, family: t.family, revision: t.revision, service: t.service, deploymentId: t.deploymentId, startedBy: t.startedBy,
                  group: t.group, instanceId: t.instanceId, requiredInstanceId: t.requiredInstanceId, lastStatus: t.lastStatus,
                  desiredStatus: t.desiredStatus, healthStatus: t.healthStatus, cpu: t.cpu, memory: t.memory, overrides: t.overrides,
                  containers: t.containers, placementConstraints: t.placementConstraints, placementStrategy: t.placementStrategy,
                  createdAt: t.createdAt, startedAt: t.startedAt, stoppedAt: t.stoppedAt, stopCode: t.stopCode, stopAfter: t.stopAfter,
                  protectedUntil: t.protectedUntil, launch: t.launch)
    }
}
