import Foundation
import Logging
import StowageIAM
import StowageModel
import StowageStore

/// Everything a handler may reach, built once per process and shared by every request.
public struct Services: Sendable {
    public var database: Database
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
    /// Wakes long polls; nil where nothing listens (then polls answer at once).
    public var notifier: InstanceNotifier?

    public init(database: Database, tenancy: Tenancy, authorizer: any Authorizer = AccountAuthorizer(),
                clock: any WallClock = SystemClock(), metrics: APIMetrics = APIMetrics(), maxBodyBytes: Int = 1 << 20,
                credentialTTL: TimeInterval = 60) {
        self.database = database
        self.tenancy = tenancy
        self.scope = tenancy.scope
        self.clock = clock
        self.metrics = metrics
        self.maxBodyBytes = maxBodyBytes
        self.authorizer = authorizer
        let cache = CredentialCache(ttl: credentialTTL, clock: clock)
        self.verifier = SigV4Verifier(cache: cache, clock: clock) { [tenancy] keyId in
            try await tenancy.credential(for: keyId)
        }
        let logger = database.logger
        self.clusters = ClusterStore(logger: logger)
        self.taskDefinitions = TaskDefinitionStore(logger: logger)
        self.instances = ContainerInstanceStore(logger: logger)
        self.tasks = TaskStore(logger: logger)
        self.ecsServices = ServiceStore(logger: logger)
    }
}

/// The verified caller of one request, and the one way handlers authorize.
public struct Caller: Sendable {
    public var principal: Principal
    public var requestId: String
    public var logger: Logger
    public var services: Services

    public var account: String { principal.accountId }

    public func authorize(_ action: String, _ resources: [String]) async throws(APIError) {
        try await services.authorizer.authorize(principal, action: action, resources: resources)
    }
}
