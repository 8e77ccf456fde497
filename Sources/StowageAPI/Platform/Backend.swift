import Foundation
import Logging
import StowageIAM
import StowageModel
import StowageOrchestrator
import StowageStore
import StowageTelemetryStore
import StowageUseCases

/// Everything a handler may reach, built once per process and shared by every request.
public struct Backend: Sendable {
    public var database: Database
    /// The agent protocol's own pool: a fleet's polls and reports queue there, never in front of tenants' calls.
    public var agentDatabase: Database
    public var tenancy: Tenancy
    public var verifier: SigV4Verifier
    public var authorizer: any Authorizer
    public var scope: ARNScope
    public var clock: any WallClock
    public var metrics: APIMetrics
    /// Largest request body accepted, in bytes (default 1 MiB).
    public var maxBodyBytes: Int

    public var clusters: ClusterStore
    public var taskDefinitions: TaskDefinitionStore
    public var instances: ContainerInstanceStore
    public var tasks: TaskStore
    public var ecsServices: ServiceStore
    public var accountSettings: AccountSettingStore
    public var parameters: ParameterStore
    public var secrets: SecretStore
    public var loadBalancing: LoadBalancerStore
    public var discovery: DiscoveryStore
    public var telemetry: TelemetryStore
    public var metricStore: MetricStore
    public var alarms: AlarmStore
    public var scaling: ScalingStore
    /// The addresses load balancers are given, one each (STOWAGE_LB_ADDRESSES); `stowage lb` binds their listeners there.
    public var loadBalancerAddresses: [String] = ELB.defaultAddresses
    /// Seals and opens parameter and secret values under each tenant's data key.
    public let vault: Vault
    /// Wakes long polls; nil where nothing listens (then polls answer at once).
    public var notifier: InstanceNotifier?
    public var audit: AuditLog
    public var quotas: Quotas
    public var iam: IAMStore
    /// Where alarm webhooks may point: URLs whose host is a forbidden address are refused when written, with the
    /// worker's allow-list (STOWAGE_WEBHOOK_ALLOW / --webhook-allow), so the write and the call agree.
    public var outbound = OutboundPolicy()
    /// Where load balancer targets and health checks may point (`--allow-target-cidr`, the control plane's own endpoints).
    public var targetPolicy = TargetPolicy()
    /// The bearer token a scrape presents to see `/metrics` whole, tenant-labelled series included
    /// (STOWAGE_METRICS_TOKEN / --metrics-token); without it those series are left out.
    public var metricsToken: String?
    /// Task definition revisions as the agent protocol sends them (immutable once registered), shared by polls.
    public let agentDefinitions = BoundedCache<String, TaskDefinition>(capacity: 10_000)
    /// The live log tails this server holds, within each account's quota and the server's limit.
    public let liveTails = LiveTails()

    public init(database: Database, agentDatabase: Database? = nil, tenancy: Tenancy, authorizer: (any Authorizer)? = nil,
                clock: any WallClock = SystemClock(), metrics: APIMetrics = APIMetrics(), maxBodyBytes: Int = 1 << 20,
                credentialTTL: TimeInterval = 60, quotaDefaults: QuotaDefaults = QuotaDefaults()) {
        self.database = database
        self.agentDatabase = agentDatabase ?? database
        self.tenancy = tenancy
        self.scope = tenancy.scope
        self.clock = clock
        self.metrics = metrics
        self.maxBodyBytes = maxBodyBytes
        self.authorizer = authorizer ?? PolicyAuthorizer(database: database, scope: tenancy.scope, clock: clock)
        self.audit = AuditLog(database: database)
        self.quotas = Quotas(database: database, defaults: quotaDefaults, clock: clock)
        self.iam = IAMStore(logger: database.logger)
        let cache = CredentialCache(ttl: credentialTTL, clock: clock)
        let lookupLogger = database.logger
        self.verifier = SigV4Verifier(cache: cache, clock: clock) { [tenancy, metrics] keyId in
            do {
                let found = try await tenancy.credential(for: keyId)
                metrics.credentialLookup(found: found != nil)
                return found
            } catch where DatabaseUnavailable.matches(error) {
                throw APIError.unavailable()
            } catch {
                lookupLogger.error("credential lookup failed", metadata: ["error": "\(String(reflecting: error))"])
                throw error
            }
        }
        let logger = database.logger
        self.clusters = ClusterStore(logger: logger)
        self.taskDefinitions = TaskDefinitionStore(logger: logger)
        self.instances = ContainerInstanceStore(logger: logger)
        self.tasks = TaskStore(logger: logger)
        self.ecsServices = ServiceStore(logger: logger)
        self.accountSettings = AccountSettingStore(logger: logger)
        self.parameters = ParameterStore(logger: logger)
        self.secrets = SecretStore(logger: logger)
        self.loadBalancing = LoadBalancerStore(logger: logger)
        self.discovery = DiscoveryStore(logger: logger)
        self.telemetry = TelemetryStore(logger: logger)
        self.metricStore = MetricStore(logger: logger)
        self.alarms = AlarmStore(logger: logger)
        self.scaling = ScalingStore(logger: logger)
        self.vault = Vault(sealer: tenancy.sealer, logger: logger)
    }
}

extension Backend {
    /// The ECS stores as the use cases take them.
    var ecsStores: ECSStores {
        ECSStores(clusters: clusters, taskDefinitions: taskDefinitions, instances: instances, services: ecsServices, tasks: tasks)
    }

    /// A resource's tags, for `aws:ResourceTag/…` conditions; empty for resources without tags.
    func resourceTags(account: String, arn: String) async throws -> [String: String] {
        try await ResourceTags(database: database, ecs: ecsStores, parameters: parameters, secrets: secrets, loadBalancing: loadBalancing)
            .tags(account: account, arn: arn)
    }
}

/// The verified caller of one request, and the one way handlers authorize.
public struct Caller: Sendable {
    public var principal: Principal
    public var requestId: String
    public var logger: Logger
    public var backend: Backend
    public var sourceIp: String = ""
    /// The service named in the signature's credential scope (`ecs`, `iam`, `sts`, …).
    public var signedService: String = ""
    /// "console" when the web console makes the call for a signed-in person: the audit trail says so.
    public var via: String?
    /// What this request asked for and was told, for the audit trail.
    public let trail = AuditTrail()

    public var account: String { principal.accountId }

    /// The account a cluster reference points into: child ARNs minted from a foreign cluster ARN keep its
    /// account, so authorization refuses them instead of quietly looking in the caller's own account.
    func owner(_ clusterArn: String) -> String { ARN(clusterArn)?.account ?? account }

    /// The operation this caller is being served by, set when a door dispatches to it: what `authorize(_:)`
    /// authorizes, so no handler repeats the action name its declaration already has.
    public var operation: IAMAction?

    /// Authorizes the operation being served on each resource. `cluster` sets `ecs:cluster` where the resource does
    /// not carry it (RunTask's task definition); `keys` adds service condition keys; `requestTags` are the tags being
    /// set. `principal` replaces the caller's own identity where a request acts for another: a task's execution role.
    public func authorize(_ resources: [String], cluster: String? = nil, keys: [String: String] = [:],
                          requestTags: [Tag]? = nil, as principal: Principal? = nil) async throws(APIError) {
        guard let operation else {
            // A handler reached without a declared operation: a programming error, refused rather than guessed.
            logger.error("authorization outside an operation", metadata: ["resources": .string(resources.joined(separator: ","))])
            throw .server()
        }
        try await authorize(operation, resources, cluster: cluster, keys: keys, requestTags: requestTags, as: principal)
    }

    /// Authorizes another action than the operation's own, where one call needs two permissions (`iam:PassRole`
    /// for a role handed to a task, `ecs:Poll` for an agent's request).
    public func authorize(_ action: IAMAction, _ resources: [String], cluster: String? = nil, keys: [String: String] = [:],
                          requestTags: [Tag]? = nil, as principal: Principal? = nil) async throws(APIError) {
        let action = action.description
        // One canonical form before any policy is read: an ARN of another partition, region or account (`aws`, none)
        // is refused here, on every door, so a Deny written for the canonical ARN cannot be stepped around.
        for resource in resources + [cluster].compactMap({ $0 }) + keys.values.filter({ $0.hasPrefix("arn:") }) {
            if let why = backend.scope.refusal(ofResource: resource, account: account) {
                trail.note(action: action, resources: resources)
                trail.deny()
                throw .accessDenied("User: \((principal ?? self.principal).arn) is not authorized to perform: \(action) on resource: \(resource) because \(why)")
            }
        }
        var all = keys
        if let cluster { all["ecs:cluster"] = cluster }
        let tags = requestTags?.dictionary
        let context = AuthorizationContext(sourceIp: sourceIp, time: backend.clock.now(), requestTags: tags, keys: all,
                                           resourceTags: { [backend, account] arn in try await backend.resourceTags(account: account, arn: arn) })
        trail.note(action: action, resources: resources)
        do {
            try await backend.authorizer.authorize(principal ?? self.principal, action: action, resources: resources, context: context)
        } catch {
            trail.deny()
            throw error
        }
    }
}
