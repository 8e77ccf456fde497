import Foundation
import PostgresNIO
import StowageModel
import StowageScheduler
import StowageStore
import StowageUseCases

/// ECS container instance and attribute actions.
struct ContainerInstanceActions {
    static let resourceTypes: Set<String> = ["INTEGER", "DOUBLE", "LONG", "STRINGSET"]

    /// What the live tasks on one instance hold.
    struct Usage {
        var running = 0
        var pending = 0
        var cpu = 0
        var memory = 0
        var tcp = Set<Int>()
        var udp = Set<Int>()
        var groups = Set<String>()
    }

    static func usage(_ conn: PostgresConnection, _ c: Caller, cluster: String) async throws -> [String: Usage] {
        var result: [String: Usage] = [:]
        for t in try await c.backend.tasks.live(conn, account: c.account, cluster: cluster) {
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

    /// Registered resources less what live tasks hold, in ECS's shape.
    static func remaining(_ registered: [Resource], _ u: Usage) -> [Resource] {
        registered.map { resource in
            var r = resource
            switch resource.name {
            case "CPU": r.integerValue = (resource.integerValue ?? 0) - u.cpu
            case "MEMORY": r.integerValue = (resource.integerValue ?? 0) - u.memory
            case "PORTS": r.stringSetValue = Set((resource.stringSetValue ?? []) + u.tcp.map(String.init)).sorted()
            case "PORTS_UDP": r.stringSetValue = Set((resource.stringSetValue ?? []) + u.udp.map(String.init)).sorted()
            default: break
            }
            return r
        }
    }

    static func model(_ r: ContainerInstanceRow, _ c: Caller, usage: Usage? = nil) -> ContainerInstance {
        var m = ContainerInstance()
        m.containerInstanceArn = c.backend.scope.containerInstance(c.account, cluster: r.cluster, id: r.id)
        m.ec2InstanceId = r.ec2InstanceId
        m.version = r.version
        m.versionInfo = r.versionInfo
        m.registeredResources = r.registeredResources
        m.remainingResources = remaining(r.registeredResources, usage ?? Usage())
        m.status = r.status
        m.statusReason = r.statusReason
        m.agentConnected = r.agentConnected
        m.runningTasksCount = usage?.running ?? 0
        m.pendingTasksCount = usage?.pending ?? 0
        m.attributes = r.attributes
        m.registeredAt = r.registeredAt
        m.tags = r.tags
        return m.withECSDefaults()
    }

    static func validate(resources: [Resource]) throws(APIError) {
        var names = Set<String>()
        for resource in resources {
            guard let name = resource.name, !name.isEmpty, let type = resource.type, resourceTypes.contains(type) else {
                throw .invalidParameter("Each resource needs a name and a type of INTEGER, DOUBLE, LONG or STRINGSET.")
            }
            guard names.insert(name).inserted else { throw .invalidParameter("Resource \(name) is listed twice.") }
            let hasValue = switch type {
            case "INTEGER": resource.integerValue.map { $0 >= 0 } ?? false
            case "LONG": resource.longValue.map { $0 >= 0 } ?? false
            case "DOUBLE": resource.doubleValue.map { $0 >= 0 } ?? false
            default: resource.stringSetValue != nil
            }
            guard hasValue else { throw .invalidParameter("Resource \(name) of type \(type) needs a non-negative \(type.lowercased()) value.") }
            if name == "PORTS" || name == "PORTS_UDP" {
                for port in resource.stringSetValue ?? [] where Int(port).map({ !(0...65_535).contains($0) }) ?? true {
                    throw .invalidParameter("Resource \(name) lists '\(port)', which is not a port number.")
                }
            }
        }
        for required in ["CPU", "MEMORY"] where !names.contains(required) {
            throw .invalidParameter("totalResources must include \(required).")
        }
    }

    static func validate(attributes: [Attribute]) throws(APIError) {
        for attribute in attributes {
            try Validate.attributeName(attribute.name)
            try Validate.attributeValue(attribute.value, name: attribute.name)
        }
    }

    /// ECS derives the host's id from the signed instance identity document; without one, the host gets a fresh id.
    static func ec2InstanceId(_ document: String?) -> String {
        if let document, let data = document.data(using: .utf8),
           let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           let id = object["instanceId"] as? String, !id.isEmpty { return id }
        return Identifier.ec2Instance()
    }

    static func register(_ input: RegisterContainerInstanceRequest, _ c: Caller) async throws -> ContainerInstanceResponse {
        let (cluster, clusterArn) = try c.refs.cluster(input.cluster)
        let resources = input.totalResources ?? []
        try validate(resources: resources)
        let attributes = input.attributes ?? []
        try validate(attributes: attributes)
        try Validate.tags(input.tags)
        try await c.authorize([clusterArn])
        // Every ECS agent names its version; an instance registered by hand without one has no heartbeat to judge.
        let byAgent = input.versionInfo?.agentVersion != nil
        // Registrations share the cluster row (DeleteCluster waits for them); two that race on one EC2 instance id
        // meet at its unique index, and the loser runs again to find the winner's row.
        let (record, credential) = try await Database.retryingUniqueViolation { try await c.backend.database.transaction { conn in
            try await ClusterActions.requireActive(conn, c, cluster, share: true)
            let store = c.backend.instances
            var existing: ContainerInstanceRow?
            if let arn = input.containerInstanceArn {
                let id = try c.refs.containerInstance(arn, cluster: cluster).id
                guard let found = try await store.get(conn, account: c.account, cluster: cluster, ids: [id]).first,
                      found.status != "INACTIVE" else {
                    throw APIError.containerInstanceNotFound("Container instance \(arn) is not registered in cluster \(cluster).")
                }
                existing = found
            } else {
                existing = try await store.live(conn, account: c.account, cluster: cluster,
                                                ec2InstanceId: ec2InstanceId(input.instanceIdentityDocument))
            }
            if var again = existing {
                try await requireHolder(conn, c, cluster: cluster, instance: again.id)
                again.registeredResources = resources
                again.remainingResources = resources
                // What the agent reports wins; attributes set by PutAttributes since then persist, except the host
                // settings an agent advertises: it states all of them, so one it no longer allows does not linger.
                let reported = Set(attributes.map(\.name))
                again.attributes = again.attributes.filter {
                    !reported.contains($0.name) && !(byAgent && HostAllowance.isAdvertised($0.name))
                } + attributes
                again.versionInfo = input.versionInfo
                try await store.reregister(conn, account: c.account, again)
                if byAgent { _ = try await HeartbeatStore(logger: c.logger).heartbeat(conn, account: c.account, cluster: cluster, id: again.id) }
                try await c.clusters.capacityChanged(conn, cluster: cluster)
                let credential = try await c.backend.tenancy.issueInstanceCredential(conn, account: c.account, cluster: cluster,
                                                                                     instance: again.id, now: c.backend.clock.now())
                return (try await store.get(conn, account: c.account, cluster: cluster, ids: [again.id]).first ?? again, credential)
            }
            // One host, one instance across the account's clusters: an EC2 id names the host load balancer targets reach.
            let ec2Id = ec2InstanceId(input.instanceIdentityDocument)
            if input.instanceIdentityDocument != nil,
               let elsewhere = try await store.clusterHolding(conn, account: c.account, ec2InstanceId: ec2Id, except: cluster) {
                throw APIError.invalidParameter("EC2 instance \(ec2Id) is registered in cluster \(elsewhere): deregister it there first.")
            }
            if c.principal.instance != nil {
                throw APIError.accessDenied("\(c.principal.arn) is a container instance's credential: it may register only that instance again, not a new one.")
            }
            try await c.clusters.capacityChanged(conn, cluster: cluster)
            let id = Identifier.containerInstance()
            let record = ContainerInstanceRow(
                cluster: cluster, id: id, ec2InstanceId: ec2Id,
                registeredResources: resources, attributes: attributes, versionInfo: input.versionInfo,
                tags: input.tags ?? [])
            try await store.insert(conn, account: c.account, record)
            if byAgent { _ = try await HeartbeatStore(logger: c.logger).heartbeat(conn, account: c.account, cluster: cluster, id: id) }
            let credential = try await c.backend.tenancy.issueInstanceCredential(conn, account: c.account, cluster: cluster, instance: id,
                                                                                 now: c.backend.clock.now())
            return (try await store.get(conn, account: c.account, cluster: cluster, ids: [id]).first ?? record, credential)
        } }
        c.backend.verifier.forget(credential.accessKeyId)  // never remembered as unknown, even if presented before it existed
        var answer = ContainerInstanceResponse(containerInstance: model(record, c))
        answer.instanceCredentials = AgentProtocol.InstanceCredentials(accessKeyId: credential.accessKeyId, secretAccessKey: credential.secretAccessKey)
        return answer
    }

    /// An instance that holds a credential of its own is registered again only with that credential: otherwise
    /// anyone allowed to register in the cluster could claim another host's instance (by its ARN or its EC2 id)
    /// and be issued its credential. An instance registered before credentials existed has none, and is claimed by
    /// its next registration.
    static func requireHolder(_ conn: PostgresConnection, _ c: Caller, cluster: String, instance: String) async throws {
        let arn = c.backend.scope.containerInstance(c.account, cluster: cluster, id: instance)
        if let bound = c.principal.instance {
            guard bound.cluster == cluster, bound.id == instance else {
                throw APIError.accessDenied("\(c.principal.arn) may register only itself, not \(arn).")
            }
            return
        }
        guard try await !c.backend.tenancy.instanceHasCredential(conn, account: c.account, cluster: cluster, instance: instance) else {
            throw APIError.accessDenied("Container instance \(arn) is held by its agent's own credential: only that credential registers it again. Deregister it first (DeregisterContainerInstance with force) to register the host anew.")
        }
    }

    static func describe(_ input: DescribeContainerInstancesRequest, _ c: Caller) async throws
        -> DescribeContainerInstancesResponse
    {
        let (cluster, clusterArn) = try c.refs.cluster(input.cluster)
        guard (1...100).contains(input.containerInstances.count) else {
            throw APIError.invalidParameter("containerInstances must name between 1 and 100 instances.")
        }
        var wanted: [(id: String, arn: String)] = []
        var failures: [Failure] = []
        for reference in input.containerInstances {
            do { wanted.append(try c.refs.containerInstance(reference, cluster: cluster)) } catch {
                failures.append(Failure(arn: reference, reason: "MISSING"))
            }
        }
        try await c.authorize(wanted.map(\.arn), cluster: clusterArn)
        let (records, usages) = try await c.backend.database.withConnection { conn in
            try await ClusterActions.requireActive(conn, c, cluster)
            return (try await c.backend.instances.get(conn, account: c.account, cluster: cluster, ids: wanted.map(\.id)),
                    try await usage(conn, c, cluster: cluster))
        }
        let byId = Dictionary(records.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var found: [ContainerInstance] = []
        for (id, arn) in wanted {
            if let record = byId[id] { found.append(model(record, c, usage: usages[id])) } else {
                failures.append(Failure(arn: arn, reason: "MISSING"))
            }
        }
        return DescribeContainerInstancesResponse(containerInstances: found, failures: failures)
    }

    static func list(_ input: ListContainerInstancesRequest, _ c: Caller) async throws -> ListContainerInstancesResponse {
        let (cluster, clusterArn) = try c.refs.cluster(input.cluster)
        let limit = try Validate.maxResults(input.maxResults)
        if let status = input.status, !["ACTIVE", "DRAINING", "REGISTERING", "DEREGISTERING", "REGISTRATION_FAILED"].contains(status) {
            throw APIError.invalidParameter("status must be ACTIVE, DRAINING, REGISTERING, DEREGISTERING or REGISTRATION_FAILED.")
        }
        let query = try input.filter.map { try ClusterQuery.parse($0) }
        let after = try PageToken.decode(input.nextToken)?.first
        try await c.authorize([clusterArn])
        let ids = try await c.backend.database.withConnection { conn in
            try await ClusterActions.requireActive(conn, c, cluster)
            guard let query else {
                return try await c.backend.instances.list(
                    conn, account: c.account, cluster: cluster, status: input.status, after: after, limit: limit + 1)
            }
            let usages = try await usage(conn, c, cluster: cluster)
            return try await c.backend.instances.all(conn, account: c.account, cluster: cluster)
                .filter { r in (input.status == nil || r.status == input.status) && r.id > (after ?? "") }
                .filter { r in
                    var attributes: [String: String] = [:]
                    for a in r.attributes { attributes[a.name] = a.value ?? "" }
                    let u = usages[r.id] ?? Usage()
                    return query.matches(InstanceFacts(attributes: attributes, ec2InstanceId: r.ec2InstanceId, registeredAt: r.registeredAt,
                                                       runningTasksCount: u.running, taskGroups: u.groups))
                }
                .prefix(limit + 1).map(\.id)
        }
        let page = ids.prefix(limit)
        return ListContainerInstancesResponse(
            containerInstanceArns: page.map { c.backend.scope.containerInstance(c.account, cluster: cluster, id: $0) },
            nextToken: ids.count > limit ? page.last.map { PageToken.encode([$0]) } : nil)
    }

    /// Loads one live instance of an ACTIVE cluster, or fails with ECS's error for it.
    static func live(_ conn: PostgresConnection, _ c: Caller, cluster: String, id: String, reference: String) async throws
        -> ContainerInstanceRow
    {
        try await c.clusters.liveInstance(conn, cluster: cluster, id: id, reference: reference)
    }

    static func deregister(_ input: DeregisterContainerInstanceRequest, _ c: Caller) async throws -> ContainerInstanceResponse {
        let (cluster, _) = try c.refs.cluster(input.cluster)
        let (id, arn) = try c.refs.containerInstance(input.containerInstance, cluster: cluster)
        try await c.authorize([arn])
        let (record, keys) = try await c.backend.database.transaction { conn in
            var record = try await live(conn, c, cluster: cluster, id: id, reference: input.containerInstance)
            let onIt = try await c.backend.tasks.live(conn, account: c.account, cluster: cluster)
                .filter { $0.instanceId == id && $0.desiredStatus == "RUNNING" }
            if !onIt.isEmpty {
                guard input.force == true else {
                    throw APIError.invalidParameter(
                        "Found \(onIt.count) running tasks on the instance: drain it first (UpdateContainerInstancesState DRAINING), or deregister with force.")
                }
                try await c.backend.tasks.stop(conn, account: c.account, cluster: cluster, ids: onIt.map(\.id),
                                                reason: "Container instance deregistered", code: StopCode.serviceSchedulerInitiated.rawValue)
            }
            try await c.backend.instances.setStatus(conn, account: c.account, cluster: cluster, ids: [id], status: "INACTIVE")
            try await c.clusters.capacityChanged(conn, cluster: cluster)
            record.status = "INACTIVE"
            record.agentConnected = false
            return (record, try await c.backend.tenancy.instanceCredentialIds(conn, account: c.account, cluster: cluster, instance: id))
        }
        // Its credentials stop working at once here (their lookup finds the instance INACTIVE), elsewhere within the
        // credential cache's time.
        for key in keys { c.backend.verifier.forget(key) }
        return ContainerInstanceResponse(containerInstance: model(record, c))
    }

    static func updateState(_ input: UpdateContainerInstancesStateRequest, _ c: Caller) async throws
        -> DescribeContainerInstancesResponse
    {
        let (cluster, _) = try c.refs.cluster(input.cluster)
        guard input.status == "ACTIVE" || input.status == "DRAINING" else {
            throw APIError.invalidParameter("status must be ACTIVE or DRAINING.")
        }
        guard (1...10).contains(input.containerInstances.count) else {
            throw APIError.invalidParameter("containerInstances must name between 1 and 10 instances.")
        }
        var wanted: [(id: String, arn: String)] = []
        for reference in input.containerInstances { wanted.append(try c.refs.containerInstance(reference, cluster: cluster)) }
        try await c.authorize(wanted.map(\.arn))
        return try await c.backend.database.transaction { conn in
            try await ClusterActions.requireActive(conn, c, cluster)
            let records = try await c.backend.instances.get(conn, account: c.account, cluster: cluster, ids: wanted.map(\.id))
                .filter { $0.status != "INACTIVE" }
            let byId = Dictionary(records.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            try await c.backend.instances.setStatus(conn, account: c.account, cluster: cluster, ids: Array(byId.keys), status: input.status)
            try await c.clusters.capacityChanged(conn, cluster: cluster)
            let usages = try await usage(conn, c, cluster: cluster)
            let updated = try await c.backend.instances.get(conn, account: c.account, cluster: cluster, ids: Array(byId.keys))
            let updatedById = Dictionary(updated.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            var found: [ContainerInstance] = []
            var failures: [Failure] = []
            for (id, arn) in wanted {
                if let record = updatedById[id] { found.append(model(record, c, usage: usages[id])) } else {
                    failures.append(Failure(arn: arn, reason: "MISSING"))
                }
            }
            return DescribeContainerInstancesResponse(containerInstances: found, failures: failures)
        }
    }

    /// PutAttributes and DeleteAttributes: group the attributes by target and rewrite each target's set once.
    static func changeAttributes(_ input: AttributesRequest, _ c: Caller, remove: Bool) async throws -> AttributesResponse {
        let (cluster, _) = try c.refs.cluster(input.cluster)
        guard (1...10).contains(input.attributes.count) else {
            throw APIError.invalidParameter("attributes must hold between 1 and 10 attributes.")
        }
        var targets: [String: (arn: String, reference: String, attributes: [Attribute])] = [:]
        for attribute in input.attributes {
            try Validate.attributeName(attribute.name)
            if !remove { try Validate.attributeValue(attribute.value, name: attribute.name) }
            guard attribute.targetType == nil || attribute.targetType == "container-instance" else {
                throw APIError.invalidParameter("targetType must be container-instance.")
            }
            guard let target = attribute.targetId else {
                throw APIError("TargetNotFoundException", "Attribute \(attribute.name) needs a targetId naming a container instance.")
            }
            let (id, arn) = try c.refs.containerInstance(target, cluster: cluster)
            targets[id, default: (arn, target, [])].attributes.append(attribute)
        }
        try await c.authorize(targets.values.map(\.arn))
        return try await c.backend.database.transaction { conn in
            var result: [Attribute] = []
            for (id, target) in targets.sorted(by: { $0.key < $1.key }) {
                let record: ContainerInstanceRow
                do { record = try await live(conn, c, cluster: cluster, id: id, reference: target.reference) } catch let e as APIError
                    where e.code == "InvalidParameterException" {
                    throw APIError("TargetNotFoundException", "Could not find target \(target.reference) in cluster \(cluster).")
                }
                var attributes = record.attributes
                for change in target.attributes {
                    attributes.removeAll { $0.name == change.name }
                    if !remove { attributes.append(Attribute(name: change.name, value: change.value)) }
                    result.append(Attribute(name: change.name, value: change.value, targetType: "container-instance", targetId: target.arn))
                }
                try await c.backend.instances.setAttributes(conn, account: c.account, cluster: cluster, id: id, attributes: attributes)
            }
            return AttributesResponse(attributes: result)
        }
    }

    static func listAttributes(_ input: ListAttributesRequest, _ c: Caller) async throws -> AttributesResponse {
        let (cluster, clusterArn) = try c.refs.cluster(input.cluster)
        guard input.targetType == "container-instance" else { throw APIError.invalidParameter("targetType must be container-instance.") }
        if input.attributeValue != nil && input.attributeName == nil {
            throw APIError.invalidParameter("attributeValue can only be given with attributeName.")
        }
        let limit = try Validate.maxResults(input.maxResults)
        let after = try PageToken.decode(input.nextToken)
        try await c.authorize([clusterArn])
        let records = try await c.backend.database.withConnection { conn in
            try await ClusterActions.requireActive(conn, c, cluster)
            return try await c.backend.instances.all(conn, account: c.account, cluster: cluster)
        }
        var all: [(key: [String], attribute: Attribute)] = []
        for record in records {
            let arn = c.backend.scope.containerInstance(c.account, cluster: cluster, id: record.id)
            for attribute in record.attributes.sorted(by: { $0.name < $1.name }) {
                if let name = input.attributeName, attribute.name != name { continue }
                if let value = input.attributeValue, attribute.value != value { continue }
                all.append(([record.id, attribute.name],
                            Attribute(name: attribute.name, value: attribute.value, targetType: "container-instance", targetId: arn)))
            }
        }
        let remaining = after.map { token in all.filter { $0.key.lexicographicallyPrecedes(token) == false && $0.key != token } } ?? all
        let page = remaining.prefix(limit)
        return AttributesResponse(
            attributes: page.map(\.attribute),
            nextToken: remaining.count > limit ? page.last.map { PageToken.encode($0.key) } : nil)
    }
}
