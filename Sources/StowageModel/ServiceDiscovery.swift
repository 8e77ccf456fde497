import Foundation

/// AWS Cloud Map shapes (botocore's `servicediscovery` model, JSON 1.1, `Route53AutoNaming_v20170314.<Action>`),
/// PascalCase on the wire through `ECSJSON.pascalEncoder()`/`pascalDecoder()`.
public enum ServiceDiscovery {
    public struct SOA: Codable, Sendable, Equatable {
        public var ttl: Int
        enum CodingKeys: String, CodingKey { case ttl = "tTL" }
        public init(ttl: Int) { self.ttl = ttl }
    }
    public struct DnsPropertiesInput: Codable, Sendable { public var sOA: SOA? }
    public struct PrivateDnsNamespaceProperties: Codable, Sendable { public var dnsProperties: DnsPropertiesInput }

    public struct CreatePrivateDnsNamespaceRequest: Codable, Sendable {
        public var name: String
        public var vpc: String
        public var creatorRequestId: String?
        public var description: String?
        public var tags: [Tag]?
        public var properties: PrivateDnsNamespaceProperties?
    }
    public struct CreateHttpNamespaceRequest: Codable, Sendable {
        public var name: String
        public var creatorRequestId: String?
        public var description: String?
        public var tags: [Tag]?
    }
    public struct OperationAnswer: Codable, Sendable {
        public var operationId: String
        public init(operationId: String) { self.operationId = operationId }
    }
    public struct IdRequest: Codable, Sendable { public var id: String }

    public struct DnsProperties: Codable, Sendable, Equatable {
        public var hostedZoneId: String?
        public var sOA: SOA?
        public init(hostedZoneId: String?, sOA: SOA?) { self.hostedZoneId = hostedZoneId; self.sOA = sOA }
    }
    public struct HttpProperties: Codable, Sendable, Equatable {
        public var httpName: String
        public init(httpName: String) { self.httpName = httpName }
    }
    public struct NamespaceProperties: Codable, Sendable, Equatable {
        public var dnsProperties: DnsProperties?
        public var httpProperties: HttpProperties
        public init(dnsProperties: DnsProperties?, httpProperties: HttpProperties) {
            self.dnsProperties = dnsProperties; self.httpProperties = httpProperties
        }
    }
    public struct Namespace: Codable, Sendable {
        public var id: String
        public var arn: String
        public var resourceOwner: String
        public var name: String
        public var type: String
        public var description: String?
        public var serviceCount: Int
        public var properties: NamespaceProperties
        public var createDate: Date
        public var creatorRequestId: String?
        public init(id: String, arn: String, resourceOwner: String, name: String, type: String, description: String?, serviceCount: Int,
                    properties: NamespaceProperties, createDate: Date, creatorRequestId: String?) {
            self.id = id; self.arn = arn; self.resourceOwner = resourceOwner; self.name = name; self.type = type
            self.description = description; self.serviceCount = serviceCount; self.properties = properties
            self.createDate = createDate; self.creatorRequestId = creatorRequestId
        }
    }
    public struct GetNamespaceResponse: Codable, Sendable {
        public var namespace: Namespace
        public init(namespace: Namespace) { self.namespace = namespace }
    }

    public struct Filter: Codable, Sendable {
        public var name: String
        public var values: [String]
        public var condition: String?
    }
    public struct ListRequest: Codable, Sendable {
        public var nextToken: String?
        public var maxResults: Int?
        public var filters: [Filter]?
    }
    public struct ListNamespacesResponse: Codable, Sendable {
        public var namespaces: [Namespace]
        public var nextToken: String?
        public init(namespaces: [Namespace], nextToken: String?) { self.namespaces = namespaces; self.nextToken = nextToken }
    }

    public struct DnsRecord: Codable, Sendable, Equatable {
        public var type: String
        public var ttl: Int
        enum CodingKeys: String, CodingKey { case type, ttl = "tTL" }
        public init(type: String, ttl: Int) { self.type = type; self.ttl = ttl }
    }
    public struct DnsConfig: Codable, Sendable, Equatable {
        public var namespaceId: String?
        public var routingPolicy: String?
        public var dnsRecords: [DnsRecord]
        public init(namespaceId: String?, routingPolicy: String?, dnsRecords: [DnsRecord]) {
            self.namespaceId = namespaceId; self.routingPolicy = routingPolicy; self.dnsRecords = dnsRecords
        }
    }
    public struct HealthCheckCustomConfig: Codable, Sendable, Equatable {
        public var failureThreshold: Int?
        public init(failureThreshold: Int?) { self.failureThreshold = failureThreshold }
    }
    public struct CreateServiceRequest: Codable, Sendable {
        public var name: String
        public var namespaceId: String?
        public var creatorRequestId: String?
        public var description: String?
        public var dnsConfig: DnsConfig?
        public var healthCheckConfig: JSONValue?
        public var healthCheckCustomConfig: HealthCheckCustomConfig?
        public var tags: [Tag]?
        public var type: String?
    }
    public struct Service: Codable, Sendable {
        public var id: String
        public var arn: String
        public var resourceOwner: String
        public var name: String
        public var namespaceId: String
        public var description: String?
        public var instanceCount: Int
        public var dnsConfig: DnsConfig?
        public var type: String
        public var healthCheckCustomConfig: HealthCheckCustomConfig?
        public var createDate: Date
        public var creatorRequestId: String?
        public var createdByAccount: String
        public init(id: String, arn: String, resourceOwner: String, name: String, namespaceId: String, description: String?, instanceCount: Int,
                    dnsConfig: DnsConfig?, type: String, healthCheckCustomConfig: HealthCheckCustomConfig?, createDate: Date,
                    creatorRequestId: String?) {
            self.id = id; self.arn = arn; self.resourceOwner = resourceOwner; self.name = name; self.namespaceId = namespaceId
            self.description = description; self.instanceCount = instanceCount; self.dnsConfig = dnsConfig; self.type = type
            self.healthCheckCustomConfig = healthCheckCustomConfig; self.createDate = createDate; self.creatorRequestId = creatorRequestId
            self.createdByAccount = resourceOwner
        }
    }
    public struct ServiceAnswer: Codable, Sendable {
        public var service: Service
        public init(service: Service) { self.service = service }
    }
    public struct ListServicesResponse: Codable, Sendable {
        public var services: [Service]
        public var nextToken: String?
        public init(services: [Service], nextToken: String?) { self.services = services; self.nextToken = nextToken }
    }
    public struct DnsConfigChange: Codable, Sendable { public var dnsRecords: [DnsRecord] }
    public struct ServiceChange: Codable, Sendable {
        public var description: String?
        public var dnsConfig: DnsConfigChange?
        public var healthCheckConfig: JSONValue?
    }
    public struct UpdateServiceRequest: Codable, Sendable {
        public var id: String
        public var service: ServiceChange
    }

    public struct RegisterInstanceRequest: Codable, Sendable {
        public var serviceId: String
        public var instanceId: String
        public var creatorRequestId: String?
        public var attributes: [String: String]
    }
    public struct InstanceRequest: Codable, Sendable {
        public var serviceId: String
        public var instanceId: String
    }
    public struct Instance: Codable, Sendable {
        public var id: String
        public var creatorRequestId: String?
        public var attributes: [String: String]
        public var createdByAccount: String
        public init(id: String, creatorRequestId: String?, attributes: [String: String], createdByAccount: String) {
            self.id = id; self.creatorRequestId = creatorRequestId; self.attributes = attributes; self.createdByAccount = createdByAccount
        }
    }
    public struct GetInstanceResponse: Codable, Sendable {
        public var resourceOwner: String
        public var instance: Instance
        public init(resourceOwner: String, instance: Instance) { self.resourceOwner = resourceOwner; self.instance = instance }
    }
    public struct ListInstancesRequest: Codable, Sendable {
        public var serviceId: String
        public var nextToken: String?
        public var maxResults: Int?
    }
    public struct ListInstancesResponse: Codable, Sendable {
        public var resourceOwner: String
        public var instances: [Instance]
        public var nextToken: String?
        public init(resourceOwner: String, instances: [Instance], nextToken: String?) {
            self.resourceOwner = resourceOwner; self.instances = instances; self.nextToken = nextToken
        }
    }
    public struct DiscoverInstancesRequest: Codable, Sendable {
        public var namespaceName: String
        public var serviceName: String
        public var maxResults: Int?
        public var queryParameters: [String: String]?
        public var optionalParameters: [String: String]?
        public var healthStatus: String?
        public var ownerAccount: String?
    }
    public struct HttpInstanceSummary: Codable, Sendable {
        public var instanceId: String
        public var namespaceName: String
        public var serviceName: String
        public var healthStatus: String
        public var attributes: [String: String]
        public init(instanceId: String, namespaceName: String, serviceName: String, healthStatus: String, attributes: [String: String]) {
            self.instanceId = instanceId; self.namespaceName = namespaceName; self.serviceName = serviceName
            self.healthStatus = healthStatus; self.attributes = attributes
        }
    }
    public struct DiscoverInstancesResponse: Codable, Sendable {
        public var instances: [HttpInstanceSummary]
        public var instancesRevision: Int64
        public init(instances: [HttpInstanceSummary], instancesRevision: Int64) { self.instances = instances; self.instancesRevision = instancesRevision }
    }
    public struct DiscoverInstancesRevisionRequest: Codable, Sendable {
        public var namespaceName: String
        public var serviceName: String
        public var ownerAccount: String?
    }
    public struct DiscoverInstancesRevisionResponse: Codable, Sendable {
        public var instancesRevision: Int64
        public init(instancesRevision: Int64) { self.instancesRevision = instancesRevision }
    }
    public struct GetInstancesHealthStatusRequest: Codable, Sendable {
        public var serviceId: String
        public var instances: [String]?
        public var maxResults: Int?
        public var nextToken: String?
    }
    public struct GetInstancesHealthStatusResponse: Codable, Sendable {
        public var status: [String: String]
        public var nextToken: String?
        public init(status: [String: String], nextToken: String?) { self.status = status; self.nextToken = nextToken }
    }
    public struct UpdateInstanceCustomHealthStatusRequest: Codable, Sendable {
        public var serviceId: String
        public var instanceId: String
        public var status: String
    }
    public struct GetOperationRequest: Codable, Sendable {
        public var operationId: String
        public var ownerAccount: String?
    }
    public struct Operation: Codable, Sendable {
        public var id: String
        public var ownerAccount: String
        public var type: String
        public var status: String
        public var errorMessage: String?
        public var errorCode: String?
        public var createDate: Date
        public var updateDate: Date
        public var targets: [String: String]
        public init(id: String, ownerAccount: String, type: String, status: String, createDate: Date, updateDate: Date, targets: [String: String]) {
            self.id = id; self.ownerAccount = ownerAccount; self.type = type; self.status = status
            self.createDate = createDate; self.updateDate = updateDate; self.targets = targets
        }
    }
    public struct GetOperationResponse: Codable, Sendable {
        public var operation: Operation
        public init(operation: Operation) { self.operation = operation }
    }
    public struct OperationSummary: Codable, Sendable {
        public var id: String
        public var status: String
        public init(id: String, status: String) { self.id = id; self.status = status }
    }
    public struct ListOperationsResponse: Codable, Sendable {
        public var operations: [OperationSummary]
        public var nextToken: String?
        public init(operations: [OperationSummary], nextToken: String?) { self.operations = operations; self.nextToken = nextToken }
    }

    public struct TagResourceRequest: Codable, Sendable {
        public var resourceARN: String
        public var tags: [Tag]
    }
    public struct UntagResourceRequest: Codable, Sendable {
        public var resourceARN: String
        public var tagKeys: [String]
    }
    public struct ListTagsForResourceRequest: Codable, Sendable { public var resourceARN: String }
    public struct ListTagsForResourceResponse: Codable, Sendable {
        public var tags: [Tag]
        public init(tags: [Tag]) { self.tags = tags }
    }
    public struct Empty: Codable, Sendable { public init() {} }

    /// One name an agent's DNS answers for its tenant, `<service>.<namespace>`: the service's records and its
    /// healthy instances (the agent protocol's discovery feed).
    public struct DNSName: Sendable, Equatable, Codable {
        public var namespace: String
        public var service: String
        public var records: [DnsRecord]
        public var instances: [Endpoint]
        public init(namespace: String, service: String, records: [DnsRecord], instances: [Endpoint]) {
            self.namespace = namespace; self.service = service; self.records = records; self.instances = instances
        }
    }
    /// What DNS needs of a healthy instance.
    public struct Endpoint: Sendable, Equatable, Codable {
        public var id: String
        public var ipv4: String?
        public var port: Int?
        public init(id: String, ipv4: String?, port: Int?) { self.id = id; self.ipv4 = ipv4; self.port = port }
    }
    /// The agent protocol's discovery feed: every DNS name of the agent's tenant.
    public struct DNSNames: Sendable, Equatable, Codable {
        public var names: [DNSName]
        public init(names: [DNSName]) { self.names = names }
    }
}

/// Cloud Map's rules as pure decisions: names, ids, ARNs, what a DNS service may hold, and the attributes ECS
/// writes for a task.
public enum DiscoveryRules {
    public static let ipv4Attribute = "AWS_INSTANCE_IPV4"
    public static let portAttribute = "AWS_INSTANCE_PORT"
    /// Route 53 answers a multivalue query with at most eight healthy records.
    public static let maxAnswers = 8
    public static let maxAttributes = 30

    public static func invalid(_ message: String) -> APIError { APIError("InvalidInput", message) }
    public static func notFound(_ code: String, _ message: String) -> APIError { APIError(code, message, awsStatus: 400, restStatus: 404) }

    public static func namespaceArn(_ scope: ARNScope, account: String, id: String) -> String {
        "arn:\(scope.partition):servicediscovery:\(scope.region):\(account):namespace/\(id)"
    }
    public static func serviceArn(_ scope: ARNScope, account: String, id: String) -> String {
        "arn:\(scope.partition):servicediscovery:\(scope.region):\(account):service/\(id)"
    }

    /// A namespace or service id, or the id inside its ARN (nil when the ARN is another account's or another kind).
    public static func id(_ text: String, kind: String, account: String) -> String? {
        guard text.hasPrefix("arn:") else { return text }
        let parts = text.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[2] == "servicediscovery", parts[4] == account, parts[5].hasPrefix("\(kind)/") else { return nil }
        return String(parts[5].dropFirst(kind.count + 1))
    }

    public static func newId(prefix: String) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
        return prefix + String((0..<16).map { _ in alphabet[Int.random(in: 0..<alphabet.count)] })
    }

    /// A DNS namespace name: dot-separated labels of letters, digits and hyphens, at most 253 characters.
    public static func checkDnsName(_ name: String) throws(APIError) -> String {
        let trimmed = name.hasSuffix(".") ? String(name.dropLast()) : name
        let labels = trimmed.split(separator: ".", omittingEmptySubsequences: false)
        guard !trimmed.isEmpty, trimmed.count <= 253, labels.allSatisfy(isLabel) else {
            throw invalid("Name \(name) is not a valid DNS name: use labels of letters, digits and hyphens separated by dots.")
        }
        return trimmed.lowercased()
    }

    /// An HTTP namespace name: up to 1024 printable characters without spaces or slashes.
    public static func checkHttpName(_ name: String) throws(APIError) {
        guard !name.isEmpty, name.count <= 1024, name.unicodeScalars.allSatisfy({ $0.value > 32 && $0.value < 127 && $0 != "/" }) else {
            throw invalid("Name \(name) is not valid: 1 to 1024 printable characters without spaces or slashes.")
        }
    }

    /// A service name: one DNS label (SRV names may start with an underscore), at most 127 characters.
    public static func checkServiceName(_ name: String) throws(APIError) -> String {
        let label = name.hasPrefix("_") ? String(name.dropFirst()) : name
        guard name.count <= 127, isLabel(Substring(label)) else {
            throw invalid("Name \(name) is not valid: a service name is one DNS label of letters, digits and hyphens.")
        }
        return name.lowercased()
    }

    static func isLabel(_ label: Substring) -> Bool {
        !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
            && label.unicodeScalars.allSatisfy { ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || $0 == "-" }
    }

    /// The records a DNS service may hold here: A and SRV (SRV alone or with A), TTLs 0 to 2147483647, routing
    /// MULTIVALUE. WEIGHTED, AAAA and CNAME are refused by name rather than answered wrongly.
    public static func checkRecords(_ records: [ServiceDiscovery.DnsRecord]) throws(APIError) {
        guard !records.isEmpty, records.count <= 2 else { throw invalid("DnsConfig.DnsRecords must hold one A record, one SRV record, or one of each.") }
        var seen: Set<String> = []
        for r in records {
            guard r.type == "A" || r.type == "SRV" else {
                throw invalid("DnsRecords type \(r.type) is refused: Stowage's DNS answers A and SRV records only.")
            }
            guard seen.insert(r.type).inserted else { throw invalid("DnsConfig.DnsRecords holds two \(r.type) records.") }
            guard (0...2_147_483_647).contains(r.ttl) else { throw invalid("TTL must be between 0 and 2147483647.") }
        }
    }

    public static func checkRouting(_ policy: String?) throws(APIError) {
        switch policy ?? "MULTIVALUE" {
        case "MULTIVALUE": return
        case "WEIGHTED": throw invalid("RoutingPolicy WEIGHTED is refused: Stowage's DNS answers every healthy instance (MULTIVALUE).")
        default: throw invalid("RoutingPolicy must be MULTIVALUE.")
        }
    }

    /// Attributes as Cloud Map takes them: at most 30, keys up to 255 characters, values up to 1024; an A record
    /// needs a valid AWS_INSTANCE_IPV4 and an SRV record an AWS_INSTANCE_PORT.
    public static func checkAttributes(_ attributes: [String: String], records: [ServiceDiscovery.DnsRecord]) throws(APIError) {
        guard attributes.count <= maxAttributes else { throw invalid("An instance can have at most \(maxAttributes) attributes.") }
        for (key, value) in attributes {
            guard (1...255).contains(key.count), value.count <= 1024 else {
                throw invalid("Attribute keys must be 1 to 255 characters and values at most 1024.")
            }
        }
        let types = Set(records.map(\.type))
        if !types.isEmpty {
            guard let ip = attributes[ipv4Attribute], isIPv4(ip) else {
                throw invalid("Attributes must include \(ipv4Attribute) with an IPv4 address: the service has DNS records.")
            }
        }
        if types.contains("SRV") {
            guard let port = attributes[portAttribute].flatMap(Int.init), (1...65535).contains(port) else {
                throw invalid("Attributes must include \(portAttribute) with a port from 1 to 65535: the service has an SRV record.")
            }
        }
    }

    public static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { p in p.count <= 3 && !p.isEmpty && p.allSatisfy(\.isNumber) && (Int(p) ?? 256) <= 255 }
    }

    /// An instance id as Cloud Map takes it: up to 64 characters of letters, digits and `-_./:`.
    public static func checkInstanceId(_ id: String) throws(APIError) {
        guard (1...64).contains(id.count), id.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_./:".unicodeScalars.contains($0)) }) else {
            throw invalid("InstanceId \(id) is not valid: 1 to 64 letters, digits and -_./: characters.")
        }
    }
}
