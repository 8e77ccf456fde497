import Foundation

/// The assignment protocol between agents and servers (`/agent/v1`), shared by both sides.
public enum AgentProtocol {
    /// One task as its agent must run it: the definition's containers with overrides and host port bindings.
    public struct AssignedTask: Codable, Sendable, Equatable {
        public var taskArn: String
        public var family: String
        public var revision: Int
        public var desiredStatus: String
        public var lastStatus: String
        public var containers: [Container]
        public var taskDefinition: TaskDefinition
        public var overrides: TaskOverride?
        /// The task's group (`service:<name>` for a service's tasks), for the task metadata endpoint.
        public var group: String?
        /// EC2 or FARGATE, as DescribeTasks shows it: the task metadata endpoint says the same.
        public var launchType: String?

        /// The role the task's containers get credentials for: RunTask's override, else the definition's.
        public var taskRoleArn: String? { overrides?.taskRoleArn ?? taskDefinition.taskRoleArn }

        public init(taskArn: String, family: String, revision: Int, desiredStatus: String, lastStatus: String,
                    containers: [Container], taskDefinition: TaskDefinition, overrides: TaskOverride?, group: String? = nil,
                    launchType: String? = nil) {
            self.taskArn = taskArn; self.family = family; self.revision = revision; self.desiredStatus = desiredStatus
            self.lastStatus = lastStatus; self.containers = containers; self.taskDefinition = taskDefinition
            self.overrides = overrides; self.group = group; self.launchType = launchType
        }
    }

    /// Values a task's containers get at start, read with its execution role, for the agent it is placed on only.
    /// The agent keeps them in memory: they are never written to its disk.
    public struct TaskSecrets: Codable, Sendable, Equatable {
        public struct Container: Codable, Sendable, Equatable {
            /// Environment variables from `secrets`.
            public var environment: [String: String]
            /// Log driver options from `logConfiguration.secretOptions`.
            public var logOptions: [String: String]
            /// The registry login from `repositoryCredentials`.
            public var registryUsername: String?
            public var registryPassword: String?
            public init(environment: [String: String] = [:], logOptions: [String: String] = [:], registryUsername: String? = nil,
                        registryPassword: String? = nil) {
                self.environment = environment; self.logOptions = logOptions
                self.registryUsername = registryUsername; self.registryPassword = registryPassword
            }
        }
        /// By container name.
        public var containers: [String: Container]
        /// Contents of configuration-volume files read from parameters and secrets: volume name to path to bytes.
        public var files: [String: [String: Data]]
        /// Set when a value could not be read: the task's stoppedReason (ResourceInitializationError: …).
        public var failure: String?
        public init(containers: [String: Container] = [:], files: [String: [String: Data]] = [:], failure: String? = nil) {
            self.containers = containers; self.files = files; self.failure = failure
        }
    }

    /// A task role's temporary credentials in the container credentials protocol's shape, which the agent
    /// hands to the task unchanged (boto3's ContainerProvider reads exactly these names).
    public struct TaskCredentials: Codable, Sendable, Equatable {
        public var roleArn: String
        public var accessKeyId: String
        public var secretAccessKey: String
        public var token: String
        public var expiration: String

        enum CodingKeys: String, CodingKey {
            case roleArn = "RoleArn", accessKeyId = "AccessKeyId", secretAccessKey = "SecretAccessKey", token = "Token"
            case expiration = "Expiration"
        }

        public init(roleArn: String, accessKeyId: String, secretAccessKey: String, token: String, expiration: String) {
            self.roleArn = roleArn; self.accessKeyId = accessKeyId; self.secretAccessKey = secretAccessKey; self.token = token
            self.expiration = expiration
        }
    }

    /// The whole desired task set of an instance, and a version that changes whenever the set does.
    public struct DesiredTasks: Codable, Sendable, Equatable {
        public var containerInstanceArn: String
        public var version: String
        public var tasks: [AssignedTask]
        public init(containerInstanceArn: String, version: String, tasks: [AssignedTask]) {
            self.containerInstanceArn = containerInstanceArn; self.version = version; self.tasks = tasks
        }
    }

    /// What an agent reports about one of its tasks.
    public struct TaskState: Codable, Sendable, Equatable {
        public var taskArn: String
        public var lastStatus: String
        public var healthStatus: String?
        public var containers: [Container]?
        public var stoppedReason: String?
        public var stopCode: String?
        /// When the agent began and finished getting the task's images, in milliseconds since the epoch.
        public var pullStartedAt: Int64?
        public var pullStoppedAt: Int64?
        /// An awsvpc task's own address, inside its instance's task subnet (the server refuses any other), once its
        /// network namespace exists.
        public var privateIPv4Address: String?
        public init(taskArn: String, lastStatus: String, healthStatus: String? = nil, containers: [Container]? = nil,
                    stoppedReason: String? = nil, stopCode: String? = nil, pullStartedAt: Int64? = nil, pullStoppedAt: Int64? = nil,
                    privateIPv4Address: String? = nil) {
            self.taskArn = taskArn; self.lastStatus = lastStatus; self.healthStatus = healthStatus
            self.containers = containers; self.stoppedReason = stoppedReason; self.stopCode = stopCode
            self.pullStartedAt = pullStartedAt; self.pullStoppedAt = pullStoppedAt; self.privateIPv4Address = privateIPv4Address
        }
    }

    public struct StateReport: Codable, Sendable, Equatable {
        /// Strictly increasing per instance (agents use milliseconds since the epoch), so reports apply once and in order.
        public var sequence: Int64
        public var tasks: [TaskState]
        public init(sequence: Int64, tasks: [TaskState]) { self.sequence = sequence; self.tasks = tasks }
    }

    public struct StateReportAnswer: Codable, Sendable, Equatable {
        public var accepted: Bool
        public var sequence: Int64
        /// Task states the server could not apply (not this instance's task, invalid values), each with why:
        /// one bad entry never refuses the rest of the report.
        public var ignored: [String: String]?
        public init(accepted: Bool, sequence: Int64, ignored: [String: String]? = nil) {
            self.accepted = accepted; self.sequence = sequence; self.ignored = ignored
        }
    }

    /// Labels that tie a runtime container to its task, so a restarted agent adopts instead of duplicating.
    public static let taskLabel = "stowage.task"
    public static let containerLabel = "stowage.container"
    public static let instanceLabel = "stowage.instance"

    /// The instance attribute naming its dynamic host port range, `low-high`.
    public static let portRangeAttribute = "stowage.ephemeral-ports"
    /// The address other hosts reach this instance at (its load balancer targets and service discovery records).
    public static let hostAddressAttribute = "stowage.host-address"

    /// Where a container's awslogs lines go: its group, and ECS's stream naming (prefix/container/task-id). The agent
    /// ships there and the server accepts a shipment only there, so a host cannot write into other log groups.
    public static func logDestination(_ log: LogConfiguration?, container: String, taskId: String) -> (group: String, stream: String)? {
        guard let log, log.logDriver == "awslogs", let group = log.options?["awslogs-group"], !group.isEmpty else { return nil }
        let stream = log.options?["awslogs-stream-prefix"].map { "\($0)/\(container)/\(taskId)" } ?? taskId
        return (group, stream)
    }

    /// A container instance's own credential: what its agent signs with once registered (`AIIA…` ids).
    public struct InstanceCredentials: Codable, Sendable, Equatable {
        public var accessKeyId: String
        public var secretAccessKey: String
        public init(accessKeyId: String, secretAccessKey: String) { self.accessKeyId = accessKeyId; self.secretAccessKey = secretAccessKey }
    }

    /// A host address as targets and DNS answers use it: an IPv4 or IPv6 literal, no brackets, port or prefix.
    public static func isHostAddress(_ text: String) -> Bool {
        !text.contains("/") && !text.contains("[") && CIDR.address(text) != nil
    }
    /// ECS's attribute of an instance that can give tasks their own network interface (awsvpc): the agent sets it
    /// when its engine can make a task network namespace.
    public static let awsvpcCapability = "ecs.capability.task-eni"
    /// The /24 an awsvpc-capable instance gives its tasks' addresses from, set by the server at registration (never
    /// by the agent or PutAttributes): unique across the platform, so hosts route to each other's tasks.
    public static let taskSubnetAttribute = "stowage.task-subnet"
    /// Where task subnets are carved from: RFC 6598's shared address space, which operators' own networks (10/8,
    /// 172.16/12, 192.168/16) and Podman's default bridge (10.88/16) do not use. 16,384 instances of /24.
    public static let taskAddressRange = "100.64.0.0/10"
    /// The subnet id an instance is in (`stowage agent --subnet`), what awsvpcConfiguration.subnets choose between.
    public static let subnetAttribute = "ecs.subnet-id"
    /// The capacity provider an instance belongs to (`stowage agent --capacity-provider`): FARGATE, FARGATE_SPOT or
    /// one the tenant created.
    public static let capacityProviderAttribute = "stowage.capacity-provider"

    /// One route an agent (or `stowage lb`) installs so that tasks on other hosts are reached by address: a peer
    /// instance's task subnet, via that instance's host address. Routed subnets over the hosts' own network.
    public struct TaskRoute: Codable, Sendable, Equatable, Hashable {
        public var subnet: String
        public var via: String
        public init(subnet: String, via: String) { self.subnet = subnet; self.via = via }
    }

    /// Where the agent's resolver for containers listens, or why it does not (`unavailable: …`).
    public static let resolverAttribute = "stowage.dns-resolver"

    /// The version of an instance's desired task set (its tasks' ids and desired statuses): a long poll
    /// answers at once when it differs from the agent's. FNV-1a, 64 bits, over the sorted set.
    public static func version(of tasks: [(id: String, desiredStatus: String)]) -> String {
        let text = tasks.sorted { $0.id < $1.id }.map { "\($0.id):\($0.desiredStatus)" }.joined(separator: ",")
        let hash = text.utf8.reduce(0xcbf2_9ce4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01b3 }
        return String(hash, radix: 16)
    }
    /// Where dynamic host ports come from unless an agent says otherwise (Docker's ephemeral range, as ECS uses).
    public static let defaultPortRange = 49153...65535

    public static func portRange(_ text: String?) -> ClosedRange<Int>? {
        guard let parts = text?.split(separator: "-"), parts.count == 2, let low = Int(parts[0]), let high = Int(parts[1]),
              1 <= low, low <= high, high <= 65_535 else { return nil }
        return low...high
    }
}

extension AgentProtocol {
    /// One container's resource use over the last interval, as an agent measures it.
    public struct MetricSample: Codable, Sendable, Equatable {
        public var taskArn: String
        public var containerName: String
        /// Milliseconds since the epoch.
        public var timestamp: Int64
        public var cpuPercentOfHost: Double?
        public var cpuPercentOfReservation: Double?
        public var memoryBytes: Int64?
        public var memoryPercentOfReservation: Double?
        public var networkRxBytes: Int64?
        public var networkTxBytes: Int64?
        public var blockReadBytes: Int64?
        public var blockWriteBytes: Int64?
        public init(taskArn: String, containerName: String, timestamp: Int64) {
            self.taskArn = taskArn; self.containerName = containerName; self.timestamp = timestamp
        }
    }

    public struct LogEvent: Codable, Sendable, Equatable {
        /// Milliseconds since the epoch.
        public var timestamp: Int64
        public var message: String
        public init(timestamp: Int64, message: String) { self.timestamp = timestamp; self.message = message }
    }

    /// Lines bound for one log stream.
    public struct LogBatch: Codable, Sendable, Equatable {
        public var taskArn: String
        public var logGroupName: String
        public var logStreamName: String
        public var events: [LogEvent]
        public init(taskArn: String, logGroupName: String, logStreamName: String, events: [LogEvent]) {
            self.taskArn = taskArn; self.logGroupName = logGroupName; self.logStreamName = logStreamName; self.events = events
        }
    }

    public struct Telemetry: Codable, Sendable, Equatable {
        public var metrics: [MetricSample]
        public var logs: [LogBatch]
        /// Log lines the agent dropped because its buffer was full, since its previous shipment.
        public var droppedLogLines: Int
        /// Metric samples the agent dropped (buffer full, or a shipment the server refused) since its previous shipment.
        public var droppedMetricSamples: Int?
        public init(metrics: [MetricSample], logs: [LogBatch], droppedLogLines: Int) {
            self.metrics = metrics; self.logs = logs; self.droppedLogLines = droppedLogLines
        }
    }

    public struct TelemetryAnswer: Codable, Sendable, Equatable {
        /// What was stored.
        public var metrics: Int
        public var logEvents: Int
        /// Samples and events set aside (counted, not stored) because their times are outside `Logs.acceptedTimes`.
        public var outOfRangeMetrics: Int?
        public var outOfRangeLogEvents: Int?
        public init(metrics: Int, logEvents: Int, outOfRangeMetrics: Int? = nil, outOfRangeLogEvents: Int? = nil) {
            self.metrics = metrics; self.logEvents = logEvents
            self.outOfRangeMetrics = outOfRangeMetrics; self.outOfRangeLogEvents = outOfRangeLogEvents
        }
    }
}
