import Foundation
import PostgresNIO
import StowageModel
import StowageStore

/// An agent's poll: its heartbeat, then the instance's whole desired task set. Runs on the agent protocol's own pool
/// (the tenant context the door gives it), so a fleet's polls never queue in front of tenants' calls.
public struct AgentPolls: Sendable {
    let tenant: TenantContext
    let stores: ECSStores
    /// Task definition revisions as agents receive them, shared by every poll of the process.
    let definitions: BoundedCache<String, TaskDefinition>

    public init(tenant: TenantContext, stores: ECSStores, definitions: BoundedCache<String, TaskDefinition>) {
        self.tenant = tenant; self.stores = stores; self.definitions = definitions
    }

    var account: String { tenant.account }

    /// The desired set the instance runs, with its version; `reference` is how the request named the instance.
    public func desired(cluster: String, id: String, arn: String, reference: String) async throws -> AgentProtocol.DesiredTasks {
        // One lease, no transaction: the heartbeat with the liveness checks is one autocommitted statement (it never
        // waits on a lock held by a reader), then the read. The version is computed from the very rows that are
        // sent, so the two always agree.
        let (answer, reconnected) = try await tenant.database.withConnection { [self] conn in
            let reconnected = try await Clusters(tenant: tenant, stores: stores).heartbeat(conn, cluster: cluster, id: id, reference: reference)
            // A stopping task whose load balancer targets still drain runs until its stop_after: the agent sees it RUNNING.
            let now = tenant.clock.now()
            let live = try await stores.tasks.live(conn, account: account, cluster: cluster, instance: id).map { t in
                var t = t
                if t.desiredStatus == "STOPPED", let until = t.stopAfter, until > now { t.desiredStatus = "RUNNING" }
                return t
            }
            let version = AgentProtocol.version(of: live.map { ($0.id, $0.desiredStatus) })
            // A task not yet started runs the digests its deployment's first tasks resolved (versionConsistency).
            let unstarted = Set(live.filter { $0.lastStatus == "PENDING" || $0.lastStatus == "PROVISIONING" }.compactMap(\.deploymentId))
            let pinned = try await stores.services.imageDigests(conn, account: account, cluster: cluster, deployments: unstarted.sorted())
            var tasks: [AgentProtocol.AssignedTask] = []
            for var t in live.sorted(by: { $0.id < $1.id }) {
                guard let definition = try await definition(conn, family: t.family, revision: t.revision) else { continue }
                if let digests = t.deploymentId.flatMap({ pinned[$0] }) {
                    for index in t.containers.indices {
                        let name = t.containers[index].name ?? ""
                        let consistent = definition.containerDefinitions?.first { $0.name == name }?.versionConsistency != "disabled"
                        if consistent, t.containers[index].imageDigest == nil { t.containers[index].imageDigest = digests[name] }
                    }
                }
                tasks.append(AgentProtocol.AssignedTask(
                    taskArn: tenant.scope.task(account, cluster: cluster, id: t.id), family: t.family, revision: t.revision,
                    desiredStatus: t.desiredStatus, lastStatus: t.lastStatus, containers: t.containers, taskDefinition: definition,
                    overrides: t.overrides, group: t.group, launchType: t.launch?.shownLaunchType ?? "EC2"))
            }
            return (AgentProtocol.DesiredTasks(containerInstanceArn: arn, version: version, tasks: tasks), reconnected)
        }
        if reconnected {
            try await tenant.database.transaction { [self] conn in
                try await Clusters(tenant: tenant, stores: stores).capacityChanged(conn, cluster: cluster)
            }
        }
        return answer
    }

    /// A task definition revision as agents receive it. Revisions never change what they run, so every poll of
    /// the fleet shares one bounded memo instead of reading each revision from the database every time.
    public func definition(_ conn: PostgresConnection, family: String, revision: Int) async throws -> TaskDefinition? {
        let key = "\(account)/\(family):\(revision)"
        if let known = definitions[key] { return known }
        guard let record = try await stores.taskDefinitions.get(conn, account: account, family: family, revision: revision) else {
            return nil
        }
        let model = record.model(tenant.scope, account: account)
        definitions.store(model, for: key)
        return model
    }
}

extension Clusters {
    /// The heartbeat every agent call carries, with its liveness checks, in one statement: a call from a
    /// deregistered instance or into a cluster that is gone is refused with ECS's error. True: the agent came back.
    func heartbeat(_ conn: PostgresConnection, cluster: String, id: String, reference: String) async throws -> Bool {
        let beat = try await HeartbeatStore(logger: tenant.logger).beat(conn, account: tenant.account, cluster: cluster, id: id)
        guard let beat, beat.clusterActive, beat.instanceLive else {
            try await requireActive(conn, cluster)
            throw APIError.containerInstanceNotFound("Container instance \(reference) not found in cluster \(cluster).")
        }
        return beat.reconnected
    }
}
