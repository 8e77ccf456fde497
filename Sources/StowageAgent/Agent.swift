import Foundation
import Logging
import StowageModel
import StowageSigning

/// The host agent: registers the host, long-polls its desired task set, converges the runtime to it,
/// watches containers and health checks, and reports every change.
///
/// Its concerns live in one file each: configuration and saved state (AgentConfig.swift), host probing
/// (Agent+Host.swift), the poll loop (Agent+Poll.swift), task lifecycle (Agent+Lifecycle.swift), health
/// (Agent+Health.swift), reporting (Agent+Reporting.swift); what to do is decided by the pure
/// AgentDecisions. All work runs in the task group of `run`, which shutdown cancels and waits for.
public actor Agent {
    let config: AgentConfig
    let server: ServerClient
    /// The key the agent was started with: it registers the host once; the instance's own credential signs the rest.
    let configuredKey: SigV4Signer
    let runtime: any ContainerRuntime
    let logger: Logger
    var state: AgentState?
    var tasks: [String: LocalTask] = [:]
    /// Containers found at start, by task ARN and container name: adopted instead of started again.
    var adoptable: [String: [String: ListedContainer]] = [:]
    var version: String?
    var lastSequence: Int64 = 0
    var telemetry = TelemetryState()
    var cleaningOrphans = false
    /// Where the task endpoints (credentials, metadata) listen once they do, as `http://address:port`.
    var taskEndpoint: String?
    /// The address of the resolver containers are pointed at, once it listens; why not, when it could not.
    var resolverAddress: String?
    var resolverProblem: String?
    /// The host's address when none is configured and the server is on loopback (one machine): the engine's
    /// bridge gateway, which containers on this host reach too (127.0.0.1 would be each container itself).
    var bridgeHostAddress: String?
    /// Whether this host gives awsvpc tasks namespaces of their own (the engine can, and the operator did not turn
    /// it off), and the task network of the subnet the server gave the instance once it is made.
    var offersTaskNetworks = false
    var taskNetwork: HostTaskNetwork?
    /// Where awsvpc tasks' resolver listens (their network's gateway), once it does.
    var taskResolverAddress: String?
    var credentialCache: [String: CachedCredentials] = [:]
    /// Values read with a task's execution role, by task ARN: in memory only, dropped when the task is.
    var taskSecrets: [String: AgentProtocol.TaskSecrets] = [:]
    /// References this agent pulled (pull behaviour `once`), the images they gave (the only ones image cleanup
    /// removes), and when each image was last used by a task here.
    var pulledReferences: Set<String> = []
    var pulledImages: [String: Set<String>] = [:]
    var imageLastUsed: [String: Date] = [:]
    let registry = ImageRegistryClient(client: ImageRegistryClient.sharedClient)
    var shipping = false
    /// One state report in flight at a time; changes made meanwhile ride in the next one.
    var reporting = false
    var reportAgain = false
    /// Stop reports for tasks this host does not run, waiting to go out with the next report.
    var directStates: [String: AgentProtocol.TaskState] = [:]
    /// Work handed from the actor to the task group. Bounded by what is tracked: each task has at most one
    /// start and one stop in flight (its flags say so), one orphan sweep runs at a time, reports coalesce.
    let work: AsyncStream<AgentWork>
    let workSink: AsyncStream<AgentWork>.Continuation

    public init(config: AgentConfig, server: ServerClient, runtime: any ContainerRuntime, logger: Logger) {
        self.config = config
        self.server = server
        self.configuredKey = server.signer.current
        self.runtime = runtime
        self.logger = logger
        (work, workSink) = AsyncStream.makeStream(of: AgentWork.self)
    }

    public var containerInstanceArn: String? { state?.containerInstanceArn }
    var instanceId: String { state?.containerInstanceArn?.split(separator: "/").last.map(String.init) ?? "" }
    /// Only this instance's containers: several agents may share one engine.
    var instanceFilter: String { "\(AgentProtocol.instanceLabel)=\(state?.containerInstanceArn ?? "")" }
    var now: Date { config.clock.now() }

    public func run() async throws {
        // The resolver binds before registration, so the instance's attributes say whether containers get it.
        let resolver = await startResolver()
        if config.hostAddress == nil, (Self.sourceAddress(toward: server.endpoint) ?? "127.0.0.1").hasPrefix("127.") {
            bridgeHostAddress = await runtime.bridgeGateway()
        }
        if config.taskNetworking { offersTaskNetworks = await runtime.supportsTaskNetworks() }
        var backoff = 1.0
        while true {
            do {
                try await register()
                break
            } catch {
                // The server may not be up yet, or unreachable for a while: keep trying.
                if Task.isCancelled { throw CancellationError() }
                let wait = Self.jittered(backoff)
                logger.warning("registration failed; retrying", metadata: ["error": "\(error)", "retry_in": "\(wait)"])
                try await Task.sleep(for: .seconds(wait))
                backoff = min(config.maxBackoff, backoff * 2)
            }
        }
        let taskResolver = await startTaskNetworkResolver()
        let found = try await runtime.list(label: instanceFilter)
        resumeLogPositions(existing: Set(found.map(\.id)))
        for container in found {
            guard let task = container.labels[AgentProtocol.taskLabel], let name = container.labels[AgentProtocol.containerLabel] else { continue }
            adoptable[task, default: [:]][name] = container
        }
        logger.info("agent running", metadata: ["instance": "\(state?.containerInstanceArn ?? "")", "driver": "\(runtime.kind)",
                                                "found_containers": "\(adoptable.values.map(\.count).reduce(0, +))"])
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await self.pollLoop() }
            group.addTask { await self.monitorLoop() }
            group.addTask { await self.telemetryLoop() }
            group.addTask { await self.imageCleanupLoop() }
            group.addTask { await self.configRefreshLoop() }
            group.addTask { await self.workLoop() }
            group.addTask { await self.credentialRotationLoop() }
            if self.offersTaskNetworks { group.addTask { await self.taskRoutesLoop() } }
            let bound = [resolver, taskResolver].compactMap { $0 }
            for (resolver, channel) in bound {
                group.addTask {
                    do { try await resolver.serve(channel) } catch { self.logger.error("discovery resolver stopped", metadata: ["error": "\(error)"]) }
                }
            }
            if !bound.isEmpty { group.addTask { await self.discoveryLoop(bound.map(\.0)) } }
        }
    }

    /// Runs each piece of work as a child task; cancelled with the agent, and waited for.
    func workLoop() async {
        await withDiscardingTaskGroup { group in
            for await item in work {
                group.addTask { await self.perform(item) }
            }
        }
    }

    func perform(_ item: AgentWork) async {
        switch item {
        case .start(let arn): await startTask(arn)
        case .stop(let arn): await stopTask(arn, reason: nil, code: nil)
        case .discard(let arn): await discard(arn)
        case .removeOrphans(let wanted):
            await removeOrphans(wanted: wanted)
            cleaningOrphans = false
        case .report: await reportChanges()
        }
    }

    /// Between half and all of `seconds`, so agents that lost the server together do not return together.
    static func jittered(_ seconds: Double) -> Double {
        seconds * Double.random(in: 0.5...1.0)
    }

    // MARK: Registration and saved state

    var statePath: String { config.stateDirectory + "/agent-state.json" }

    /// Registers the host. With the instance's own credential saved from an earlier run it registers as that
    /// instance again (only that credential may); the server answers with a fresh credential every time, which
    /// signs every later call. A saved credential the server no longer knows (the instance was deregistered)
    /// sends the agent back to its configured key to register anew.
    func register() async throws {
        try PrivateFiles.directory(config.stateDirectory)
        var current = (try? Data(contentsOf: URL(fileURLWithPath: statePath))).flatMap { try? JSONDecoder().decode(AgentState.self, from: $0) }
        if current?.cluster != config.cluster { current = nil }
        if let key = current?.instanceAccessKeyId, let secret = current?.instanceSecret {
            server.use(accessKeyId: key, secret: secret)
        } else {
            server.use(accessKeyId: configuredKey.accessKeyId, secret: configuredKey.secret)
        }
        var saved = current ?? AgentState(cluster: config.cluster, ec2InstanceId: Identifier.ec2Instance())
        var request = RegisterContainerInstanceRequest(cluster: config.cluster, totalResources: Self.resources(reservedMemory: config.reservedMemoryMiB),
                                                       attributes: attributes())
        let document = ["instanceId": saved.ec2InstanceId, "hostname": config.hostname]
        request.instanceIdentityDocument = String(decoding: try JSONSerialization.data(withJSONObject: document), as: UTF8.self)
        var version = VersionInfo()
        version.agentVersion = "stowage-agent/1.0"
        version.dockerVersion = runtime.kind
        request.versionInfo = version
        request.containerInstanceArn = saved.containerInstanceArn
        var answer: ContainerInstanceResponse
        do {
            answer = try await server.ecs("RegisterContainerInstance", request)
        } catch let error as APIError where saved.containerInstanceArn != nil
            && ["InvalidParameterException", "UnrecognizedClientException", "AccessDeniedException"].contains(error.code) {
            // The instance is gone, or its credential is: this host registers as a new instance with its configured key.
            logger.info("previous instance is gone; registering anew", metadata: ["error": "\(error.message)"])
            server.use(accessKeyId: configuredKey.accessKeyId, secret: configuredKey.secret)
            saved = AgentState(cluster: config.cluster, ec2InstanceId: Identifier.ec2Instance())
            request.containerInstanceArn = nil
            let document = ["instanceId": saved.ec2InstanceId, "hostname": config.hostname]
            request.instanceIdentityDocument = String(decoding: try JSONSerialization.data(withJSONObject: document), as: UTF8.self)
            answer = try await server.ecs("RegisterContainerInstance", request)
        }
        saved.containerInstanceArn = answer.containerInstance.containerInstanceArn
        if let credential = answer.instanceCredentials {
            saved.instanceAccessKeyId = credential.accessKeyId
            saved.instanceSecret = credential.secretAccessKey
        }
        try PrivateFiles.write(JSONEncoder().encode(saved), to: statePath)
        state = saved
        if let key = saved.instanceAccessKeyId, let secret = saved.instanceSecret { server.use(accessKeyId: key, secret: secret) }
        let subnet = answer.containerInstance.attributes?.first { $0.name == AgentProtocol.taskSubnetAttribute }?.value
        if offersTaskNetworks { await prepareTaskNetwork(subnet: subnet) }
    }

    /// Replaces the instance's credential with a new one every `credentialRotation`; the old one keeps working for
    /// a few minutes on the server, so no call fails while the agent switches. The new one is saved before use.
    func credentialRotationLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: config.credentialRotation)
            guard !Task.isCancelled, var saved = state else { return }
            do {
                let fresh: AgentProtocol.InstanceCredentials = try await server.post(
                    "/agent/v1/clusters/\(config.cluster)/container-instances/\(instanceId)/instance-credentials", [String: String]())
                saved.instanceAccessKeyId = fresh.accessKeyId
                saved.instanceSecret = fresh.secretAccessKey
                try PrivateFiles.write(JSONEncoder().encode(saved), to: statePath)
                state = saved
                server.use(accessKeyId: fresh.accessKeyId, secret: fresh.secretAccessKey)
                logger.info("instance credential rotated", metadata: ["access_key_id": "\(fresh.accessKeyId)"])
            } catch {
                logger.warning("instance credential rotation failed; the current one stays in use", metadata: ["error": "\(error)"])
            }
        }
    }
}
