import Foundation
import StowageModel
import StowageScheduler
import StowageStore
import StowageUseCases

/// ECS container instance and attribute actions (the door): references parsed, input checked, the call authorized;
/// what is stored is the ContainerInstances use case's.
struct ContainerInstanceActions {
    typealias Usage = ContainerInstances.Usage

    static let resourceTypes: Set<String> = ["INTEGER", "DOUBLE", "LONG", "STRINGSET"]

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
            try refuseReserved(attribute.name)
        }
    }

    /// The task subnet is the server's to give (unique across the platform, routed to by other hosts): neither an
    /// agent's registration nor PutAttributes or DeleteAttributes may name it.
    static func refuseReserved(_ name: String) throws(APIError) {
        guard name != AgentProtocol.taskSubnetAttribute else {
            throw .invalidParameter("Attribute \(name) is reserved: the server gives each instance registered with \(AgentProtocol.awsvpcCapability) its task subnet, and frees it when the instance is deregistered.")
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
        let named = input.containerInstanceArn.map { arn in
            (reference: arn, id: Result { () throws(APIError) in try c.refs.containerInstance(arn, cluster: cluster).id })
        }
        let registration = ContainerInstances.Registration(
            cluster: cluster, named: named, ec2InstanceId: ec2InstanceId(input.instanceIdentityDocument),
            identified: input.instanceIdentityDocument != nil, resources: resources, attributes: attributes,
            versionInfo: input.versionInfo, tags: input.tags ?? [])
        let (record, credential) = try await c.containerInstances.register(registration, by: c.principal)
        c.backend.verifier.forget(credential.accessKeyId)  // never remembered as unknown, even if presented before it existed
        var answer = ContainerInstanceResponse(containerInstance: model(record, c))
        answer.instanceCredentials = AgentProtocol.InstanceCredentials(accessKeyId: credential.accessKeyId, secretAccessKey: credential.secretAccessKey)
        return answer
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
        let (records, usages) = try await c.containerInstances.describe(cluster: cluster, ids: wanted.map(\.id))
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
        let ids: [String]
        if let query {
            let (records, usages) = try await c.containerInstances.allWithUsage(cluster: cluster)
            ids = records
                .filter { r in (input.status == nil || r.status == input.status) && r.id > (after ?? "") }
                .filter { r in
                    var attributes: [String: String] = [:]
                    for a in r.attributes { attributes[a.name] = a.value ?? "" }
                    let u = usages[r.id] ?? Usage()
                    return query.matches(InstanceFacts(attributes: attributes, ec2InstanceId: r.ec2InstanceId, registeredAt: r.registeredAt,
                                                       runningTasksCount: u.running, taskGroups: u.groups))
                }
                .prefix(limit + 1).map(\.id)
        } else {
            ids = try await c.containerInstances.list(cluster: cluster, status: input.status, after: after, limit: limit + 1)
        }
        let page = ids.prefix(limit)
        return ListContainerInstancesResponse(
            containerInstanceArns: page.map { c.backend.scope.containerInstance(c.account, cluster: cluster, id: $0) },
            nextToken: ids.count > limit ? page.last.map { PageToken.encode([$0]) } : nil)
    }

    static func deregister(_ input: DeregisterContainerInstanceRequest, _ c: Caller) async throws -> ContainerInstanceResponse {
        let (cluster, _) = try c.refs.cluster(input.cluster)
        let (id, arn) = try c.refs.containerInstance(input.containerInstance, cluster: cluster)
        try await c.authorize([arn])
        let (record, keys) = try await c.containerInstances.deregister(cluster: cluster, id: id, reference: input.containerInstance,
                                                                       force: input.force == true)
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
        let (updated, usages) = try await c.containerInstances.setState(cluster: cluster, ids: wanted.map(\.id), status: input.status)
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

    /// PutAttributes and DeleteAttributes: group the attributes by target and rewrite each target's set once.
    static func changeAttributes(_ input: AttributesRequest, _ c: Caller, remove: Bool) async throws -> AttributesResponse {
        let (cluster, _) = try c.refs.cluster(input.cluster)
        guard (1...10).contains(input.attributes.count) else {
            throw APIError.invalidParameter("attributes must hold between 1 and 10 attributes.")
        }
        var targets: [String: (arn: String, reference: String, attributes: [Attribute])] = [:]
        for attribute in input.attributes {
            try Validate.attributeName(attribute.name)
            try refuseReserved(attribute.name)
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
        let changes = targets.map { ContainerInstances.AttributeChange(id: $0.key, reference: $0.value.reference, arn: $0.value.arn,
                                                                       attributes: $0.value.attributes) }
        return AttributesResponse(attributes: try await c.containerInstances.changeAttributes(cluster: cluster, changes, remove: remove))
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
        let records = try await c.containerInstances.all(cluster: cluster)
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

extension Caller {
    var containerInstances: ContainerInstances { ContainerInstances(tenant: tenant, stores: ecsStores, tenancy: backend.tenancy) }
}
