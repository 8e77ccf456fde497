import Foundation
import PostgresNIO
import StowageModel
import StowageOrchestrator
import StowageStore

/// ECS services. CreateService, UpdateService and DeleteService each write in one transaction that also starts the
/// deployment or enqueues the service's reconcile pass (`Deployments.start`, `JobQueue.reconcile`), so a change that
/// commits is always acted on by a worker; the service row is held FOR UPDATE while it changes.
public struct Services: Sendable {
    /// A service as its answers show it: the row, its deployments (newest first) with their task counts, its latest events.
    public struct Detail: Sendable {
        public let service: ServiceRow
        public let deployments: [DeploymentRow]
        public let counts: [String: (running: Int, pending: Int, failed: Int)]
        public let events: [ServiceEvent]
    }

    /// What a service is attached to that needs a permission of its own besides the operation's; the door authorizes
    /// each (elasticloadbalancing:RegisterTargets, servicediscovery:RegisterInstance) once it is known to exist.
    public enum Attachment: Sendable {
        case targetGroup(arn: String)
        case registry(arn: String)
    }
    public typealias Authorize = @Sendable (Attachment) async throws -> Void

    let tenant: TenantContext
    let stores: ECSStores
    let quotas: Quotas
    let loadBalancing: LoadBalancerStore
    let discovery: DiscoveryStore

    public init(tenant: TenantContext, stores: ECSStores, quotas: Quotas, loadBalancing: LoadBalancerStore, discovery: DiscoveryStore) {
        self.tenant = tenant; self.stores = stores; self.quotas = quotas; self.loadBalancing = loadBalancing; self.discovery = discovery
    }

    var account: String { tenant.account }
    var clusters: Clusters { Clusters(tenant: tenant, stores: stores) }

    public static func notFound(_ name: String) -> APIError {
        APIError("ServiceNotFoundException", "Service not found: \(name).", restStatus: 404)
    }

    func details(_ conn: PostgresConnection, cluster: String, _ records: [ServiceRow]) async throws -> [Detail] {
        let names = records.map(\.name)
        let deployments = try await stores.services.deployments(conn, account: account, cluster: cluster, services: names)
        let counts = try await stores.tasks.deploymentCounts(conn, account: account, cluster: cluster, services: names)
        var result: [Detail] = []
        for record in records {
            let events = try await stores.services.events(conn, account: account, cluster: cluster, service: record.name)
            result.append(Detail(service: record, deployments: deployments.filter { $0.service == record.name }, counts: counts, events: events))
        }
        return result
    }

    /// The service as stored now, for the answer to the write that changed it.
    func reread(_ conn: PostgresConnection, cluster: String, name: String) async throws -> Detail {
        try await details(conn, cluster: cluster, try await stores.services.get(conn, account: account, cluster: cluster, names: [name]))[0]
    }

    /// CreateService: `new` as the door checked it, and the task definition it runs. A retry with the same client
    /// token answers the service it created; a name held by an INACTIVE service is taken over.
    public func create(_ new: ServiceRow, family: String, revision: Int?, launch: LaunchRequest = LaunchRequest(),
                       authorize: @escaping Authorize) async throws -> Detail {
        let (cluster, name) = (new.cluster, new.name)
        // A concurrent twin that wins the insert is found by the second look: the same client token gets its
        // service, another is told the create was not idempotent.
        return try await Database.retryingUniqueViolation { try await tenant.database.transaction { [self] conn in
            try await clusters.requireActive(conn, cluster)
            let services = try await stores.services.liveCount(conn, account: account, cluster: cluster, excluding: name)
            try await quotas.check(conn, account: account, [
                ("services-per-cluster", services + 1, "Services in cluster \(cluster)"),
                ("tasks-per-service", new.desiredCount, "The desired count of service \(name)"),
            ])
            if let existing = try await stores.services.get(conn, account: account, cluster: cluster, names: [name], lock: true).first {
                if existing.status != "INACTIVE" {
                    if let token = new.clientToken, existing.clientToken == token {
                        return try await details(conn, cluster: cluster, [existing])[0]
                    }
                    throw APIError.invalidParameter("Creation of service was not idempotent: service \(name) already exists.")
                }
                try await stores.services.purge(conn, account: account, cluster: cluster, service: name)
            }
            let definition = try await clusters.activeTaskDefinition(conn, family: family, revision: revision)
            var record = new
            record.launch = try await CapacityProviders(tenant: tenant, stores: stores).resolve(conn, cluster: cluster, launch,
                                                                                              definition: definition.body)
            record.loadBalancers = try await checkLoadBalancers(conn, record.loadBalancers, definition: definition.body, authorize)
            record.serviceRegistries = try await checkRegistries(conn, record.serviceRegistries, definition: definition.body, authorize)
            try await stores.services.insert(conn, account: account, record)
            try await Deployments.start(conn, account: account, cluster: cluster, service: name, family: definition.family,
                                        revision: definition.revision, logger: tenant.logger)
            return try await reread(conn, cluster: cluster, name: name)
        } }
    }

    /// UpdateService: the changes `input` asks for (its references resolved by the door: `cluster`, `name`, and the task
    /// definition to deploy). A new revision, or `forceNewDeployment`, starts a deployment; any other change has the
    /// service reconciled all the same.
    public func update(cluster: String, name: String, _ input: UpdateServiceRequest, definition ref: (family: String, revision: Int?)?,
                       authorize: @escaping Authorize) async throws -> Detail {
        try await tenant.database.transaction { [self] conn in
            try await clusters.requireActive(conn, cluster)
            if let desired = input.desiredCount {
                try await quotas.check(conn, account: account, [("tasks-per-service", desired, "The desired count of service \(name)")])
            }
            guard var service = try await stores.services.get(conn, account: account, cluster: cluster, names: [name], lock: true).first else {
                throw Self.notFound(name)
            }
            guard service.status == "ACTIVE" else {
                throw APIError("ServiceNotActiveException", "Service \(name) is \(service.status).")
            }
            let daemon = service.schedulingStrategy == "DAEMON"
            if let desired = input.desiredCount {
                guard !daemon else { throw APIError.invalidParameter("DAEMON services run one task per instance: desiredCount cannot be set.") }
                service.desiredCount = desired
            }
            service.deploymentConfiguration = try DeploymentConfiguration.checked(input.deploymentConfiguration, daemon: daemon,
                                                                                  base: service.deploymentConfiguration)
            if let constraints = input.placementConstraints { service.placementConstraints = constraints }
            if let strategy = input.placementStrategy { service.placementStrategy = strategy }
            if let grace = input.healthCheckGracePeriodSeconds { service.healthCheckGracePeriod = grace }
            let launchChanged = try await relaunch(conn, &service, input, definition: ref)
            try await recheckAttachments(conn, &service, input, definition: ref, authorize)
            guard try await stores.services.update(conn, account: account, service) else {
                throw APIError("ConflictException", "Service \(name) changed while it was being updated; retry.", awsStatus: 409)
            }
            let current = try await stores.services.deployments(conn, account: account, cluster: cluster, services: [name])
                .first { $0.status == "PRIMARY" }
            var newDefinition: TaskDefinitionRow?
            if let ref {
                newDefinition = try await clusters.activeTaskDefinition(conn, family: ref.family, revision: ref.revision)
            } else if input.forceNewDeployment == true || launchChanged, let current {
                newDefinition = try await stores.taskDefinitions.get(conn, account: account, family: current.family, revision: current.revision)
            }
            if let definition = newDefinition,
               input.forceNewDeployment == true || launchChanged || current.map({ $0.family != definition.family || $0.revision != definition.revision }) ?? true {
                try await Deployments.start(conn, account: account, cluster: cluster, service: name, family: definition.family,
                                            revision: definition.revision, logger: tenant.logger)
            } else {
                // A new desired count or placement without a new deployment: the service is reconciled all the same.
                try await JobQueue(logger: tenant.logger).reconcile(conn, account: account, cluster: cluster, service: name)
            }
            return try await reread(conn, cluster: cluster, name: name)
        }
    }

    /// A new strategy, platform version or network configuration, or a new revision the launch must still fit: the
    /// service's launch checked again; true when it changed (its tasks are replaced by a new deployment).
    func relaunch(_ conn: PostgresConnection, _ service: inout ServiceRow, _ input: UpdateServiceRequest,
                  definition ref: (family: String, revision: Int?)?) async throws -> Bool {
        let asked = LaunchRequest(platformVersion: input.platformVersion, capacityProviderStrategy: input.capacityProviderStrategy,
                                  networkConfiguration: input.networkConfiguration)
        guard !asked.isEmpty || ref != nil else { return false }
        let definition: TaskDefinitionRow?
        if let ref {
            definition = try await clusters.activeTaskDefinition(conn, family: ref.family, revision: ref.revision)
        } else if let current = try await stores.services.deployments(conn, account: account, cluster: service.cluster, services: [service.name])
            .first(where: { $0.status == "PRIMARY" }) {
            definition = try await stores.taskDefinitions.get(conn, account: account, family: current.family, revision: current.revision)
        } else {
            definition = nil
        }
        guard let definition else { return false }
        let launch = try await CapacityProviders(tenant: tenant, stores: stores).resolve(conn, cluster: service.cluster, asked.over(service.launch),
                                                                                       definition: definition.body)
        defer { service.launch = launch }
        return launch != service.launch && !asked.isEmpty
    }

    /// New load balancers or registries, or a new revision the existing ones must still fit: checked against that
    /// revision (or the PRIMARY deployment's when the revision stays).
    func recheckAttachments(_ conn: PostgresConnection, _ service: inout ServiceRow, _ input: UpdateServiceRequest,
                            definition ref: (family: String, revision: Int?)?, _ authorize: Authorize) async throws {
        let recheckBalancers = input.loadBalancers != nil || (ref != nil && !service.loadBalancers.isEmpty)
        let recheckRegistries = input.serviceRegistries != nil || (ref != nil && !service.serviceRegistries.isEmpty)
        guard recheckBalancers || recheckRegistries else { return }
        var body: TaskDefinition?
        if let ref {
            body = try await clusters.activeTaskDefinition(conn, family: ref.family, revision: ref.revision).body
        } else if let primary = try await stores.services.deployments(conn, account: account, cluster: service.cluster, services: [service.name])
            .first(where: { $0.status == "PRIMARY" }) {
            body = try await stores.taskDefinitions.get(conn, account: account, family: primary.family, revision: primary.revision)?.body
        }
        if recheckBalancers {
            service.loadBalancers = try await checkLoadBalancers(conn, input.loadBalancers ?? service.loadBalancers,
                                                                 definition: body ?? TaskDefinition(), authorize)
        }
        if recheckRegistries {
            service.serviceRegistries = try await checkRegistries(conn, input.serviceRegistries ?? service.serviceRegistries,
                                                                  definition: body ?? TaskDefinition(), authorize)
        }
    }

    /// A service's load balancers: at most five, each an existing target group of the account fronting a container
    /// port of the task definition's port mappings.
    func checkLoadBalancers(_ conn: PostgresConnection, _ lbs: [ServiceLoadBalancer], definition: TaskDefinition, _ authorize: Authorize)
        async throws -> [ServiceLoadBalancer]
    {
        guard lbs.count <= 5 else { throw APIError.invalidParameter("A service can have at most 5 loadBalancers; got \(lbs.count).") }
        guard Set(lbs).count == lbs.count else { throw APIError.invalidParameter("loadBalancers names the same target group, container and port twice.") }
        for lb in lbs {
            if lb.loadBalancerName != nil {
                throw APIError.invalidParameter("loadBalancers.loadBalancerName: Classic Load Balancers do not exist in Stowage; give targetGroupArn.")
            }
            guard let arn = lb.targetGroupArn, case .targetGroup(let tgName, let id)? = ELB.resource(arn, account: account),
                  let group = try await loadBalancing.targetGroups(conn, account: account, ids: [id]).first, group.name == tgName else {
                throw APIError.invalidParameter("loadBalancers.targetGroupArn '\(lb.targetGroupArn ?? "")' is not a target group of this account.")
            }
            // An awsvpc task is reached at its own address: only an ip target group can name it (ECS's words).
            if definition.networkMode == "awsvpc", group.targetType != "ip" {
                throw APIError.invalidParameter("The provided target group \(arn) has target type \(group.targetType), which is incompatible with the awsvpc network mode specified in the task definition.")
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
            try await authorize(.targetGroup(arn: arn))
        }
        return lbs
    }

    /// A service's Cloud Map registry: at most one (as ECS), an existing Cloud Map service of the account, and a
    /// container port when its records need one. Bridge tasks share their host's address, so an A record alone
    /// could not say where they listen: their registry needs an SRV record.
    func checkRegistries(_ conn: PostgresConnection, _ registries: [ServiceRegistry], definition: TaskDefinition, _ authorize: Authorize)
        async throws -> [ServiceRegistry]
    {
        guard registries.count <= 1 else { throw APIError.invalidParameter("A service can have at most one serviceRegistries entry; got \(registries.count).") }
        for registry in registries {
            guard let arn = registry.registryArn, arn.hasPrefix("arn:"),
                  let id = DiscoveryRules.id(arn, kind: "service", account: account),
                  let target = try await discovery.services(conn, account: account, ids: [id]).first else {
                throw APIError.invalidParameter("serviceRegistries.registryArn '\(registry.registryArn ?? "")' is not a Cloud Map service of this account.")
            }
            let types = Set(target.dnsConfig?.dnsRecords.map(\.type) ?? [])
            let awsvpc = definition.networkMode == "awsvpc"
            if let port = registry.port {
                // An awsvpc task has an address of its own, so a port alone says where it listens (ECS: port, or
                // containerName and containerPort, not both); a bridge or host task's port is its container's mapping.
                guard awsvpc else {
                    throw APIError.invalidParameter("serviceRegistries.port is for awsvpc tasks: give containerName and containerPort.")
                }
                guard registry.containerName == nil, registry.containerPort == nil else {
                    throw APIError.invalidParameter("serviceRegistries takes port or containerName and containerPort, not both.")
                }
                guard (1...65_535).contains(port) else {
                    throw APIError.invalidParameter("serviceRegistries.port must be between 1 and 65535, got \(port).")
                }
            } else if let container = registry.containerName {
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
                throw APIError.invalidParameter("serviceRegistries needs \(awsvpc ? "port, or " : "")containerName and containerPort: Cloud Map service \(target.name) has an SRV record.")
            }
            if (definition.networkMode ?? "bridge") == "bridge", types.contains("A"), !types.contains("SRV") {
                throw APIError.invalidParameter("Cloud Map service \(target.name) has only an A record, which cannot say which host port a bridge-mode task listens on: give it an SRV record, or use network mode host.")
            }
            try await authorize(.registry(arn: arn))
        }
        return registries
    }

    /// DeleteService: refused while a REPLICA service is still scaled up unless forced; the service drains (its tasks
    /// stop) and the reconcile pass then makes it INACTIVE.
    public func delete(cluster: String, name: String, force: Bool) async throws -> Detail {
        try await tenant.database.transaction { [self] conn in
            try await clusters.requireActive(conn, cluster)
            guard var service = try await stores.services.get(conn, account: account, cluster: cluster, names: [name], lock: true).first,
                  service.status == "ACTIVE" else { throw Self.notFound(name) }
            if service.desiredCount > 0 && service.schedulingStrategy == "REPLICA" && !force {
                throw APIError.invalidParameter(
                    "The service cannot be stopped while it is scaled above 0 (desiredCount \(service.desiredCount)): scale it to 0 first, or delete with force.")
            }
            service.status = "DRAINING"
            service.desiredCount = 0
            guard try await stores.services.update(conn, account: account, service) else {
                throw APIError("ConflictException", "Service \(name) changed while it was being deleted; retry.", awsStatus: 409)
            }
            try await JobQueue(logger: tenant.logger).reconcile(conn, account: account, cluster: cluster, service: name)
            return try await reread(conn, cluster: cluster, name: name)
        }
    }

    /// The named services of an ACTIVE cluster that exist (any status), in the store's order.
    public func describe(cluster: String, names: [String]) async throws -> [Detail] {
        try await tenant.database.withConnection { [self] conn in
            try await clusters.requireActive(conn, cluster)
            return try await details(conn, cluster: cluster, try await stores.services.get(conn, account: account, cluster: cluster, names: names))
        }
    }

    /// The service's deployments newest first, replaced ones included (the last 50).
    public func history(cluster: String, name: String) async throws -> [DeploymentRow] {
        try await tenant.database.withConnection { [self] conn in
            try await clusters.requireActive(conn, cluster)
            guard try await stores.services.get(conn, account: account, cluster: cluster, names: [name]).first != nil else {
                throw Self.notFound(name)
            }
            return try await stores.services.deployments(conn, account: account, cluster: cluster, services: [name], history: true, limit: 50)
        }
    }

    public func list(cluster: String, strategy: String?, after: String?, limit: Int) async throws -> [String] {
        try await tenant.database.withConnection { [self] conn in
            try await clusters.requireActive(conn, cluster)
            return try await stores.services.list(conn, account: account, cluster: cluster, strategy: strategy, after: after, limit: limit)
        }
    }
}
