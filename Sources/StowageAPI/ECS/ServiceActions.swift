import Foundation
import StowageModel
import StowageScheduler
import StowageStore
import StowageUseCases

/// ECS service actions.
struct ServiceActions {
    /// A hard bound on one service's size; per-tenant quotas sit below it.
    static let maxDesiredCount = 100_000

    static func serviceNotFound(_ name: String) -> APIError { Services.notFound(name) }

    static func model(_ detail: Services.Detail, _ c: Caller, includeTags: Bool = false) -> ECSService {
        let (s, counts) = (detail.service, detail.counts)
        let scope = c.backend.scope
        var m = ECSService()
        m.serviceArn = scope.service(c.account, cluster: s.cluster, name: s.name)
        m.serviceName = s.name
        m.clusterArn = scope.cluster(c.account, s.cluster)
        m.status = s.status
        m.desiredCount = s.desiredCount
        let mine = detail.deployments
        m.runningCount = mine.reduce(0) { $0 + (counts[$1.id]?.running ?? 0) }
        m.pendingCount = mine.reduce(0) { $0 + (counts[$1.id]?.pending ?? 0) }
        m.launchType = s.launch?.shownLaunchType
        m.capacityProviderStrategy = s.launch?.capacityProviderStrategy
        m.networkConfiguration = s.launch?.networkConfiguration
        if m.launchType == "FARGATE" || (m.capacityProviderStrategy ?? []).contains(where: { LaunchRules.fargateProviders.contains($0.capacityProvider) }) {
            m.platformVersion = s.launch?.platformVersion ?? FargateRules.platformVersion
            m.platformFamily = "Linux"
        }
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
            out.launchType = m.launchType
            out.capacityProviderStrategy = m.capacityProviderStrategy
            out.networkConfiguration = m.networkConfiguration
            out.platformVersion = m.platformVersion
            out.platformFamily = m.platformFamily
            out.rolloutState = d.rolloutState
            out.rolloutStateReason = d.rolloutStateReason
            return out
        }
        m.events = detail.events
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
        let desired = input.desiredCount ?? 0
        guard desired >= 0, desired <= ServiceActions.maxDesiredCount else { throw APIError.invalidParameter("desiredCount must be between 0 and \(ServiceActions.maxDesiredCount), got \(desired).") }
        if daemon, input.placementStrategy?.isEmpty == false {
            throw APIError.invalidParameter("DAEMON services take no placement strategy.")
        }
        guard let definitionRef = input.taskDefinition else { throw APIError.invalidParameter("taskDefinition is required.") }
        let ref = try c.refs.taskDefinition(definitionRef)
        let config = try DeploymentConfiguration.checked(input.deploymentConfiguration, daemon: daemon)
        _ = try ConstraintRules.parse(input.placementConstraints)
        _ = try StrategyRule.parse(input.placementStrategy)
        try Validate.tags(input.tags)
        let grace = input.healthCheckGracePeriodSeconds ?? 0
        guard (0...2_147_483_647).contains(grace) else { throw APIError.invalidParameter("healthCheckGracePeriodSeconds must not be negative.") }
        if daemon, !(input.capacityProviderStrategy ?? []).isEmpty {
            throw APIError.invalidParameter("Specifying a capacity provider strategy is not supported for services using the DAEMON scheduling strategy.")
        }
        let arn = c.backend.scope.service(c.owner(clusterArn), cluster: cluster, name: name)
        try await c.authorize([arn], keys: ["ecs:task-definition": ref.arn], requestTags: input.tags)
        var record = ServiceRow(cluster: cluster, name: name, desiredCount: desired, schedulingStrategy: strategy, deploymentConfiguration: config)
        record.placementConstraints = input.placementConstraints ?? []
        record.placementStrategy = input.placementStrategy ?? (daemon ? [] : [
            PlacementStrategy(type: "spread", field: "attribute:ecs.availability-zone"),
            PlacementStrategy(type: "spread", field: "instanceId"),
        ])
        record.healthCheckGracePeriod = grace
        record.loadBalancers = input.loadBalancers ?? []
        record.serviceRegistries = input.serviceRegistries ?? []
        record.tags = input.tags ?? []
        record.clientToken = input.clientToken
        record.createdBy = c.principal.arn
        let launch = LaunchRequest(launchType: input.launchType, platformVersion: input.platformVersion,
                                   capacityProviderStrategy: input.capacityProviderStrategy, networkConfiguration: input.networkConfiguration)
        let created = try await c.services.create(record, family: ref.family, revision: ref.revision, launch: launch,
                                                  authorize: authorizeAttachment(c))
        return ServiceResponse(service: model(created, c, includeTags: true))
    }

    /// A target group or Cloud Map service the service is attached to needs its own permission: registering targets
    /// or instances there is what the service's tasks will do.
    static func authorizeAttachment(_ c: Caller) -> Services.Authorize {
        { attachment in
            switch attachment {
            case .targetGroup(let arn): try await c.authorize(.registerTargets, [arn])
            case .registry(let arn): try await c.authorize(.registerInstance, [arn])
            }
        }
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
        let updated = try await c.services.update(cluster: cluster, name: name, input, definition: ref.map { ($0.family, $0.revision) },
                                                  authorize: authorizeAttachment(c))
        return ServiceResponse(service: model(updated, c))
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
        let services = try await c.services.describe(cluster: cluster, names: names).map { model($0, c, includeTags: includeTags) }
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
        let records = try await c.services.history(cluster: cluster, name: name)
        return DeploymentHistory(deployments: records.map {
            DeploymentHistoryEntry(id: $0.id, status: $0.status,
                                   taskDefinition: c.backend.scope.taskDefinition(c.account, family: $0.family, revision: $0.revision),
                                   rolloutState: $0.rolloutState, rolloutStateReason: $0.rolloutStateReason,
                                   createdAt: $0.createdAt, updatedAt: $0.updatedAt)
        })
    }

    static func list(_ input: ListServicesRequest, _ c: Caller) async throws -> ListServicesResponse {
        let (cluster, clusterArn) = try c.refs.cluster(input.cluster)
        let limit = try Validate.maxResults(input.maxResults, default: 10)
        if let s = input.schedulingStrategy, s != "REPLICA", s != "DAEMON" {
            throw APIError.invalidParameter("schedulingStrategy must be REPLICA or DAEMON.")
        }
        let after = try PageToken.decode(input.nextToken)?.first
        try await c.authorize([clusterArn])
        let names = try await c.services.list(cluster: cluster, strategy: input.schedulingStrategy, after: after, limit: limit + 1)
        let page = names.prefix(limit)
        return ListServicesResponse(serviceArns: page.map { c.backend.scope.service(c.account, cluster: cluster, name: $0) },
                                    nextToken: names.count > limit ? page.last.map { PageToken.encode([$0]) } : nil)
    }

    /// Refuses a service still scaled up unless forced; the service drains (its tasks stop) and then goes INACTIVE.
    static func delete(_ input: DeleteServiceRequest, _ c: Caller) async throws -> ServiceResponse {
        let (cluster, clusterArn) = try c.refs.cluster(input.cluster)
        let name = try serviceName(input.service, cluster: cluster)
        try await c.authorize([c.backend.scope.service(c.owner(clusterArn), cluster: cluster, name: name)])
        return ServiceResponse(service: model(try await c.services.delete(cluster: cluster, name: name, force: input.force == true), c))
    }
}

extension Caller {
    var services: Services {
        Services(tenant: tenant, stores: ecsStores, quotas: backend.quotas, loadBalancing: backend.loadBalancing,
                 discovery: backend.discovery)
    }
}
