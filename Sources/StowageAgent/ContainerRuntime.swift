import Foundation
import StowageModel

/// What the agent asks a runtime to create: one container of a task.
public struct ContainerSpec: Sendable, Equatable {
    public var name: String
    public var image: String
    public var command: [String]?
    public var entryPoint: [String]?
    public var environment: [String: String]
    public var workingDirectory: String?
    public var user: String?
    public var memoryMiB: Int?
    public var memoryReservationMiB: Int?
    public var cpuShares: Int?
    public var ports: [PortBinding]
    public var labels: [String: String]
    /// The health check to run through `healthCheck` (argv form), when the container definition has one.
    public var healthCommand: [String]?
    public var healthTimeout: Int?
    /// The task definition's networkMode: "host" shares the host's network (and so reaches the agent's
    /// credentials endpoint on 127.0.0.1), "none" has none, `container:<id>` joins an awsvpc task's network holder,
    /// anything else is the engine's bridge.
    public var networkMode: String?
    /// Everything else the task definition asks the engine for (volumes, hardening, namespaces, limits).
    public var settings = EngineSettings()

    public struct PortBinding: Sendable, Equatable {
        public var containerPort: Int
        public var hostPort: Int
        public var udp: Bool
        public init(containerPort: Int, hostPort: Int, udp: Bool = false) {
            self.containerPort = containerPort; self.hostPort = hostPort; self.udp = udp
        }
    }

    public init(name: String, image: String, command: [String]? = nil, entryPoint: [String]? = nil,
                environment: [String: String] = [:], workingDirectory: String? = nil, user: String? = nil,
                memoryMiB: Int? = nil, memoryReservationMiB: Int? = nil, cpuShares: Int? = nil, ports: [PortBinding] = [],
                labels: [String: String] = [:], healthCommand: [String]? = nil, healthTimeout: Int? = nil, networkMode: String? = nil,
                settings: EngineSettings = EngineSettings()) {
        self.networkMode = networkMode
        self.settings = settings
        self.name = name; self.image = image; self.command = command; self.entryPoint = entryPoint
        self.environment = environment; self.workingDirectory = workingDirectory; self.user = user
        self.memoryMiB = memoryMiB; self.memoryReservationMiB = memoryReservationMiB; self.cpuShares = cpuShares
        self.ports = ports; self.labels = labels; self.healthCommand = healthCommand; self.healthTimeout = healthTimeout
    }
}

/// The engine settings of one container beyond image, command and ports, already resolved by the agent
/// (volume names made, namespace holders known), so a runtime only translates them.
public struct EngineSettings: Sendable, Equatable {
    /// A bind mount of a host path or a named engine volume.
    public struct Mount: Sendable, Equatable {
        public var volume: Bool
        public var source: String
        public var target: String
        public var readOnly: Bool
        public init(volume: Bool, source: String, target: String, readOnly: Bool) {
            self.volume = volume; self.source = source; self.target = target; self.readOnly = readOnly
        }
    }
    public struct Device: Sendable, Equatable {
        public var hostPath: String
        public var containerPath: String
        /// cgroup permissions: some of r, w, m.
        public var permissions: String
    }

    public var mounts: [Mount] = []
    /// Engine ids of containers whose volumes this one mounts, each with `:ro` or `:rw`.
    public var volumesFrom: [String] = []
    public var readonlyRootFilesystem = false
    public var privileged = false
    public var ulimits: [Ulimit] = []
    public var capAdd: [String] = []
    public var capDrop: [String] = []
    public var initProcess = false
    public var shmSizeMiB: Int?
    /// Container path -> mount options (`size=64m,noexec`).
    public var tmpfs: [String: String] = [:]
    public var devices: [Device] = []
    /// Memory plus swap, in MiB (Docker's MemorySwap), when maxSwap is set.
    public var memorySwapMiB: Int?
    public var swappiness: Int?
    public var dns: [String] = []
    public var dnsSearch: [String] = []
    /// `hostname:address` entries.
    public var extraHosts: [String] = []
    public var hostname: String?
    public var securityOptions: [String] = []
    public var sysctls: [String: String] = [:]
    /// `host` or `container:<id>`.
    public var pidMode: String?
    /// `host`, `none`, `shareable` or `container:<id>`.
    public var ipcMode: String?
    public var interactive = false
    public var tty = false
    public var networkDisabled = false
    public var logDriver: String?
    public var logOptions: [String: String] = [:]
    /// The task's CPU as a hard cap on this container (CPU units / 1024 of a CPU).
    public var cpuLimitUnits: Int?

    public init() {}

    /// The settings asked for, by ECS name, for a runtime that cannot apply them to say which.
    public var requested: [String] {
        var names: [String] = []
        if !mounts.isEmpty { names.append("mountPoints") }
        if !volumesFrom.isEmpty { names.append("volumesFrom") }
        if readonlyRootFilesystem { names.append("readonlyRootFilesystem") }
        if privileged { names.append("privileged") }
        if !ulimits.isEmpty { names.append("ulimits") }
        if !capAdd.isEmpty || !capDrop.isEmpty || initProcess || shmSizeMiB != nil || !tmpfs.isEmpty || !devices.isEmpty
            || memorySwapMiB != nil || swappiness != nil { names.append("linuxParameters") }
        if !dns.isEmpty { names.append("dnsServers") }
        if !dnsSearch.isEmpty { names.append("dnsSearchDomains") }
        if !extraHosts.isEmpty { names.append("extraHosts") }
        if hostname != nil { names.append("hostname") }
        if !securityOptions.isEmpty { names.append("dockerSecurityOptions") }
        if !sysctls.isEmpty { names.append("systemControls") }
        if pidMode != nil { names.append("pidMode") }
        if ipcMode != nil { names.append("ipcMode") }
        if interactive { names.append("interactive") }
        if tty { names.append("pseudoTerminal") }
        if networkDisabled { names.append("disableNetworking") }
        if logDriver != nil { names.append("logConfiguration") }
        if cpuLimitUnits != nil { names.append("cpu (task)") }
        return names
    }
}

/// An image the engine holds.
public struct ImageInfo: Sendable, Equatable {
    public var id: String
    /// `name@sha256:…` for each registry the image came from (empty for an image built or imported locally).
    public var repoDigests: [String]
    public var tags: [String]
    public var created: Date?
    public var size: Int64
    public init(id: String, repoDigests: [String] = [], tags: [String] = [], created: Date? = nil, size: Int64 = 0) {
        self.id = id; self.repoDigests = repoDigests; self.tags = tags; self.created = created; self.size = size
    }
}

/// A container's state as the runtime reports it.
public struct ContainerStatus: Sendable, Equatable {
    public var running: Bool
    public var exitCode: Int?
    public var startedAt: Date?
    public var finishedAt: Date?
    public var error: String?
    /// The engine's image id (`sha256:…`), its creation time and the container's addresses, for task metadata.
    public var imageId: String?
    public var createdAt: Date?
    public var addresses: [String] = []
}

/// A container found on the host, with the labels that tie it to a task.
public struct ListedContainer: Sendable, Equatable {
    public var id: String
    public var name: String
    public var labels: [String: String]
    public var running: Bool
}

/// Cumulative resource counters of one container.
public struct ContainerStats: Sendable, Equatable {
    /// CPU time used, in nanoseconds, and the host's CPU time over the same clock (for percentages).
    public var cpuNanos: UInt64
    public var systemNanos: UInt64?
    public var onlineCPUs: Int
    public var memoryBytes: UInt64
    public var networkRxBytes: UInt64?
    public var networkTxBytes: UInt64?
    public var blockReadBytes: UInt64?
    public var blockWriteBytes: UInt64?
}

/// One line a container wrote.
public struct LogLine: Sendable, Equatable {
    public var stderr: Bool
    public var timestamp: Date
    public var message: String
    /// The engine's timestamp in nanoseconds since the epoch, exact, for resuming where reading stopped.
    public var nanos: Int64

    public init(stderr: Bool, timestamp: Date, message: String, nanos: Int64? = nil) {
        self.stderr = stderr
        self.timestamp = timestamp
        self.message = message
        self.nanos = nanos ?? Int64(timestamp.timeIntervalSince1970 * 1e9)
    }
}

/// Why a runtime operation failed, in words a task's stoppedReason can carry.
public enum RuntimeError: Error, Equatable, CustomStringConvertible {
    case imageNotFound(String)
    case pullFailed(image: String, message: String)
    case notFound(String)
    case failed(String)

    public var description: String {
        switch self {
        case .imageNotFound(let image): "CannotPullContainerError: pull image manifest has been retried 1 time(s): image \(image) not found"
        case .pullFailed(let image, let message): "CannotPullContainerError: pull image \(image): \(message)"
        case .notFound(let id): "container \(id) not found"
        case .failed(let message): message
        }
    }
}

/// The one protocol the agent drives containers through: the Docker Engine API, or plain host processes.
public protocol ContainerRuntime: Sendable {
    /// `docker` or `process`, as the agent reports it.
    var kind: String { get }
    func ping() async -> Bool
    func create(_ spec: ContainerSpec) async throws -> String
    func start(_ id: String) async throws
    /// Stops with SIGTERM, then SIGKILL after `timeout` seconds.
    func stop(_ id: String, timeout: Int) async throws
    func remove(_ id: String) async throws
    /// Nil when the container no longer exists.
    func inspect(_ id: String) async throws -> ContainerStatus?
    /// Every container carrying the label (`key`, or `key=value`), running or not.
    func list(label: String) async throws -> [ListedContainer]
    /// Runs a command inside the container; returns its exit code, or throws on timeout.
    func exec(_ id: String, command: [String], timeout: Duration) async throws -> Int
    /// Runs the container's health check once: 0 when it passed.
    func healthCheck(_ id: String, command: [String], timeout: Duration) async throws -> Int
    /// Lines written at or after `since` (nanoseconds since the epoch), oldest first.
    func logs(_ id: String, since: Int64?) async throws -> [LogLine]
    func stats(_ id: String) async throws -> ContainerStats?
    /// One stats sample in the Docker Engine API's shape, for the task metadata endpoint's /stats.
    func statsDocument(_ id: String) async throws -> [String: Any]?
    /// Whether containers run from images (the agent pulls them first); host processes have none.
    var hasImages: Bool { get }
    /// The image a reference names, or nil when the engine does not have it.
    func image(_ reference: String) async throws -> ImageInfo?
    /// Pulls a reference from its registry; `auth` is the X-Registry-Auth value. A registry's refusal is thrown
    /// as `RuntimeError.pullFailed` with what the registry said.
    func pull(_ reference: String, auth: String?) async throws
    func images() async throws -> [ImageInfo]
    /// Removes an image reference (the image itself once no reference is left) that no container uses; false
    /// when the engine refuses (it is in use).
    func removeImage(_ reference: String) async throws -> Bool
    /// The directory the engine keeps images in, for the disk-usage threshold of image cleanup.
    func imageStorePath() async -> String?
    /// Whether a named engine volume exists.
    func volumeExists(_ name: String) async throws -> Bool
    /// Creates a named engine volume (the driver must exist on the host).
    func createVolume(_ name: String, driver: String, options: [String: String], labels: [String: String]) async throws
    /// Removes the volumes carrying the label (`key=value`); one in use is left.
    func removeVolumes(label: String) async throws
    /// The host's address on the engine's default bridge network, which bridge-mode containers reach: where
    /// the agent's resolver listens unless told otherwise. Nil when there is none.
    func bridgeGateway() async -> String?
    /// The engine's default bridge network's subnets (CIDR text): the containers the agent's resolver answers.
    func bridgeSubnets() async -> [String]

    /// Whether the engine can give a task a network namespace of its own on a network with a chosen subnet
    /// (awsvpc): the agent offers ECS's task-eni capability only then.
    func supportsTaskNetworks() async -> Bool
    /// Makes the bridge network of the instance's task subnet when it is missing.
    func ensureTaskNetwork(name: String, subnet: String, gateway: String, labels: [String: String]) async throws
    /// Creates and starts a task's network holder (the engine's own pause image) on the task network, with the
    /// task's resolver settings; its namespace is what the task's containers join. Returns its id.
    func createNetworkHolder(name: String, network: String, settings: EngineSettings, labels: [String: String]) async throws -> String
    /// The holder's address on the task network, once it runs.
    func address(of id: String, network: String) async throws -> String?
}

extension ContainerRuntime {
    /// By default the Docker shape is made from the counters the runtime has.
    public func statsDocument(_ id: String) async throws -> [String: Any]? {
        guard let stats = try await stats(id) else { return nil }
        var cpu: [String: Any] = ["cpu_usage": ["total_usage": stats.cpuNanos], "online_cpus": stats.onlineCPUs]
        if let system = stats.systemNanos { cpu["system_cpu_usage"] = system }
        return ["read": UTCTime.rfc3339(Date()), "cpu_stats": cpu, "memory_stats": ["usage": stats.memoryBytes]]
    }

    public func bridgeGateway() async -> String? { nil }
    public func bridgeSubnets() async -> [String] { [] }

    public func supportsTaskNetworks() async -> Bool { false }
    public func ensureTaskNetwork(name: String, subnet: String, gateway: String, labels: [String: String]) async throws {
        throw RuntimeError.failed("the \(kind) runtime cannot make task networks (awsvpc)")
    }
    public func createNetworkHolder(name: String, network: String, settings: EngineSettings, labels: [String: String]) async throws -> String {
        throw RuntimeError.failed("the \(kind) runtime cannot make task networks (awsvpc)")
    }
    public func address(of id: String, network: String) async throws -> String? { nil }

    /// By default a health check is an exec of its command.
    public func healthCheck(_ id: String, command: [String], timeout: Duration) async throws -> Int {
        try await exec(id, command: command, timeout: timeout)
    }
}
