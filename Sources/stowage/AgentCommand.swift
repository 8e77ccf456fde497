import ArgumentParser
import Foundation
import ServiceLifecycle
import StowageAgent
import StowageIAM
import StowageModel
import StowageSigning
import StowageTLS

/// Runs the agent until SIGTERM/SIGINT; its containers keep running and the next start adopts them.
struct AgentService: Service {
    let agent: Agent

    func run() async throws {
        try await cancelWhenGracefulShutdown { try await agent.run() }
    }
}

struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent", abstract: "Run this host's agent: register it, run its tasks' containers, report their state.")
    @Option(help: "Control plane endpoint, e.g. https://stowage.example:8443 (http:// only on loopback unless --allow-plain-http).")
    var endpoint: String
    @Option(help: "PEM file of the CA(s) that sign the server's certificate (e.g. `stowage dev`'s .stowage/tls/ca.pem); default: the system's roots.")
    var caBundle: String?
    @Flag(help: "Allow an http:// endpoint on another machine (credentials and secret values would cross the network in clear).")
    var allowPlainHttp = false
    @Option(help: "Cluster to join.") var cluster: String
    @Option(help: "Directory for the agent's identity.") var stateDir = "/var/lib/stowage-agent"
    @Option(help: "Availability zone attribute.") var zone = "local"
    @Option(help: "The subnet id this host is in (attribute ecs.subnet-id): awsvpc tasks naming subnets go to hosts in one of them. A host naming none takes tasks of every subnet.")
    var subnet: String?
    @Option(help: "The capacity provider this host's capacity belongs to: FARGATE, FARGATE_SPOT (spot: drained with ECS's Spot interruption) or one created with CreateCapacityProvider.")
    var capacityProvider: String?
    @Option(help: "awsvpc task networking: auto (when the engine is Podman: a namespace and an address per task, routes to the other hosts' task subnets) or off.")
    var taskNetworking = "auto"
    @Option(help: "The address other hosts and load balancers reach this host at (default: the local address of the route to --endpoint; with a loopback endpoint, the engine's bridge gateway, which containers reach too).")
    var hostAddress: String?
    @Option(name: .customLong("attribute"), help: "Custom attribute name=value (repeatable).") var attributes: [String] = []
    @Option(help: "Memory (MiB) kept back from tasks.") var reservedMemory = 256
    @Option(help: "Runtime: auto, docker or process.") var driver = "auto"
    @Option(help: "Docker Engine API socket.") var dockerSocket: String?
    @Option(help: "Seconds a long poll waits for changes.") var pollWait = 20
    @Option(help: "Dynamic host port range low-high (instances sharing a machine need disjoint ranges).") var portRange = "\(AgentProtocol.defaultPortRange.lowerBound)-\(AgentProtocol.defaultPortRange.upperBound)"
    @Option(help: "Seconds between metrics and log shipments.") var telemetryInterval = 10.0
    @Option(help: "Log lines buffered before the oldest are dropped (and counted).") var logBufferLines = 10_000
    @Option(help: "Longest wait in seconds between retries to an unreachable server (jittered; keep it well inside the worker's --heartbeat-timeout).")
    var maxBackoff = 10.0
    @Option(help: "Port of the task endpoints: role credentials and metadata v4 (0 picks a free one; ECS's agent uses 51679).")
    var credentialsPort = 51679
    @Option(help: "Address of the task endpoints, put on the loopback device so bridge-mode containers reach it (ECS's link-local address by default; 127.0.0.1 serves host-mode containers only).")
    var taskEndpointAddress = TaskEndpointsServer.linkLocal
    @Option(name: .customLong("default-ulimit"), help: "A container's nofile or nproc limit, name=soft:hard, when its definition names other ulimits but not this one (repeatable; default: the agent's own limits).")
    var defaultUlimits: [String] = []
    @Option(help: "When images are pulled: default (pull, use a cached copy if the registry fails), always, once, prefer-cached.")
    var imagePullBehavior = "default"
    @Option(help: "A Docker config file ({\"auths\": {\"registry\": {\"auth\": base64(user:password)}}}) with private registries' credentials.")
    var registryAuth: String?
    @Option(help: "Seconds between image cleanups (0: never). Only images this agent pulled are removed.") var imageCleanupInterval = 1800.0
    @Option(help: "Seconds an image must have gone unused before cleanup removes it.") var imageMinimumAge = 3600.0
    @Option(help: "Images removed per cleanup (more while the disk is over --image-disk-high).") var imagesPerCleanup = 5
    @Option(help: "Disk usage (percent) of the image store's filesystem over which cleanup removes unused images until under --image-disk-low.")
    var imageDiskHigh = 85.0
    @Option(help: "Disk usage (percent) image cleanup brings the image store's filesystem back under.") var imageDiskLow = 80.0
    @Option(help: "A tmpfs directory where configuration volumes' files are written (secret values never reach a disk).")
    var configFilesDir = "/dev/shm/stowage-agent"
    @Option(help: "Seconds between re-reads of in-place configuration volumes' parameters and secrets (0: never).")
    var configRefreshInterval = 30.0
    @Option(help: "Where containers' resolver listens (port 53), answering the tenant's Cloud Map names: an IPv4 address, auto (the engine's bridge gateway) or none (containers keep the engine's resolver).")
    var dnsAddress = "auto"
    @Option(help: "Resolver for every other name, address or address:port (default: the first nameserver of /etc/resolv.conf).")
    var dnsUpstream: String?
    @Option(help: "Seconds between fetches of the tenant's Cloud Map names for the resolver.") var discoveryRefresh = 2.0
    @Option(help: "Seconds between replacements of the instance's own credential (the old one works ten minutes more).")
    var credentialRotation = 43_200.0
    @OptionGroup(title: "What tasks may take from this host (ECS's ECS_DISABLE_PRIVILEGED and kin; by default everything is allowed, as ECS allows it)")
    var host: HostAccessFlags
    @Option(help: "Region used to sign requests.") var region = ProcessInfo.processInfo.environment["AWS_REGION"]
        ?? ProcessInfo.processInfo.environment["AWS_DEFAULT_REGION"] ?? "us-east-1"

    func run() async throws {
        Stowage.bootstrapObservability()
        let logger = Environment.logger("stowage.agent")
        do {
            try PlainHTTP.checkEndpoint(endpoint, allowed: allowPlainHttp)
        } catch { throw ValidationError("\(error)") }
        guard let credentials = SharedCredentials.fromEnvironment() else {
            throw ValidationError("No credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_SHARED_CREDENTIALS_FILE.")
        }
        var custom: [String: String] = [:]
        for pair in attributes {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { throw ValidationError("--attribute takes name=value, got '\(pair)'") }
            guard !HostAllowance.isAdvertised(String(parts[0])) else {
                throw ValidationError("--attribute \(parts[0]): host settings are stated by the --forbid-* switches, not by hand")
            }
            custom[String(parts[0])] = String(parts[1])
        }
        if let subnet {
            guard subnet.range(of: "^subnet-[A-Za-z0-9-]{1,64}$", options: .regularExpression) != nil else {
                throw ValidationError("--subnet takes a subnet id such as subnet-a or subnet-0123abcd, got '\(subnet)'")
            }
            custom[AgentProtocol.subnetAttribute] = subnet
        }
        if let capacityProvider {
            guard capacityProvider.range(of: "^[A-Za-z0-9_-]{1,255}$", options: .regularExpression) != nil else {
                throw ValidationError("--capacity-provider takes a capacity provider name (letters, digits, _ and -), got '\(capacityProvider)'")
            }
            custom[AgentProtocol.capacityProviderAttribute] = capacityProvider
        }
        guard ["auto", "off"].contains(taskNetworking) else { throw ValidationError("--task-networking takes auto or off") }
        let allowance = try host.allowance()
        do {
            try PrivateFiles.directory(stateDir)
            try Self.checkPrivate(credentialsFile: ProcessInfo.processInfo.environment)
        } catch { throw ValidationError("\(error)") }
        let socket = dockerSocket ?? ProcessInfo.processInfo.environment["DOCKER_HOST"].flatMap {
            $0.hasPrefix("unix://") ? String($0.dropFirst("unix://".count)) : nil
        } ?? "/var/run/docker.sock"
        let runtime = try await Self.pickRuntime(driver, socket: socket, stateDir: stateDir, defaultUlimits: try Self.ulimits(defaultUlimits))
        logger.info("container runtime chosen", metadata: ["driver": "\(runtime.kind)", "socket": "\(runtime.kind == "docker" ? socket : "-")"])
        guard let ports = AgentProtocol.portRange(portRange) else { throw ValidationError("--port-range takes low-high, e.g. 50000-50999") }
        var config = AgentConfig(cluster: cluster, stateDirectory: stateDir, zone: zone, attributes: custom,
                                 reservedMemoryMiB: reservedMemory, pollWait: pollWait, portRange: ports)
        if let hostAddress, !AgentProtocol.isHostAddress(hostAddress) {
            throw ValidationError("--host-address must be an IPv4 or IPv6 address (load balancers and service discovery send traffic to it); got '\(hostAddress)'")
        }
        config.hostAddress = hostAddress
        config.hostAllowance = allowance
        config.taskNetworking = taskNetworking == "auto"
        if dnsAddress != "none" {
            guard dnsAddress == "auto" || DiscoveryRules.isIPv4(dnsAddress) else { throw ValidationError("--dns-address takes an IPv4 address, auto or none") }
            config.dnsAddress = dnsAddress
        }
        config.dnsUpstream = dnsUpstream
        guard discoveryRefresh >= 0.2 else { throw ValidationError("--discovery-refresh must be at least 0.2 seconds") }
        config.discoveryRefresh = .milliseconds(Int(discoveryRefresh * 1000))
        guard credentialRotation >= 60 else { throw ValidationError("--credential-rotation must be at least 60 seconds") }
        config.credentialRotation = .milliseconds(Int(credentialRotation * 1000))
        config.telemetryInterval = .milliseconds(Int(telemetryInterval * 1000))
        config.logBufferLines = logBufferLines
        guard maxBackoff >= 0.1 else { throw ValidationError("--max-backoff must be at least 0.1 seconds") }
        config.maxBackoff = maxBackoff
        config.credentialsKey = credentials.secret
        guard let behavior = ImagePullBehavior(rawValue: imagePullBehavior) else {
            throw ValidationError("--image-pull-behavior must be default, always, once or prefer-cached")
        }
        config.imagePullBehavior = behavior
        if let registryAuth {
            guard let data = FileManager.default.contents(atPath: registryAuth) else { throw ValidationError("cannot read --registry-auth \(registryAuth)") }
            config.registryAuth = try RegistryAuthFile.parse(data)
        }
        guard imageCleanupInterval >= 0, imageMinimumAge >= 0, imagesPerCleanup >= 0, 0 < imageDiskLow, imageDiskLow <= imageDiskHigh,
              imageDiskHigh <= 100 else {
            throw ValidationError("image cleanup settings: non-negative times and counts, 0 < --image-disk-low <= --image-disk-high <= 100")
        }
        guard configRefreshInterval >= 0 else { throw ValidationError("--config-refresh-interval must not be negative") }
        config.configFilesDirectory = absolute(configFilesDir)
        config.configRefreshInterval = configRefreshInterval == 0 ? nil : .milliseconds(Int(configRefreshInterval * 1000))
        config.imageCleanupInterval = imageCleanupInterval == 0 ? nil : .milliseconds(Int(imageCleanupInterval * 1000))
        config.imageMinimumAge = imageMinimumAge
        config.imagesPerCleanup = imagesPerCleanup
        config.imageDiskHighPercent = imageDiskHigh
        config.imageDiskLowPercent = imageDiskLow
        var server = ServerClient(endpoint: endpoint, accessKeyId: credentials.accessKeyId, secret: credentials.secret, region: region)
        do {
            server.tls = try ClientTLS.configuration(caBundle: caBundle.map(absolute))
        } catch { throw ValidationError("\(error)") }
        let agent = Agent(config: config, server: server, runtime: runtime, logger: logger)
        let endpoints = TaskEndpointsServer(agent: agent, address: taskEndpointAddress, port: credentialsPort, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: endpoints), .init(service: AgentService(agent: agent))],
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// Docker when its socket answers, else host processes; an explicit choice must work.
    static func pickRuntime(_ choice: String, socket: String, stateDir: String, defaultUlimits: [Ulimit] = []) async throws -> any ContainerRuntime {
        let docker = DockerRuntime(socketPath: socket, defaultUlimits: defaultUlimits)
        switch choice {
        case "docker":
            guard await docker.ping() else { throw ValidationError("no Docker Engine API answers at \(socket)") }
            return docker
        case "process":
            return ProcessRuntime(directory: stateDir + "/processes")
        case "auto":
            return await docker.ping() ? docker : ProcessRuntime(directory: stateDir + "/processes")
        default:
            throw ValidationError("--driver must be auto, docker or process")
        }
    }

    /// The agent's key in a shared-credentials file (when not in its environment) must not be readable by every
    /// user, as ssh insists of a private key.
    static func checkPrivate(credentialsFile env: [String: String]) throws {
        guard env["AWS_ACCESS_KEY_ID"] == nil || env["AWS_SECRET_ACCESS_KEY"] == nil else { return }
        let path = env["AWS_SHARED_CREDENTIALS_FILE"] ?? ((env["HOME"] ?? "") + "/.aws/credentials")
        var info = stat()
        guard stat(path, &info) == 0 else { return }
        guard info.st_mode & 0o007 == 0 else {
            throw ValidationError("\(path) holds the agent's secret key and every user may read it: chmod 600 \(path)")
        }
    }

    /// Parses `name=soft:hard` ulimits (dockerd's --default-ulimit form).
    static func ulimits(_ texts: [String]) throws -> [Ulimit] {
        try texts.map { text in
            let parts = text.split(separator: "=", maxSplits: 1)
            let bounds = parts.count == 2 ? parts[1].split(separator: ":").compactMap { Int($0) } : []
            guard parts.count == 2, ["nofile", "nproc"].contains(String(parts[0])), bounds.count == 2, bounds[0] <= bounds[1] else {
                throw ValidationError("--default-ulimit takes nofile=soft:hard or nproc=soft:hard, got '\(text)'")
            }
            return Ulimit(name: String(parts[0]), softLimit: bounds[0], hardLimit: bounds[1])
        }
    }
}
