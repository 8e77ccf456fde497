import Foundation
import PostgresNIO
import StowageModel
import StowageOrchestrator
import StowageScheduler
import StowageStore

/// ECS service actions.
struct ServiceActions {
    /// A hard bound on one service's size; per-tenant quotas sit below it.
    static let maxDesiredCount = 100_000

    static func serviceNotFound(_ name: String) -> APIError {
        APIError("ServiceNotFoundException", "Service not found: \(name).", restStatus: 404)
    }

    /// ECS's deployment settings, with its defaults and bounds.
    static func deploymentConfiguration(_ given: DeploymentConfiguration?, daemon: Bool, base: DeploymentConfiguration? = nil)
        throws(APIError) -> DeploymentConfiguration
    {
        var config = base ?? DeploymentConfiguration(maximumPercent: daemon ? 100 : 200, minimumHealthyPercent: daemon ? 0 : 100)
        if let max = given?.maximumPercent { config.maximumPercent = max }
        if let min = given?.minimumHealthyPercent { config.minimumHealthyPercent = min }
        if let breaker = given?.deploymentCircuitBreaker { config.deploymentCircuitBreaker = breaker }
        let min = config.minimumHealthyPercent ?? 100
        let max = config.maximumPercent ?? 200
        guard (0...100).contains(min) else { throw .invalidParameter("minimumHealthyPercent must be between 0 and 100, got \(min).") }
        guard (100...200).contains(max) else { throw .invalidParameter("maximumPercent must be between 100 and 200, got \(max).") }
        guard max > min else {
            throw .invalidParameter("maximumPercent (\(max)) must exceed minimumHealthyPercent (\(min)), or a deployment could never make progress.")
        }
        if daemon && max != 100 { throw .invalidParameter("DAEMON services run one task per instance: maximumPercent must be 100.") }
        return config
    }

    static func model(_ s: ServiceRow, _ c: Caller, deployments: [DeploymentRow],
                      counts: [String: (running: Int, pending: Int, failed: Int)], events: [ServiceEvent],
                      includeTags: Bool = false) -> ECSService {
        let scope = c.backend.scope
        var m = ECSService()
        m.serviceArn = scope.service(c.account, cluster: s.cluster, name: s.name)
        m.serviceName = s.name
        m.clusterArn = scope.cluster(c.account, s.cluster)
        m.status = s.status
        m.desiredCount = s.desiredCount
        let mine = deployments.filter { $0.service == s.name }
        m.runningCount = mine.reduce(0) { $0 + (counts[$1.id]?.running ?? 0) }
        m.pendingCount = mine.reduce(0) { $0 + (counts[$1.id]?.pending ?? 0) }
        m.launchType = "EC2"
        if let primary = mine.first(where: { $0.status == "PRIMARY" }) {
            m.taskDefinition = scope.taskDefinition(c.account, family: primary.family, revision: primary.revision)
        }
        m.deploymentConfiguration = s.deploymentConfiguration
        m.deployments = mine.map { d in
            var out = Deployment()
            out.id = d.id
            out.status = d.status
            out.taskDefinition = scope.taskDefinition(c.account, family: d.family, revision: d.revision)
            out.desiredCount = d.status == "PRIMARY" ? s.desiredCount : 0
            out.runningCount = counts[d.id]?.running ?? 0
            out.pendingCount = counts[d.id]?.pending ?? 0
            out.failedTasks = counts[d.id]?.failed ?? 0
            out.createdAt = d.createdAt
            out.updatedAt = d.updatedAt
            out.launchType = "EC2"
            out.rolloutState = d.rolloutState
            out.rolloutStateReason = d.rolloutStateReason
            return out
        }
        m.events = events
        m.createdAt = s.createdAt
        m.placementConstraints = s.placementConstraints
        m.placementStrategy = s.placementStrategy
        m.healthCheckGracePeriodSeconds = s.healthCheckGracePeriod
        m.loadBalancers = s.loadBalancers
        m.serviceRegistries = s.serviceRegistries
        m.schedulingStrategy = s.schedulingStrategy
        m.deploymentController = .object(["type": .string("ECS")])
        m.createdBy = s.createdBy
        if includeTags { m.tags = s.tags }
        return m.withECSDefaults()
    }

    /// Loads and renders services with their deployments, counts and latest events.
    static func render(_ conn: PostgresConnection, _ c: Caller, cluster: String, _ records: [ServiceRow], includeTags: Bool = false)
        async throws -> [ECSService]
    {
        let names = records.map(\.name)
        let deployments = try await c.backend.ecsServices.deployments(conn, account: c.account, cluster: cluster, services: names)
        let counts = try await c.backend.tasks.deploymentCounts(conn, account: c.account, cluster: cluster, services: names)
        var result: [ECSService] = []
        for record in records {
            let events = try await c.backend.ecsServices.events(conn, account: c.account, cluster: cluster, service: record.name)
            result.append(model(record, c, deployments: deployments, counts: counts, events: events, includeTags: includeTags))
        }
        return result
    }

    static func serviceName(_ reference: String, cluster: String) throws(APIError) -> String {
        try References.scoped(reference, type: "service", cluster: cluster)
    }

    static func create(_ input: CreateServiceRequest, _ c: Caller) async throws -> ServiceResponse {
        let (cluster, clusterArn) = try c.refs.cluster(input.cluster)
        let name = input.serviceName
        guard !name.isEmpty, name.count <= 255, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }), name.allSatisfy(\.isASCII) else {
            throw APIError.invalidParameter("Service name '\(name)' is invalid: up to 255 letters, numbers, hyphens and underscores.")
        }
        let strategy = input.schedulingStrategy ?? "REPLICA"
        guard strategy == "REPLICA" || strategy == "DAEMON" else {
            throw APIError.invalidParameter("schedulingStrategy must be REPLICA or DAEMON.")
        }
        let daemon = strategy == "DAEMON"
        if daemon, input.desiredCount != nil {
            throw APIError.invalidParameter("DAEMON services run one task per instance: do not give a desiredCount.")
        }
        let desired = input.desiredCount ?? (daemon ? 0 : 0)
        guard desired >= 0, desired <= ServiceActions.maxDesiredCount else { throw APIError.invalidParameter("desiredCount must be between 0 and \(ServiceActions.maxDesiredCount), got \(desired).") }
        if daemon, input.placementStrategy?.isEmpty == false {
            throw APIError.invalidParameter("DAEMON services take no placement strategy.")
        }
        guard let definitionRef = input.taskDefinition else { throw APIError.invalidParameter("taskDefinition is required.") }
        let ref = try c.refs.taskDefinition(definitionRef)
        let config = try deploymentConfiguration(input.deploymentConfiguration, daemon: daemon)
        _ = try ConstraintRules.parse(input.placementConstraints)
        _ = try StrategyRule.parse(input.placementStrategy)
        try Validate.tags(input.tags)
        let grace = input.healthCheckGracePeriodSeconds ?? 0
        guard (0...2_147_483_647).contains(grace) else { throw APIError.invalidParameter("healthCheckGracePeriodSeconds must not be negative.") }
        if let launchType = input.launchType, launchType != "EC2", launchType != "EXTERNAL" {
            throw APIError.invalidParameter("launchType must be EC2 or EXTERNAL.")
        }
        let arn = c.backend.scope.service(c.owner(clusterArn), cluster: cluster, name: name)
        try await c.authorize([arn], keys: ["ecs:task-definition": ref.arn], requestTags: input.tags)
        return try await c.backend.database.transaction { conn in
            try await ClusterActions.requireActive(conn, c, cluster)
            let store = c.backend.ecsServices
            let services = try await store.liveCount(conn, account: c.account, cluster: cluster, excluding: name)
            try await c.backend.quotas.check(conn, account: c.account, [
                ("services-per-cluster", services + 1, "Services in cluster \(cluster)"),
                ("tasks-per-service", input.desiredCount ?? 0, "The desired count of service \(name)"),
            ])
            if let existing = try await store.get(conn, account: c.account, cluster: cluster, names: [name], lock: true).first {
                if existing.status != "INACTIVE" {
                    if let token = input.clientToken, existing.clientToken == token {
                        return ServiceResponse(service: try await render(conn, c, cluster: cluster, [existing], includeTags: true)[0])
                    }
                    throw APIError.invalidParameter("Creation of service was not idempotent: service \(name) already exists.")
                }
                try await store.purge(conn, account: c.account, cluster: cluster, service: name)
            }
            let definition = try await TaskActions.activeDefinition(conn, c, family: ref.family, revision: ref.revision)
            var record = ServiceRow(cluster: cluster, name: name, desiredCount: desired, schedulingStrategy: strategy,
                                       deploymentConfiguration: config)
            record.placementConstraints = input.placementConstraints ?? []
            record.placementStrategy = input.placementStrategy ?? (daemon ? [] : [
                PlacementStrategy(type: "spread", field: "attribute:ecs.availability-zone"),
                PlacementStrategy(type: "spread", field: "instanceId"),
            ])
            record.healthCheckGracePeriod = grace
            record.loadBalancers = try await checkLoadBalancers(input.loadBalancers ?? [], definition: definition.body, conn, c)
            record.serviceRegistries = try await checkRegistries(input.serviceRegistries ?? [], definition: definition.body, conn, c)
            record.tags = input.tags ?? []
            record.clientToken = input.clientToken
            record.createdBy = c.principal.arn
            try await store.insert(conn, account: c.account, record)
            try await Deployments.start(conn, account: c.account, cluster: cluster, service: name, family: definition.family,
                                        revision: definition.revision, logger: c.logger)
            let stored = try await store.get(conn, account: c.account, cluster: cluster, names: [name])
            return ServiceResponse(service: try await render(conn, c, cluster: cluster, stored, includeTags: true)[0])
        }
    }

    /// A service's load balancers: at most five, each an existing target group of the account fronting a container
    /// port of the task definition's port mappings.
    static func checkLoadBalancers(_ lbs: [ServiceLoadBalancer], definition: TaskDefinition, _ conn: PostgresConnection, _ c: Caller)
        async throws -> [ServiceLoadBalancer]
    {
        guard lbs.count <= 5 else { throw APIError.invalidParameter("A service can have at most 5 loadBalancers; got \(lbs.count).") }
        guard Set(lbs).count == lbs.count else { throw APIError.invalidParameter("loadBalancers names the same target group, container and port twice.") }
        for lb in lbs {
            if lb.loadBalancerName != nil {
                throw APIError.invalidParameter("loadBalancers.loadBalancerName: Classic Load Balancers do not exist in Stowage; give targetGroupArn.")
            }
            guard let arn = lb.targetGroupArn, case .targetGroup(let tgName, let id)? = ELB.resource(arn, account: c.account),
                  let group = try await c.backend.loadBalancing.targetGroups(conn, account: c.account, ids: [id]).first, group.name == tgName else {
                throw APIError.invalidParameter("loadBalancers.targetGroupArn '\(lb.targetGroupArn ?? "")' is not a target group of this account.")
            }
            guard let container = lb.containerName, let port = lb.containerPort else {
                throw APIError.invalidParameter("loadBalancers needs containerName and containerPort for target group \(arn).")
            }
            guard let definition = definition.containerDefinitions?.first(where: { $0.name == container }) else {
                throw APIError.invalidParameter("loadBalancers.containerName '\(container)' is not a container of the task definition.")
            }
            guard (definition.portMappings ?? []).contains(where: { $0.containerPort == port && ($0.protocol ?? "tcp") == "tcp" }) else {
                throw APIError.invalidParameter("loadBalancers.containerPort \(port) is not a TCP containerPort of container '\(container)'s portMappings.")
            }
            try await c.authorize(.registerTargets, [arn])
        }
        return lbs
    }

    /// A service's Cloud Map registry: at most one (as ECS), an existing Cloud Map service of the account, and a
    /// container port when its records need one. Bridge tasks share their host's address, so an A record alone
    /// could not say where they listen: their registry needs an SRV record.
    static func checkRegistries(_ registries: [ServiceRegistry], definition: TaskDefinition, _ conn: PostgresConnection, _ c: Caller)
        async throws -> [ServiceRegistry]
    {
        guard registries.count <= 1 else { throw APIError.invalidParameter("A service can have at most one serviceRegistries entry; got \(registries.count).") }
        for registry in registries {
            guard let arn = registry.registryArn, arn.hasPrefix("arn:"),
                  let id = DiscoveryRules.id(arn, kind: "service", account: c.account),
                  let target = try await DiscoveryStore(logger: c.logger).services(conn, account: c.account, ids: [id]).first else {
                throw APIError.invalidParameter("serviceRegistries.registryArn '\(registry.registryArn ?? "")' is not a Cloud Map service of this account.")
            }
            let types = Set(target.dnsConfig?.dnsRecords.map(\.type) ?? [])
            if let container = registry.containerName {
                guard let port = registry.containerPort else {
                    throw APIError.invalidParameter("serviceRegistries needs containerPort with containerName '\(container)'.")
                }
                guard let definition = definition.containerDefinitions?.first(where: { $0.name == container }) else {
                    throw APIError.invalidParameter("serviceRegistries.containerName '\(container)' is not a container of the task definition.")
                }
                guard (definition.portMappings ?? []).contains(where: { $0.containerPort == port && ($0.protocol ?? "tcp") == "tcp" }) else {
                    throw APIError.invalidParameter("serviceRegistries.containerPort \(port) is not a TCP containerPort of container '\(container)'s portMappings.")
                }
            } else if registry.containerPort != nil {
                throw APIError.invalidParameter("serviceRegistries needs containerName with containerPort.")
            } else if types.contains("SRV") {
                throw APIError.invalidParameter("serviceRegistries needs containerName and containerPort: Cloud Map service \(target.name) has an SRV record.")
            }
            if (definition.networkMode ?? "bridge") == "bridge", types.contains("A"), !types.contains("SRV") {
                throw APIError.invalidParameter("Cloud Map service \(target.name) has only an A record, which cannot say which host port a bridge-mode task listens on: give it an SRV record, or use network mode host.")
            }
            try await c.authorize(.registerInstance, [arn])
        }
        return registries
    }

    static func update(_ input: UpdateServiceRequest, _ c: Caller) async throws -> ServiceResponse {
        let (cluster, clusterArn) = try c.refs.cluster(input.cluster)
        let name = try serviceName(input.service, cluster: cluster)
        let arn = c.backend.scope.service(c.owner(clusterArn), cluster: cluster, name: name)
        if let desired = input.desiredCount, !(0...ServiceActions.maxDesiredCount).contains(desired) {
            throw APIError.invalidParameter("desiredCount must be between 0 and \(ServiceActions.maxDesiredCount), got \(desired).")
        }
        let ref = try input.taskDefinition.map { try c.refs.taskDefinition($0) }
        _ = try ConstraintRules.parse(input.placementConstraints)
        _ = try StrategyRule.parse(input.placementStrategy)
        if let grace = input.healthCheckGracePeriodSeconds, grace < 0 {
            throw APIError.invalidParameter("healthCheckGracePeriodSeconds must not be negative.")
        }
        try await c.authorize([arn], keys: ref.map { ["ecs:task-definition": $0.arn] } ?? [:])
        return try await c.backend.database.transaction { conn in
            try await ClusterActions.requireActive(conn, c, cluster)
            let store = c.backend.ecsServices
            if let desired = input.desiredCount {
                try await c.backend.quotas.check(conn, account: c.account, [("tasks-per-service", desired, "The desired count of service \(name)")])
            }
            guard var service = try await store.get(conn, account: c.account, cluster: cluster, names: [name], lock: true).first else {
                throw serviceNotFound(name)
            }
            guard service.status == "ACTIVE" else {
                throw APIError("ServiceNotActiveException", "Service \(name) is \(service.status).")
            }
            let daemon = service.schedulingStrategy == "DAEMON"
            if let desired = input.desiredCount {
                guard !daemon else { throw APIError.invalidParameter("DAEMON services run one task per instance: desiredCount cannot be set.") }
                service.desiredCount = desired
            }
            service.deploymentConfiguration = try deploymentConfiguration(input.deploymentConfiguration, daemon: daemon,
                                                                          base: service.deploymentConfiguration)
            if let constraints = input.placementConstraints { service.placementConstraints = constraints }
            if let strategy = input.placementStrategy { service.placementStrategy = strategy }
            if let grace = input.healthCheckGracePeriodSeconds { service.healthCheckGracePeriod = grace }
            // New load balancers or registries, or a new revision the existing ones must still fit: checked against that definition.
            let recheckBalancers = input.loadBalancers != nil || (ref != nil && !service.loadBalancers.isEmpty)
            let recheckRegistries = input.serviceRegistries != nil || (ref != nil && !service.serviceRegistries.isEmpty)
            if recheckBalancers || recheckRegistries {
                var body: TaskDefinition?
                if let ref {
                    body = try await TaskActions.activeDefinition(conn, c, family: ref.family, revision: ref.revision).body
                } else if let primary = try await store.deployments(conn, account: c.account, cluster: cluster, services: [name])
                    .first(where: { $0.status == "PRIMARY" }) {
                    body = try await c.backend.taskDefinitions.get(conn, account: c.account, family: primary.family, revision: primary.revision)?.body
                }
                if recheckBalancers {
                    service.loadBalancers = try await checkLoadBalancers(input.loadBalancers ?? service.loadBalancers,
                                                                         definition: body ?? TaskDefinition(), conn, c)
                }
                if recheckRegistries {
                    service.serviceRegistries = try await checkRegistries(input.serviceRegistries ?? service.serviceRegistries,
                                                                          definition: body ?? TaskDefinition(), conn, c)
                }
            }
            guard try await store.update(conn, account: c.account, service) else {
                throw APIError("ConflictException", "Service \(name) changed while it was being updated; retry.", awsStatus: 409)
            }
            let current = try await store.deployments(conn, account: c.account, cluster: cluster, services: [name])
                .first { $0.status == "PRIMARY" }
            var newDefinition: TaskDefinitionRow?
            if let ref {
                newDefinition = try await TaskActions.activeDefinition(conn, c, family: ref.family, revision: ref.revision)
            } else if input.forceNewDeployment == true, let current {
                newDefinition = try await c.backend.taskDefinitions.get(conn, account: c.account, family: current.family, revision: current.revision)
            }
            if let definition = newDefinition,
               input.forceNewDeployment == true || current.map({ $0.family != definition.family || $0.revision != definition.revision }) ?? true {
                try await Deployments.start(conn, account: c.account, cluster: cluster, service: name, family: definition.family,
                                            revision: definition.revision, logger: c.logger)
            } else {
                // A new desired count or placement without a new deployment: the service is reconciled all the same.
                try await JobQueue(logger: c.logger).reconcile(conn, account: c.account, cluster: cluster, service: name)
            }
            let stored = try await store.get(conn, account: c.account, cluster: cluster, names: [name])
            return ServiceResponse(service: try await render(conn, c, cluster: cluster, stored)[0])
        }
    }

    static func describe(_ input: DescribeServicesRequest, _ c: Caller) async throws -> DescribeServicesResponse {
        let (cluster, clusterArn) = try c.refs.cluster(input.cluster)
        guard (1...10).contains(input.services.count) else { throw APIError.invalidParameter("services must name between 1 and 10 services.") }
        var names: [String] = []
        var failures: [Failure] = []
        for reference in input.services {
            do { names.append(try serviceName(reference, cluster: cluster)) } catch {
                failures.append(Failure(arn: reference, reason: "MISSING"))
            }
        }
        try await c.authorize(names.map { c.backend.scope.service(c.owner(clusterArn), cluster: cluster, name: $0) })
        let includeTags = input.include?.contains("TAGS") ?? false
        let services = try await c.backend.database.withConnection { conn in
            try await ClusterActions.requireActive(conn, c, cluster)
            let records = try await c.backend.ecsServices.get(conn, account: c.account, cluster: cluster, names: names)
            return try await render(conn, c, cluster: cluster, records, includeTags: includeTags)
        }
        let byName = Dictionary(services.map { ($0.serviceName ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        var ordered: [ECSService] = []
        for name in names {
            if let s = byName[name] { ordered.append(s) } else {
                failures.append(Failure(arn: c.backend.scope.service(c.account, cluster: cluster, name: name), reason: "MISSING"))
            }
        }
        return DescribeServicesResponse(services: ordered, failures: failures)
    }

    /// One entry of a service's deployment timeline (`GET .../services/{service}/deployments`, a Stowage extension).
    struct DeploymentHistoryEntry: Codable, Sendable {
        var id: String
        var status: String
        var taskDefinition: String
        var rolloutState: String
        var rolloutStateReason: String?
        var createdAt: Date
        var updatedAt: Date
    }
    struct DeploymentHistory: Codable, Sendable { var deployments: [DeploymentHistoryEntry] }

    /// The service's deployments newest first, replaced ones included (the last 50): what ECS's describe-services
    /// forgets once a rollout completes, and what a rollback returns to.
    static func history(cluster reference: String?, service: String, _ c: Caller) async throws -> DeploymentHistory {
        let (cluster, clusterArn) = try c.refs.cluster(reference)
        let name = try serviceName(service, cluster: cluster)
        try await c.authorize([c.backend.scope.service(c.owner(clusterArn), cluster: cluster, name: name)])
        return try await c.backend.database.withConnection { conn in
            try await ClusterActions.requireActive(conn, c, cluster)
            guard try await c.backend.ecsServices.get(conn, account: c.account, cluster: cluster, names: [name]).first != nil else {
                throw serviceNotFound(name)
            }
            let records = try await c.backend.ecsServices.deployments(conn, account: c.account, cluster: cluster, services: [name],
                                                                       history: true, limit: 50)
            return DeploymentHistory(deployments: records.map {
                DeploymentHistoryEntry(id: $0.id, status: $0.status,
                                       taskDefinition: c.backend.scope.taskDefinition(c.account, family: $0.family, revision: $0.revision),
                                       rolloutState: $0.rolloutState, rolloutStateReason: $0.rolloutStateReason,
                                       createdAt: $0.createdAt, updatedAt: $0.updatedAt)
            })
        }
    }

    static func list(_ input: ListServicesRequest, _ c: Caller) async throws -> ListServicesResponse {
        let (cluster, clusterArn) = try c.refs.cluster(input.cluster)
        let limit = try Validate.maxResults(input.maxResults, default: 10)
        if let s = input.schedulingStrategy, s != "REPLICA", s != "DAEMON" {
            throw APIError.invalidParameter("schedulingStrategy must be REPLICA or DAEMON.")
        }
        let after = try PageToken.decode(input.nextToken)?.first
        try await c.authorize([clusterArn])
        let names = try await c.backend.database.withConnection { conn in
            try await ClusterActions.requireActive(conn, c, cluster)
            return try await c.backend.ecsServices.list(conn, account: c.account, cluster: cluster, strategy: input.schedulingStrategy,
                                                        after: after, limit: limit + 1)
        }
        let page = names.prefix(limit)
        return ListServicesResponse(serviceArns: page.map { c.backend.scope.service(c.account, cluster: cluster, name: $0) },
                                    nextToken: names.count > limit ? page.last.map { PageToken.encode([$0]) } : nil)
    }

    /// Refuses a service still scaled up unless forced; the service drains (its tasks stop) and then goes INACTIVE.
    static func delete(_ input: DeleteServiceRequest, _ c: Caller) async throws -> ServiceResponse {
        let (cluster, clusterArn) = try c.refs.cluster(input.cluster)
        let name = try serviceName(input.service, cluster: cluster)
        try await c.authorize([c.backend.scope.service(c.owner(clusterArn), cluster: cluster, name: name)])
        return try await c.backend.database.transaction { conn in
            try await ClusterActions.requireActive(conn, c, cluster)
            let store = c.backend.ecsServices
            guard var service = try await store.get(conn, account: c.account, cluster: cluster, names: [name], lock: true).first,
                  service.status == "ACTIVE" else { throw serviceNotFound(name) }
            if service.desiredCount > 0 && service.schedulingStrategy == "REPLICA" && input.force != true {
                throw APIError.invalidParameter(
                    "The service cannot be stopped while it is scaled above 0 (desiredCount \(service.desiredCount)): scale it to 0 first, or delete with force.")
            }
            service.status = "DRAINING"
            service.desiredCount = 0
            guard try await store.update(conn, account: c.account, service) else {
                throw APIError("ConflictException", "Service \(name) changed while it was being deleted; retry.", awsStatus: 409)
            }
            try await JobQueue(logger: c.logger).reconcile(conn, account: c.account, cluster: cluster, service: name)
            let stored = try await store.get(conn, account: c.account, cluster: cluster, names: [name])
            return ServiceResponse(service: try await render(conn, c, cluster: cluster, stored)[0])
        }
    }
}
