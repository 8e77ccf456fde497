import Foundation
import PostgresNIO
import StowageIAM
import StowageModel
import StowageStore

/// ECS container instances and their attributes: registration (with the instance's own credential), state changes
/// and deregistration each in one transaction that also asks the cluster to reconcile; the reads on one connection.
/// The door has parsed the references and authorized the call.
public struct ContainerInstances: Sendable {
    /// What the live tasks on one instance hold.
    public struct Usage: Sendable {
        public var running = 0
        public var pending = 0
        public var cpu = 0
        public var memory = 0
        public var tcp = Set<Int>()
        public var udp = Set<Int>()
        public var groups = Set<String>()

        public init() {}
    }

    /// A RegisterContainerInstance request as the door checked it.
    public struct Registration: Sendable {
        public var cluster: String
        /// The instance the request names to register again: its reference, and its id or why that reference is
        /// refused (a refusal that counts only once the cluster is found ACTIVE).
        public var named: (reference: String, id: Result<String, APIError>)?
        /// The host's EC2 id, from its identity document, else a fresh one; `identified` says which.
        public var ec2InstanceId: String
        public var identified: Bool
        public var resources: [Resource]
        public var attributes: [Attribute]
        public var versionInfo: VersionInfo?
        public var tags: [Tag]

        public init(cluster: String, named: (reference: String, id: Result<String, APIError>)?, ec2InstanceId: String, identified: Bool,
                    resources: [Resource], attributes: [Attribute], versionInfo: VersionInfo?, tags: [Tag]) {
            self.cluster = cluster; self.named = named; self.ec2InstanceId = ec2InstanceId; self.identified = identified
            self.resources = resources; self.attributes = attributes; self.versionInfo = versionInfo; self.tags = tags
        }
    }

    /// The attributes PutAttributes or DeleteAttributes changes on one instance, and how the request named it.
    public struct AttributeChange: Sendable {
        public var id: String
        public var reference: String
        public var arn: String
        public var attributes: [Attribute]

        public init(id: String, reference: String, arn: String, attributes: [Attribute]) {
            self.id = id; self.reference = reference; self.arn = arn; self.attributes = attributes
        }
    }

    let tenant: TenantContext
    let stores: ECSStores
    let tenancy: Tenancy

    public init(tenant: TenantContext, stores: ECSStores, tenancy: Tenancy) {
        self.tenant = tenant; self.stores = stores; self.tenancy = tenancy
    }

    var account: String { tenant.account }
    var clusters: Clusters { Clusters(tenant: tenant, stores: stores) }

    func usage(_ conn: PostgresConnection, cluster: String) async throws -> [String: Usage] {
        var result: [String: Usage] = [:]
        for t in try await stores.tasks.live(conn, account: account, cluster: cluster) {
            guard let id = t.instanceId else { continue }
            var u = result[id] ?? Usage()
            if t.lastStatus == "RUNNING" { u.running += 1 } else if ["PROVISIONING", "PENDING", "ACTIVATING"].contains(t.lastStatus) { u.pending += 1 }
            u.cpu += t.cpu
            u.memory += t.memory
            for binding in t.containers.flatMap({ $0.networkBindings ?? [] }) {
                guard let port = binding.hostPort else { continue }
                if binding.protocol == "udp" { u.udp.insert(port) } else { u.tcp.insert(port) }
            }
            u.groups.insert(t.group)
            result[id] = u
        }
        return result
    }

    /// Registers a host, or registers its instance again (by the ARN named, else by its EC2 id), and issues the
    /// instance a credential of its own. Registrations share the cluster row (DeleteCluster waits for them); two
    /// that race on one EC2 instance id meet at its unique index, and the loser runs again to find the winner's row.
    public func register(_ r: Registration, by caller: Principal) async throws -> (ContainerInstanceRow, NewInstanceCredential) {
        // Every ECS agent names its version; an instance registered by hand without one has no heartbeat to judge.
        let byAgent = r.versionInfo?.agentVersion != nil
        let cluster = r.cluster
        return try await Database.retryingUniqueViolation { try await tenant.database.transaction { [self] conn in
            try await clusters.requireActive(conn, cluster, share: true)
            let store = stores.instances
            var existing: ContainerInstanceRow?
            if let named = r.named {
                let id = try named.id.get()
                guard let found = try await store.get(conn, account: account, cluster: cluster, ids: [id]).first,
                      found.status != "INACTIVE" else {
                    throw APIError.containerInstanceNotFound("Container instance \(named.reference) is not registered in cluster \(cluster).")
                }
                existing = found
            } else {
                existing = try await store.live(conn, account: account, cluster: cluster, ec2InstanceId: r.ec2InstanceId)
            }
            if var again = existing {
                try await requireHolder(conn, caller, cluster: cluster, instance: again.id)
                again.registeredResources = r.resources
                again.remainingResources = r.resources
                // What the agent reports wins; attributes set by PutAttributes since then persist, except the host
                // settings an agent advertises: it states all of them, so one it no longer allows does not linger.
                let reported = Set(r.attributes.map(\.name))
                again.attributes = again.attributes.filter {
                    !reported.contains($0.name) && !(byAgent && HostAllowance.isAdvertised($0.name))
                } + r.attributes
                again.versionInfo = r.versionInfo
                try await assignTaskSubnet(conn, cluster: cluster, id: again.id, attributes: &again.attributes)
                try await store.reregister(conn, account: account, again)
                if byAgent { _ = try await HeartbeatStore(logger: tenant.logger).heartbeat(conn, account: account, cluster: cluster, id: again.id) }
                try await clusters.capacityChanged(conn, cluster: cluster)
                let credential = try await tenancy.issueInstanceCredential(conn, account: account, cluster: cluster, instance: again.id,
                                                                           now: tenant.clock.now())
                return (try await store.get(conn, account: account, cluster: cluster, ids: [again.id]).first ?? again, credential)
            }
            // One host, one instance across the account's clusters: an EC2 id names the host load balancer targets reach.
            if r.identified,
               let elsewhere = try await store.clusterHolding(conn, account: account, ec2InstanceId: r.ec2InstanceId, except: cluster) {
                throw APIError.invalidParameter("EC2 instance \(r.ec2InstanceId) is registered in cluster \(elsewhere): deregister it there first.")
            }
            if caller.instance != nil {
                throw APIError.accessDenied("\(caller.arn) is a container instance's credential: it may register only that instance again, not a new one.")
            }
            try await clusters.capacityChanged(conn, cluster: cluster)
            let id = Identifier.containerInstance()
            var attributes = r.attributes
            try await assignTaskSubnet(conn, cluster: cluster, id: id, attributes: &attributes)
            let record = ContainerInstanceRow(
                cluster: cluster, id: id, ec2InstanceId: r.ec2InstanceId,
                registeredResources: r.resources, attributes: attributes, versionInfo: r.versionInfo, tags: r.tags)
            try await store.insert(conn, account: account, record)
            if byAgent { _ = try await HeartbeatStore(logger: tenant.logger).heartbeat(conn, account: account, cluster: cluster, id: id) }
            let credential = try await tenancy.issueInstanceCredential(conn, account: account, cluster: cluster, instance: id,
                                                                       now: tenant.clock.now())
            return (try await store.get(conn, account: account, cluster: cluster, ids: [id]).first ?? record, credential)
        } }
    }

    /// An awsvpc-capable instance (its agent registers `ecs.capability.task-eni`) holds a task subnet: the one it
    /// already has (a re-registration keeps it, so its running tasks keep their addresses), else the lowest free /24.
    func assignTaskSubnet(_ conn: PostgresConnection, cluster: String, id: String, attributes: inout [Attribute]) async throws {
        guard attributes.contains(where: { $0.name == AgentProtocol.awsvpcCapability }) else { return }
        attributes.removeAll { $0.name == AgentProtocol.taskSubnetAttribute || $0.name == TaskNetwork.unavailableAttribute }
        let subnets = TaskSubnetStore(logger: tenant.logger)
        var why = "no task subnet is free in \(AgentProtocol.taskAddressRange)"
        // The range is shared by every tenant: one account holds at most its share, so none can exhaust it for the rest.
        let already = try await subnets.held(conn, account: account, cluster: cluster, instance: id) != nil
        let holding = try await subnets.count(conn, account: account)
        if !already, holding >= TaskNetwork.subnetsPerAccount {
            why = "the account holds \(holding) task subnets, its limit"
        } else if let index = try await subnets.assign(conn, account: account, cluster: cluster, instance: id),
                  let subnet = TaskNetwork.subnet(index: index) {
            attributes.append(Attribute(name: AgentProtocol.taskSubnetAttribute, value: subnet))
            return
        }
        // Registered all the same, without awsvpc: the host still runs bridge, host and none tasks, and says why.
        tenant.logger.warning("instance registered without awsvpc", metadata: ["account": "\(account)", "instance": "\(id)", "why": "\(why)"])
        attributes.removeAll { $0.name == AgentProtocol.awsvpcCapability }
        attributes.append(Attribute(name: TaskNetwork.unavailableAttribute, value: "unavailable: \(why)"))
    }

    /// An instance that holds a credential of its own is registered again only with that credential: otherwise
    /// anyone allowed to register in the cluster could claim another host's instance (by its ARN or its EC2 id)
    /// and be issued its credential. An instance registered before credentials existed has none, and is claimed by
    /// its next registration.
    func requireHolder(_ conn: PostgresConnection, _ caller: Principal, cluster: String, instance: String) async throws {
        let arn = tenant.scope.containerInstance(account, cluster: cluster, id: instance)
        if let bound = caller.instance {
            guard bound.cluster == cluster, bound.id == instance else {
                throw APIError.accessDenied("\(caller.arn) may register only itself, not \(arn).")
            }
            return
        }
        guard try await !tenancy.instanceHasCredential(conn, account: account, cluster: cluster, instance: instance) else {
            throw APIError.accessDenied("Container instance \(arn) is held by its agent's own credential: only that credential registers it again. Deregister it first (DeregisterContainerInstance with force) to register the host anew.")
        }
    }

    /// The named instances of an ACTIVE cluster that exist, and what the cluster's live tasks hold on each.
    public func describe(cluster: String, ids: [String]) async throws -> (rows: [ContainerInstanceRow], usage: [String: Usage]) {
        try await tenant.database.withConnection { [self] conn in
            try await clusters.requireActive(conn, cluster)
            return (try await stores.instances.get(conn, account: account, cluster: cluster, ids: ids), try await usage(conn, cluster: cluster))
        }
    }

    /// Instance ids of an ACTIVE cluster in id order; a nil status lists every instance that is not INACTIVE.
    public func list(cluster: String, status: String?, after: String?, limit: Int) async throws -> [String] {
        try await tenant.database.withConnection { [self] conn in
            try await clusters.requireActive(conn, cluster)
            return try await stores.instances.list(conn, account: account, cluster: cluster, status: status, after: after, limit: limit)
        }
    }

    /// Every instance of an ACTIVE cluster.
    public func all(cluster: String) async throws -> [ContainerInstanceRow] {
        try await tenant.database.withConnection { [self] conn in
            try await clusters.requireActive(conn, cluster)
            return try await stores.instances.all(conn, account: account, cluster: cluster)
        }
    }

    /// Every instance of an ACTIVE cluster, with what its live tasks hold: what a cluster query filters on.
    public func allWithUsage(cluster: String) async throws -> (rows: [ContainerInstanceRow], usage: [String: Usage]) {
        try await tenant.database.withConnection { [self] conn in
            try await clusters.requireActive(conn, cluster)
            let usage = try await usage(conn, cluster: cluster)
            return (try await stores.instances.all(conn, account: account, cluster: cluster), usage)
        }
    }

    /// Marks a live instance INACTIVE; its running tasks stop only when `force` says so. The answer is the instance
    /// as it now is, and its credentials' key ids for the door to forget.
    public func deregister(cluster: String, id: String, reference: String, force: Bool) async throws
        -> (row: ContainerInstanceRow, credentialIds: [String])
    {
        try await tenant.database.transaction { [self] conn in
            var record = try await clusters.liveInstance(conn, cluster: cluster, id: id, reference: reference)
            let onIt = try await stores.tasks.live(conn, account: account, cluster: cluster)
                .filter { $0.instanceId == id && $0.desiredStatus == "RUNNING" }
            if !onIt.isEmpty {
                guard force else {
                    throw APIError.invalidParameter(
                        "Found \(onIt.count) running tasks on the instance: drain it first (UpdateContainerInstancesState DRAINING), or deregister with force.")
                }
                try await stores.tasks.stop(conn, account: account, cluster: cluster, ids: onIt.map(\.id),
                                            reason: "Container instance deregistered", code: StopCode.serviceSchedulerInitiated.rawValue)
            }
            try await stores.instances.setStatus(conn, account: account, cluster: cluster, ids: [id], status: "INACTIVE")
            // Its task subnet goes back to the pool: the attribute goes too, so nothing routes to it as this instance's.
            try await TaskSubnetStore(logger: tenant.logger).release(conn, account: account, cluster: cluster, instance: id)
            // Its tasks' addresses are the pool's again too: a task row that stays RUNNING (its host gone silent) claims none.
            try await TaskAddressStore(logger: tenant.logger).forget(conn, account: account, cluster: cluster, instance: id)
            if record.attributes.contains(where: { $0.name == AgentProtocol.taskSubnetAttribute }) {
                record.attributes.removeAll { $0.name == AgentProtocol.taskSubnetAttribute }
                try await stores.instances.setAttributes(conn, account: account, cluster: cluster, id: id, attributes: record.attributes)
            }
            try await clusters.capacityChanged(conn, cluster: cluster)
            record.status = "INACTIVE"
            record.agentConnected = false
            return (record, try await tenancy.instanceCredentialIds(conn, account: account, cluster: cluster, instance: id))
        }
    }

    /// ACTIVE or DRAINING for the named instances that are not INACTIVE; the answer is those instances as they now
    /// are, and what the cluster's live tasks hold on each.
    public func setState(cluster: String, ids: [String], status: String) async throws
        -> (rows: [ContainerInstanceRow], usage: [String: Usage])
    {
        try await tenant.database.transaction { [self] conn in
            try await clusters.requireActive(conn, cluster)
            let live = Set(try await stores.instances.get(conn, account: account, cluster: cluster, ids: ids)
                .filter { $0.status != "INACTIVE" }.map(\.id))
            let before = try await stores.instances.get(conn, account: account, cluster: cluster, ids: Array(live))
            try await stores.instances.setStatus(conn, account: account, cluster: cluster, ids: Array(live), status: status)
            if status == "DRAINING" {
                try await CapacityProviders(tenant: tenant, stores: stores).interruptSpot(conn, cluster: cluster,
                                                                                          instances: before.filter { $0.status == "ACTIVE" })
            }
            try await clusters.capacityChanged(conn, cluster: cluster)
            let usage = try await usage(conn, cluster: cluster)
            return (try await stores.instances.get(conn, account: account, cluster: cluster, ids: Array(live)), usage)
        }
    }

    /// Rewrites each instance's attribute set once (in id order), putting or removing the attributes named; the
    /// answer lists every attribute changed with its target. A target that is not a live instance is
    /// TargetNotFoundException.
    public func changeAttributes(cluster: String, _ changes: [AttributeChange], remove: Bool) async throws -> [Attribute] {
        try await tenant.database.transaction { [self] conn in
            var result: [Attribute] = []
            for target in changes.sorted(by: { $0.id < $1.id }) {
                let record: ContainerInstanceRow
                do { record = try await clusters.liveInstance(conn, cluster: cluster, id: target.id, reference: target.reference) } catch let e as APIError
                    where e.code == "InvalidParameterException" {
                    throw APIError("TargetNotFoundException", "Could not find target \(target.reference) in cluster \(cluster).")
                }
                var attributes = record.attributes
                for change in target.attributes {
                    attributes.removeAll { $0.name == change.name }
                    if !remove { attributes.append(Attribute(name: change.name, value: change.value)) }
                    result.append(Attribute(name: change.name, value: change.value, targetType: "container-instance", targetId: target.arn))
                }
                try await stores.instances.setAttributes(conn, account: account, cluster: cluster, id: target.id, attributes: attributes)
            }
            return result
        }
    }
}
