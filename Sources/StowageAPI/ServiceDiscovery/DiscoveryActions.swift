import Foundation
import StowageModel
import StowageStore
import StowageUseCases

/// AWS Cloud Map (`Route53AutoNaming_v20170314.<Action>`): namespaces, services and instances per tenant. A handler
/// checks and authorizes what it was sent and calls one use case (StowageUseCases' Discovery*), which completes the
/// change in its own transaction and records it as an operation that reads SUCCESS.
enum DiscoveryActions {
    typealias SD = ServiceDiscovery
    static func invalid(_ message: String) -> APIError { DiscoveryRules.invalid(message) }

    static func namespaceArn(_ c: Caller, _ id: String) -> String { DiscoveryRules.namespaceArn(c.backend.scope, account: c.account, id: id) }
    static func serviceArn(_ c: Caller, _ id: String) -> String { DiscoveryRules.serviceArn(c.backend.scope, account: c.account, id: id) }

    static func namespace(_ c: Caller, _ row: NamespaceRow) -> SD.Namespace {
        SD.Namespace(id: row.id, arn: namespaceArn(c, row.id), resourceOwner: row.account, name: row.name, type: row.type,
                     description: row.description, serviceCount: row.serviceCount,
                     properties: SD.NamespaceProperties(
                        dnsProperties: row.type == "HTTP" ? nil : SD.DnsProperties(hostedZoneId: "Z" + row.id.dropFirst(3).uppercased(),
                                                                                     sOA: SD.SOA(ttl: row.soaTTL ?? 15)),
                        httpProperties: SD.HttpProperties(httpName: row.name)),
                     createDate: row.createdAt, creatorRequestId: row.creatorRequestId)
    }

    static func service(_ c: Caller, _ row: DiscoveryServiceRow) -> SD.Service {
        SD.Service(id: row.id, arn: serviceArn(c, row.id), resourceOwner: row.account, name: row.name, namespaceId: row.namespaceId,
                   description: row.description, instanceCount: row.instanceCount, dnsConfig: row.dnsConfig, type: row.type,
                   healthCheckCustomConfig: row.customHealth, createDate: row.createdAt, creatorRequestId: row.creatorRequestId)
    }

    static func checkDescription(_ text: String?) throws(APIError) {
        if let text, text.count > 1024 { throw invalid("Description may be at most 1024 characters.") }
    }

    static func checkTags(_ tags: [Tag]?) throws(APIError) {
        guard let tags else { return }
        guard tags.count <= 50 else { throw APIError("TooManyTagsException", "A resource can have at most 50 tags.") }
        for tag in tags {
            guard let key = tag.key, (1...128).contains(key.count), (tag.value ?? "").count <= 256 else {
                throw invalid("Tag keys must be 1 to 128 characters and values at most 256.")
            }
        }
    }

    static func page<T>(_ items: [T], token: String?, max: Int?) throws(APIError) -> ([T], String?) {
        let limit = max ?? 100
        guard (1...100).contains(limit) else { throw invalid("MaxResults must be between 1 and 100.") }
        let start: Int
        if let token {
            guard let n = Int(token), n >= 0, n <= items.count else { throw invalid("NextToken \(token) is not valid.") }
            start = n
        } else { start = 0 }
        let end = min(items.count, start + limit)
        return (Array(items[start..<end]), end < items.count ? String(end) : nil)
    }

    // MARK: namespaces

    static func createPrivateDns(_ input: SD.CreatePrivateDnsNamespaceRequest, _ c: Caller) async throws -> SD.OperationAnswer {
        let name = try DiscoveryRules.checkDnsName(input.name)
        guard !input.vpc.isEmpty, input.vpc.count <= 64 else { throw invalid("Vpc must be 1 to 64 characters.") }
        let ttl = input.properties?.dnsProperties.sOA?.ttl
        if let ttl, !(0...2_147_483_647).contains(ttl) { throw invalid("SOA TTL must be between 0 and 2147483647.") }
        return try await createNamespace(c, name: name, type: "DNS_PRIVATE", description: input.description, creatorRequestId: input.creatorRequestId,
                                         vpc: input.vpc, soaTTL: ttl, tags: input.tags)
    }

    static func createHttp(_ input: SD.CreateHttpNamespaceRequest, _ c: Caller) async throws -> SD.OperationAnswer {
        try DiscoveryRules.checkHttpName(input.name)
        return try await createNamespace(c, name: input.name, type: "HTTP", description: input.description, creatorRequestId: input.creatorRequestId,
                                         vpc: nil, soaTTL: nil, tags: input.tags)
    }

    static func createNamespace(_ c: Caller, name: String, type: String, description: String?, creatorRequestId: String?, vpc: String?,
                                soaTTL: Int?, tags: [Tag]?) async throws -> SD.OperationAnswer {
        try checkDescription(description)
        try checkTags(tags)
        try await c.authorize(["*"], requestTags: tags)
        return SD.OperationAnswer(operationId: try await c.discoveryNamespaces.create(
            name: name, type: type, description: description, creatorRequestId: creatorRequestId, vpc: vpc, soaTTL: soaTTL, tags: tags ?? []))
    }

    static func getNamespace(_ input: SD.IdRequest, _ c: Caller) async throws -> SD.GetNamespaceResponse {
        let row = try await c.discoveryNamespaces.namespace(input.id)
        try await c.authorize([namespaceArn(c, row.id)])
        return SD.GetNamespaceResponse(namespace: namespace(c, row))
    }

    static func listNamespaces(_ input: SD.ListRequest, _ c: Caller) async throws -> SD.ListNamespacesResponse {
        try await c.authorize(["*"])
        var rows = try await c.discoveryNamespaces.all()
        for filter in input.filters ?? [] {
            let condition = filter.condition ?? "EQ"
            guard !filter.values.isEmpty else { throw invalid("Filter \(filter.name) needs at least one value.") }
            func matches(_ value: String) throws(APIError) -> Bool {
                switch condition {
                case "EQ":
                    guard filter.values.count == 1 else { throw invalid("Condition EQ takes one value.") }
                    return value == filter.values[0]
                case "IN": return filter.values.contains(value)
                case "BEGINS_WITH": return filter.values.contains { value.hasPrefix($0) }
                default: throw invalid("Condition \(condition) is not valid for namespace filters: use EQ, IN or BEGINS_WITH.")
                }
            }
            switch filter.name {
            case "TYPE": rows = try rows.filter { row throws(APIError) in try matches(row.type) }
            case "NAME", "HTTP_NAME": rows = try rows.filter { row throws(APIError) in try matches(row.name) }
            case "RESOURCE_OWNER": rows = try rows.filter { row throws(APIError) in try matches(row.account) }
            default: throw invalid("Filter name \(filter.name) is not valid: use TYPE, NAME, HTTP_NAME or RESOURCE_OWNER.")
            }
        }
        let (items, next) = try page(rows, token: input.nextToken, max: input.maxResults)
        return SD.ListNamespacesResponse(namespaces: items.map { namespace(c, $0) }, nextToken: next)
    }

    static func deleteNamespace(_ input: SD.IdRequest, _ c: Caller) async throws -> SD.OperationAnswer {
        let row = try await c.discoveryNamespaces.namespace(input.id)
        try await c.authorize([namespaceArn(c, row.id)])
        return SD.OperationAnswer(operationId: try await c.discoveryNamespaces.delete(id: row.id, reference: input.id))
    }

    // MARK: services

    static func createService(_ input: SD.CreateServiceRequest, _ c: Caller) async throws -> SD.ServiceAnswer {
        let name = try DiscoveryRules.checkServiceName(input.name)
        try checkDescription(input.description)
        try checkTags(input.tags)
        if input.healthCheckConfig != nil {
            throw invalid("HealthCheckConfig is refused: Route 53 health checks are for public DNS namespaces; use HealthCheckCustomConfig (ECS reports task health there).")
        }
        if let threshold = input.healthCheckCustomConfig?.failureThreshold, !(1...10).contains(threshold) {
            throw invalid("HealthCheckCustomConfig.FailureThreshold must be between 1 and 10.")
        }
        guard let namespaceRef = input.namespaceId ?? input.dnsConfig?.namespaceId else { throw invalid("NamespaceId is required.") }
        if let a = input.namespaceId, let b = input.dnsConfig?.namespaceId, a != b {
            throw invalid("NamespaceId and DnsConfig.NamespaceId name different namespaces.")
        }
        let ns = try await c.discoveryNamespaces.namespace(namespaceRef)
        var dns = input.dnsConfig
        let type: String
        if ns.type == "HTTP" {
            guard dns == nil else { throw invalid("DnsConfig is refused: namespace \(ns.name) is an HTTP namespace.") }
            if let t = input.type, t != "HTTP" { throw invalid("Type must be HTTP.") }
            type = "HTTP"
        } else if input.type == "HTTP" {
            guard dns == nil else { throw invalid("DnsConfig cannot be given with Type HTTP.") }
            type = "HTTP"
        } else {
            guard var config = dns else { throw invalid("DnsConfig is required for a service in DNS namespace \(ns.name) (or give Type HTTP).") }
            try DiscoveryRules.checkRecords(config.dnsRecords)
            try DiscoveryRules.checkRouting(config.routingPolicy)
            config.namespaceId = ns.id
            config.routingPolicy = config.routingPolicy ?? "MULTIVALUE"
            dns = config
            type = "DNS_HTTP"
        }
        let id = DiscoveryRules.newId(prefix: "srv-")
        try await c.authorize([serviceArn(c, id)], keys: ["servicediscovery:NamespaceArn": namespaceArn(c, ns.id),
                                                                                            "servicediscovery:NamespaceName": ns.name],
                              requestTags: input.tags)
        let row = try await c.discoveryServices.create(id: id, in: ns, name: name, type: type, description: input.description,
                                                       creatorRequestId: input.creatorRequestId, dnsConfig: dns,
                                                       customHealth: input.healthCheckCustomConfig, tags: input.tags ?? [])
        return SD.ServiceAnswer(service: service(c, row))
    }

    static func getService(_ input: SD.IdRequest, _ c: Caller) async throws -> SD.ServiceAnswer {
        let row = try await c.discoveryServices.service(input.id)
        try await c.authorize([serviceArn(c, row.id)])
        return SD.ServiceAnswer(service: service(c, row))
    }

    static func listServices(_ input: SD.ListRequest, _ c: Caller) async throws -> SD.ListServicesResponse {
        try await c.authorize(["*"])
        var namespaceIds: [String]? = nil
        for filter in input.filters ?? [] {
            switch filter.name {
            case "NAMESPACE_ID":
                guard ["EQ", "IN"].contains(filter.condition ?? "EQ"), !filter.values.isEmpty else {
                    throw invalid("Filter NAMESPACE_ID takes condition EQ or IN and at least one value.")
                }
                namespaceIds = filter.values.compactMap { DiscoveryRules.id($0, kind: "namespace", account: c.account) }
                if namespaceIds?.isEmpty == true { return SD.ListServicesResponse(services: [], nextToken: nil) }
            case "RESOURCE_OWNER":
                guard filter.values.contains(c.account) else { return SD.ListServicesResponse(services: [], nextToken: nil) }
            default: throw invalid("Filter name \(filter.name) is not valid: use NAMESPACE_ID or RESOURCE_OWNER.")
            }
        }
        let rows = try await c.discoveryServices.all(namespaceIds: namespaceIds)
        let (items, next) = try page(rows, token: input.nextToken, max: input.maxResults)
        return SD.ListServicesResponse(services: items.map { service(c, $0) }, nextToken: next)
    }

    static func updateService(_ input: SD.UpdateServiceRequest, _ c: Caller) async throws -> SD.OperationAnswer {
        if input.service.healthCheckConfig != nil { throw invalid("HealthCheckConfig is refused: Route 53 health checks are for public DNS namespaces.") }
        try checkDescription(input.service.description)
        let row = try await c.discoveryServices.service(input.id)
        try await c.authorize([serviceArn(c, row.id)])
        var dns = row.dnsConfig
        if let change = input.service.dnsConfig {
            guard var config = dns else { throw invalid("DnsConfig is refused: service \(row.name) has no DNS records to change.") }
            try DiscoveryRules.checkRecords(change.dnsRecords)
            guard Set(change.dnsRecords.map(\.type)) == Set(config.dnsRecords.map(\.type)) else {
                throw invalid("DnsConfig.DnsRecords may change TTLs only: the record types of a service are fixed when it is created.")
            }
            config.dnsRecords = change.dnsRecords
            dns = config
        }
        return SD.OperationAnswer(operationId: try await c.discoveryServices.update(id: row.id, description: input.service.description ?? row.description,
                                                                                     dnsConfig: dns))
    }

    static func deleteService(_ input: SD.IdRequest, _ c: Caller) async throws -> SD.Empty {
        let row = try await c.discoveryServices.service(input.id)
        try await c.authorize([serviceArn(c, row.id)])
        try await c.discoveryServices.delete(id: row.id)
        return SD.Empty()
    }

    // MARK: instances

    static func registerInstance(_ input: SD.RegisterInstanceRequest, _ c: Caller) async throws -> SD.OperationAnswer {
        try DiscoveryRules.checkInstanceId(input.instanceId)
        let row = try await c.discoveryServices.service(input.serviceId)
        try DiscoveryRules.checkAttributes(input.attributes, records: row.dnsConfig?.dnsRecords ?? [])
        if let status = input.attributes["AWS_INIT_HEALTH_STATUS"], !["HEALTHY", "UNHEALTHY"].contains(status) {
            throw invalid("AWS_INIT_HEALTH_STATUS must be HEALTHY or UNHEALTHY.")
        }
        if input.attributes["AWS_INIT_HEALTH_STATUS"] != nil, row.customHealth == nil {
            throw invalid("AWS_INIT_HEALTH_STATUS is refused: service \(row.name) has no custom health check.")
        }
        try await c.authorize([serviceArn(c, row.id)])
        return SD.OperationAnswer(operationId: try await c.discoveryInstances.register(
            serviceId: row.id, instanceId: input.instanceId, attributes: input.attributes, creatorRequestId: input.creatorRequestId))
    }

    static func deregisterInstance(_ input: SD.InstanceRequest, _ c: Caller) async throws -> SD.OperationAnswer {
        let row = try await c.discoveryServices.service(input.serviceId)
        try await c.authorize([serviceArn(c, row.id)])
        return SD.OperationAnswer(operationId: try await c.discoveryInstances.deregister(serviceId: row.id, instanceId: input.instanceId))
    }

    static func getInstance(_ input: SD.InstanceRequest, _ c: Caller) async throws -> SD.GetInstanceResponse {
        let (row, instances) = try await c.discoveryInstances.instances(of: input.serviceId)
        try await c.authorize([serviceArn(c, row.id)])
        guard let i = instances.first(where: { $0.instanceId == input.instanceId }) else { throw DiscoveryRules.instanceNotFound(input.instanceId) }
        return SD.GetInstanceResponse(resourceOwner: c.account, instance: SD.Instance(id: i.instanceId, creatorRequestId: i.creatorRequestId,
                                                                                      attributes: i.attributes, createdByAccount: c.account))
    }

    static func listInstances(_ input: SD.ListInstancesRequest, _ c: Caller) async throws -> SD.ListInstancesResponse {
        let (row, instances) = try await c.discoveryInstances.instances(of: input.serviceId)
        try await c.authorize([serviceArn(c, row.id)])
        let (items, next) = try page(instances, token: input.nextToken, max: input.maxResults)
        return SD.ListInstancesResponse(resourceOwner: c.account, instances: items.map {
            SD.Instance(id: $0.instanceId, creatorRequestId: $0.creatorRequestId, attributes: $0.attributes, createdByAccount: c.account)
        }, nextToken: next)
    }

    static func discover(_ input: SD.DiscoverInstancesRequest, _ c: Caller) async throws -> SD.DiscoverInstancesResponse {
        if let owner = input.ownerAccount, owner != c.account { throw DiscoveryRules.namespaceNotFound(input.namespaceName) }
        let filter = input.healthStatus ?? "ALL"
        guard ["HEALTHY", "UNHEALTHY", "ALL", "HEALTHY_OR_ELSE_ALL"].contains(filter) else {
            throw invalid("HealthStatus must be HEALTHY, UNHEALTHY, ALL or HEALTHY_OR_ELSE_ALL.")
        }
        let limit = input.maxResults ?? 100
        guard (1...1000).contains(limit) else { throw invalid("MaxResults must be between 1 and 1000.") }
        let (ns, row, instances) = try await c.discoveryInstances.discover(namespace: input.namespaceName, service: input.serviceName)
        try await c.authorize(["*"], keys: ["servicediscovery:NamespaceName": ns.name,
                                                                                  "servicediscovery:ServiceName": row.name])
        var picked = instances.filter { i in (input.queryParameters ?? [:]).allSatisfy { i.attributes[$0.key] == $0.value } }
        if let optional = input.optionalParameters, !optional.isEmpty {
            let narrowed = picked.filter { i in optional.allSatisfy { i.attributes[$0.key] == $0.value } }
            if !narrowed.isEmpty { picked = narrowed }
        }
        switch filter {
        case "HEALTHY": picked = picked.filter { $0.health == "HEALTHY" }
        case "UNHEALTHY": picked = picked.filter { $0.health == "UNHEALTHY" }
        case "HEALTHY_OR_ELSE_ALL":
            let healthy = picked.filter { $0.health == "HEALTHY" }
            if !healthy.isEmpty { picked = healthy }
        default: break
        }
        return SD.DiscoverInstancesResponse(instances: picked.prefix(limit).map {
            SD.HttpInstanceSummary(instanceId: $0.instanceId, namespaceName: ns.name, serviceName: row.name, healthStatus: $0.health, attributes: $0.attributes)
        }, instancesRevision: row.revision)
    }

    static func discoverRevision(_ input: SD.DiscoverInstancesRevisionRequest, _ c: Caller) async throws -> SD.DiscoverInstancesRevisionResponse {
        if let owner = input.ownerAccount, owner != c.account { throw DiscoveryRules.namespaceNotFound(input.namespaceName) }
        let (ns, row, _) = try await c.discoveryInstances.discover(namespace: input.namespaceName, service: input.serviceName)
        try await c.authorize(["*"], keys: ["servicediscovery:NamespaceName": ns.name,
                                                                                          "servicediscovery:ServiceName": row.name])
        return SD.DiscoverInstancesRevisionResponse(instancesRevision: row.revision)
    }

    static func healthStatus(_ input: SD.GetInstancesHealthStatusRequest, _ c: Caller) async throws -> SD.GetInstancesHealthStatusResponse {
        let (row, instances) = try await c.discoveryInstances.instances(of: input.serviceId)
        try await c.authorize([serviceArn(c, row.id)])
        var picked = instances
        if let wanted = input.instances {
            guard !wanted.isEmpty, wanted.count <= 1000 else { throw invalid("Instances must name 1 to 1000 instance ids.") }
            for id in wanted where !instances.contains(where: { $0.instanceId == id }) { throw DiscoveryRules.instanceNotFound(id) }
            picked = instances.filter { wanted.contains($0.instanceId) }
        }
        let (items, next) = try page(picked, token: input.nextToken, max: input.maxResults)
        return SD.GetInstancesHealthStatusResponse(status: Dictionary(items.map { ($0.instanceId, $0.health) }, uniquingKeysWith: { a, _ in a }),
                                                   nextToken: next)
    }

    static func updateHealth(_ input: SD.UpdateInstanceCustomHealthStatusRequest, _ c: Caller) async throws -> SD.Empty {
        guard ["HEALTHY", "UNHEALTHY"].contains(input.status) else { throw invalid("Status must be HEALTHY or UNHEALTHY.") }
        let row = try await c.discoveryServices.service(input.serviceId)
        try await c.authorize([serviceArn(c, row.id)])
        guard row.customHealth != nil else {
            throw APIError("CustomHealthNotFound", "Service \(row.id) has no custom health check (HealthCheckCustomConfig).")
        }
        try await c.discoveryInstances.setCustomHealth(serviceId: row.id, instanceId: input.instanceId, status: input.status)
        return SD.Empty()
    }

    // MARK: operations and tags

    static func getOperation(_ input: SD.GetOperationRequest, _ c: Caller) async throws -> SD.GetOperationResponse {
        try await c.authorize(["*"])
        if let owner = input.ownerAccount, owner != c.account {
            throw DiscoveryRules.notFound("OperationNotFound", "Operation \(input.operationId) not found.")
        }
        guard let op = try await c.discoveryOperations.operation(input.operationId) else {
            throw DiscoveryRules.notFound("OperationNotFound", "Operation \(input.operationId) not found.")
        }
        return SD.GetOperationResponse(operation: op)
    }

    static func listOperations(_ input: SD.ListRequest, _ c: Caller) async throws -> SD.ListOperationsResponse {
        try await c.authorize(["*"])
        var ops = try await c.discoveryOperations.all()
        for filter in input.filters ?? [] {
            guard ["EQ", "IN"].contains(filter.condition ?? "EQ"), !filter.values.isEmpty else {
                throw invalid("Filter \(filter.name) takes condition EQ or IN and at least one value.")
            }
            switch filter.name {
            case "NAMESPACE_ID": ops = ops.filter { op in op.targets["NAMESPACE"].map(filter.values.contains) ?? false }
            case "SERVICE_ID": ops = ops.filter { op in op.targets["SERVICE"].map(filter.values.contains) ?? false }
            case "STATUS": ops = ops.filter { filter.values.contains($0.status) }
            case "TYPE": ops = ops.filter { filter.values.contains($0.type) }
            default: throw invalid("Filter name \(filter.name) is not valid: use NAMESPACE_ID, SERVICE_ID, STATUS or TYPE.")
            }
        }
        let (items, next) = try page(ops, token: input.nextToken, max: input.maxResults)
        return SD.ListOperationsResponse(operations: items.map { SD.OperationSummary(id: $0.id, status: $0.status) }, nextToken: next)
    }

    static func tag(_ input: SD.TagResourceRequest, _ c: Caller) async throws -> SD.Empty {
        try checkTags(input.tags)
        try await c.authorize([input.resourceARN], requestTags: input.tags)
        try await c.discoveryTags.tag(input.resourceARN, input.tags, check: { try checkTags($0) })
        return SD.Empty()
    }

    static func untag(_ input: SD.UntagResourceRequest, _ c: Caller) async throws -> SD.Empty {
        try await c.authorize([input.resourceARN])
        try await c.discoveryTags.untag(input.resourceARN, keys: input.tagKeys)
        return SD.Empty()
    }

    static func listTags(_ input: SD.ListTagsForResourceRequest, _ c: Caller) async throws -> SD.ListTagsForResourceResponse {
        try await c.authorize([input.resourceARN])
        return SD.ListTagsForResourceResponse(tags: try await c.discoveryTags.tags(input.resourceARN))
    }
}

extension Caller {
    /// The Cloud Map use cases, acting for this caller's account.
    var discoveryNamespaces: DiscoveryNamespaces { DiscoveryNamespaces(tenant: tenant, store: backend.discovery) }
    var discoveryServices: DiscoveryServices { DiscoveryServices(tenant: tenant, store: backend.discovery) }
    var discoveryInstances: DiscoveryInstances { DiscoveryInstances(tenant: tenant, store: backend.discovery) }
    var discoveryOperations: DiscoveryOperations { DiscoveryOperations(tenant: tenant, store: backend.discovery) }
    var discoveryTags: DiscoveryTags { DiscoveryTags(tenant: tenant, store: backend.discovery) }
}

/// The Cloud Map actions by name (`Route53AutoNaming_v20170314.<Action>`).
public enum ServiceDiscoveryOperations {
    public static let all: [Operation] = [
        Operation.json(.servicediscovery, "CreatePrivateDnsNamespace", .write, DiscoveryActions.createPrivateDns),
        Operation.json(.servicediscovery, "CreateHttpNamespace", .write, DiscoveryActions.createHttp),
        Operation.json(.servicediscovery, "GetNamespace", .read, DiscoveryActions.getNamespace),
        Operation.json(.servicediscovery, "ListNamespaces", .read, DiscoveryActions.listNamespaces),
        Operation.json(.servicediscovery, "DeleteNamespace", .write, DiscoveryActions.deleteNamespace),
        Operation.json(.servicediscovery, "CreateService", .write, DiscoveryActions.createService),
        Operation.json(.servicediscovery, "GetService", .read, DiscoveryActions.getService),
        Operation.json(.servicediscovery, "ListServices", .read, DiscoveryActions.listServices),
        Operation.json(.servicediscovery, "UpdateService", .write, DiscoveryActions.updateService),
        Operation.json(.servicediscovery, "DeleteService", .write, DiscoveryActions.deleteService),
        Operation.json(.servicediscovery, "RegisterInstance", .write, DiscoveryActions.registerInstance),
        Operation.json(.servicediscovery, "DeregisterInstance", .write, DiscoveryActions.deregisterInstance),
        Operation.json(.servicediscovery, "GetInstance", .read, DiscoveryActions.getInstance),
        Operation.json(.servicediscovery, "ListInstances", .read, DiscoveryActions.listInstances),
        Operation.json(.servicediscovery, "DiscoverInstances", .read, DiscoveryActions.discover),
        Operation.json(.servicediscovery, "DiscoverInstancesRevision", .read, DiscoveryActions.discoverRevision),
        Operation.json(.servicediscovery, "GetInstancesHealthStatus", .read, DiscoveryActions.healthStatus),
        Operation.json(.servicediscovery, "UpdateInstanceCustomHealthStatus", .write, DiscoveryActions.updateHealth),
        Operation.json(.servicediscovery, "GetOperation", .read, DiscoveryActions.getOperation),
        Operation.json(.servicediscovery, "ListOperations", .read, DiscoveryActions.listOperations),
        Operation.json(.servicediscovery, "TagResource", .write, DiscoveryActions.tag),
        Operation.json(.servicediscovery, "UntagResource", .write, DiscoveryActions.untag),
        Operation.json(.servicediscovery, "ListTagsForResource", .read, DiscoveryActions.listTags),
    ]
}
