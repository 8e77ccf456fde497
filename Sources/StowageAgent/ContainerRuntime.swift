import Foundation

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
    /// credentials endpoint on 127.0.0.1), "none" has none, anything else is the engine's bridge.
    public var networkMode: String?

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
                labels: [String: String] = [:], healthCommand: [String]? = nil, healthTimeout: Int? = nil, networkMode: String? = nil) {
        self.networkMode = networkMode
        self.name = name; self.image = image; self.command = command; self.entryPoint = entryPoint
        self.environment = environment; self.workingDirectory = workingDirectory; self.user = user
        self.memoryMiB = memoryMiB; self.memoryReservationMiB = memoryReservationMiB; self.cpuShares = cpuShares
        self.ports = ports; self.labels = labels; self.healthCommand = healthCommand; self.healthTimeout = healthTimeout
    }
}

/// A container's state as the runtime reports it.
public struct ContainerStatus: Sendable, Equatable {
    public var running: Bool
    public var exitCode: Int?
    public var startedAt: Date?
    public var finishedAt: Date?
    public var error: String?
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
    case notFound(String)
    case failed(String)

    public var description: String {
        switch self {
        case .imageNotFound(let image): "CannotPullContainerError: pull image manifest has been retried 1 time(s): image \(image) not found"
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
}

extension ContainerRuntime {
    /// By default a health check is an exec of its command.
    public func healthCheck(_ id: String, command: [String], timeout: Duration) async throws -> Int {
        try await exec(id, command: command, timeout: timeout)
    }
}
