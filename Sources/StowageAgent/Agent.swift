import Foundation
import Logging
import NIOCore
import StowageModel

/// How an agent describes and runs its host.
public struct AgentConfig: Sendable {
    public var cluster: String
    /// Holds the agent's identity, so a restarted agent re-attaches to the same container instance.
    public var stateDirectory: String
    public var zone: String
    public var attributes: [String: String]
    public var reservedMemoryMiB: Int
    public var pollWait: Int
    public var monitorInterval: Duration
    public var hostname: String
    /// Where dynamic host ports come from; instances sharing one machine need ranges that do not overlap.
    public var portRange: ClosedRange<Int>
    /// How often metrics and logs are shipped.
    public var telemetryInterval: Duration = .seconds(10)
    /// Log lines buffered before the oldest are dropped (and counted).
    public var logBufferLines = 10_000
    /// Keys the per-task authorization tokens of the credentials endpoint (the agent's own secret), so a
    /// restarted agent recognizes the tokens of containers it started before.
    public var credentialsKey: String = ""
    /// Longest wait between retries when the server cannot be reached. It must stay well inside the
    /// control plane's heartbeat window (30 s by default) so that an agent is heard again as soon as the
    /// control plane is back; each wait is jittered between half and all of it so agents do not return in step.
    public var maxBackoff: Double = 10
    /// Most task states in one report; more changes go in further reports, so a report never exceeds the body limit.
    public var reportBatch = 100
    /// Metric samples buffered while the server is unreachable before the oldest are dropped (and counted).
    public var metricBufferSamples = 20_000

    public init(cluster: String, stateDirectory: String, zone: String = "local", attributes: [String: String] = [:],
                reservedMemoryMiB: Int = 256, pollWait: Int = 20, monitorInterval: Duration = .seconds(1),
                hostname: String = ProcessInfo.processInfo.hostName, portRange: ClosedRange<Int> = 49153...65535) {
        self.cluster = cluster; self.stateDirectory = stateDirectory; self.zone = zone; self.attributes = attributes
        self.reservedMemoryMiB = reservedMemoryMiB; self.pollWait = pollWait; self.monitorInterval = monitorInterval
        self.hostname = hostname; self.portRange = portRange
    }
}

/// What the agent remembers between runs.
struct AgentState: Codable {
    var cluster: String
    var ec2InstanceId: String
    var containerInstanceArn: String?
}

/// One container of a task on this host.
struct LocalContainer {
    var definition: ContainerDefinition
    var id: String?
    var status = "PENDING"
    var exitCode: Int?
    var reason: String?
    var health = "UNKNOWN"
    var failures = 0
    var lastCheck: Date?
    var startedAt: Date?
    var bindings: [NetworkBinding]

    var name: String { definition.name ?? "" }
    var essential: Bool { definition.essential ?? true }
    var healthCommand: [String]? {
        guard let command = definition.healthCheck?.command, let kind = command.first else { return nil }
        switch kind {
        case "CMD": return Array(command.dropFirst())
        case "CMD-SHELL": return ["/bin/sh", "-c", command.dropFirst().joined(separator: " ")]
        default: return nil
        }
    }
}

/// One task on this host, as the agent tracks it.
struct LocalTask {
    var assignment: AgentProtocol.AssignedTask
    var containers: [LocalContainer]
    var status: TaskStatus = .pending
    var health = "UNKNOWN"
    var stoppedReason: String?
    var stopCode: String?
    /// A start or stop is under way; the monitor leaves the task alone meanwhile.
    var busy = false
    var stopRequested = false
    /// What was last reported, so only changes are sent.
    var reported: String?
    /// Stopped and its containers removed: forgotten once its final state is acknowledged.
    var finished = false

    var arn: String { assignment.taskArn }
    var taskId: String { arn.split(separator: "/").last.map(String.init) ?? arn }

    var signature: String {
        "\(status.rawValue)|\(health)|" + containers.map { "\($0.name):\($0.status):\($0.exitCode ?? -1):\($0.health)" }.joined(separator: ",")
    }

    var report: AgentProtocol.TaskState {
        AgentProtocol.TaskState(
            taskArn: arn, lastStatus: status.rawValue, healthStatus: health,
            containers: containers.map { c in
                var out = Container(name: c.name)
                out.runtimeId = c.id
                out.image = c.definition.image
                out.lastStatus = c.status
                out.exitCode = c.exitCode
                out.reason = c.reason
                out.networkBindings = c.bindings
                out.healthStatus = c.health
                return out
            },
            stoppedReason: stoppedReason, stopCode: stopCode)
    }
}

/// The host agent: registers the host, long-polls its desired task set, converges the runtime to it,
/// watches containers and health checks, and reports every change.
public actor Agent {
    let config: AgentConfig
    let server: ServerClient
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
    /// Where the task credentials endpoint listens, once it does.
    var credentialsPort: Int?
    var credentialCache: [String: CachedCredentials] = [:]
    var shipping = false
    /// One state report in flight at a time; changes made meanwhile ride in the next one.
    var reporting = false
    var reportAgain = false
    /// Stop reports for tasks this host does not run, waiting to go out with the next report.
    var directStates: [String: AgentProtocol.TaskState] = [:]

    public init(config: AgentConfig, server: ServerClient, runtime: any ContainerRuntime, logger: Logger) {
        self.config = config
        self.server = server
        self.runtime = runtime
        self.logger = logger
    }

    public var containerInstanceArn: String? { state?.containerInstanceArn }
    var instanceId: String { state?.containerInstanceArn?.split(separator: "/").last.map(String.init) ?? "" }
    /// Only this instance's containers: several agents may share one engine.
    var instanceFilter: String { "\(AgentProtocol.instanceLabel)=\(state?.containerInstanceArn ?? "")" }

    public func run() async throws {
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
        for container in try await runtime.list(label: instanceFilter) {
            guard let task = container.labels[AgentProtocol.taskLabel], let name = container.labels[AgentProtocol.containerLabel] else { continue }
            adoptable[task, default: [:]][name] = container
        }
        logger.info("agent running", metadata: ["instance": "\(state?.containerInstanceArn ?? "")", "driver": "\(runtime.kind)",
                                                "found_containers": "\(adoptable.values.map(\.count).reduce(0, +))"])
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await self.pollLoop() }
            group.addTask { await self.monitorLoop() }
            group.addTask { await self.telemetryLoop() }
        }
    }

    // MARK: Registration

    var statePath: String { config.stateDirectory + "/agent-state.json" }

    func register() async throws {
        try FileManager.default.createDirectory(atPath: config.stateDirectory, withIntermediateDirectories: true)
        var current = (try? Data(contentsOf: URL(fileURLWithPath: statePath))).flatMap { try? JSONDecoder().decode(AgentState.self, from: $0) }
        if current?.cluster != config.cluster { current = nil }
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
        let answer: ContainerInstanceResponse
        do {
            answer = try await server.ecs("RegisterContainerInstance", request)
        } catch let error as APIError where saved.containerInstanceArn != nil && error.code == "InvalidParameterException" {
            logger.info("previous instance is gone; registering anew", metadata: ["error": "\(error.message)"])
            request.containerInstanceArn = nil
            answer = try await server.ecs("RegisterContainerInstance", request)
        }
        saved.containerInstanceArn = answer.containerInstance.containerInstanceArn
        try JSONEncoder().encode(saved).write(to: URL(fileURLWithPath: statePath), options: .atomic)
        state = saved
    }

    func attributes() -> [Attribute] {
        var all: [String: String] = [
            "ecs.os-type": "linux", "ecs.availability-zone": config.zone, "ecs.cpu-architecture": Self.architecture,
            "stowage.hostname": config.hostname, "stowage.driver": runtime.kind,
            AgentProtocol.portRangeAttribute: "\(config.portRange.lowerBound)-\(config.portRange.upperBound)",
        ]
        for (name, value) in config.attributes { all[name] = value }
        return all.sorted { $0.key < $1.key }.map { Attribute(name: $0.key, value: $0.value) }
    }

    static var architecture: String {
        #if arch(arm64)
        "arm64"
        #else
        "x86_64"
        #endif
    }

    /// CPU units (cores x 1024), memory from /proc/meminfo less what is reserved, and ECS's reserved ports.
    static func resources(reservedMemory: Int) -> [Resource] {
        let cpu = ProcessInfo.processInfo.activeProcessorCount * 1024
        var memory = Int(ProcessInfo.processInfo.physicalMemory >> 20)
        if let info = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
           let line = info.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal:") }),
           let kb = Int(line.split(separator: " ").dropFirst().first ?? "") {
            memory = kb / 1024
        }
        return [
            Resource(name: "CPU", integer: cpu),
            Resource(name: "MEMORY", integer: max(0, memory - reservedMemory)),
            Resource(name: "PORTS", stringSet: ["22", "2375", "2376", "51678", "51679"]),
            Resource(name: "PORTS_UDP", stringSet: []),
        ]
    }

    // MARK: Polling

    func pollLoop() async {
        var backoff = 1.0
        while !Task.isCancelled {
            do {
                let query = "after=\(version ?? "")&wait=\(config.pollWait)"
                let desired: AgentProtocol.DesiredTasks = try await server.get(
                    "/agent/v1/clusters/\(config.cluster)/container-instances/\(instanceId)/tasks", query: query,
                    timeout: .seconds(Int64(config.pollWait) + 15))
                version = desired.version
                await converge(desired.tasks)
                backoff = 1
            } catch {
                if Task.isCancelled { return }
                if let apiError = error as? APIError, apiError.awsStatus == 404 {
                    logger.warning("container instance unknown to the server; registering again")
                    try? await register()
                    version = nil
                } else {
                    logger.warning("poll failed; containers keep running", metadata: ["error": "\(error)", "retry_in": "\(backoff)"])
                }
                try? await Task.sleep(for: .seconds(Self.jittered(backoff)))
                backoff = min(config.maxBackoff, backoff * 2)
            }
        }
    }

    /// Between half and all of `seconds`, so agents that lost the server together do not return together.
    static func jittered(_ seconds: Double) -> Double {
        seconds * Double.random(in: 0.5...1.0)
    }

    /// Level-triggered: the whole desired set in, the runtime brought to it.
    func converge(_ desired: [AgentProtocol.AssignedTask]) async {
        let wanted = Dictionary(desired.map { ($0.taskArn, $0) }, uniquingKeysWith: { a, _ in a })
        var direct: [AgentProtocol.TaskState] = []
        for assignment in desired {
            if assignment.desiredStatus == "RUNNING" {
                guard tasks[assignment.taskArn] == nil else { continue }
                tasks[assignment.taskArn] = LocalTask(assignment: assignment, containers: Self.containers(assignment))
                Task { await self.startTask(assignment.taskArn) }
            } else if var task = tasks[assignment.taskArn] {
                guard task.status != .stopped, !task.stopRequested else { continue }
                task.stopRequested = true
                tasks[assignment.taskArn] = task
                Task { await self.stopTask(assignment.taskArn, reason: nil, code: nil) }
            } else {
                // Asked to stop a task this host does not run (any more): it has stopped.
                direct.append(AgentProtocol.TaskState(taskArn: assignment.taskArn, lastStatus: "STOPPED"))
            }
        }
        for (arn, task) in tasks where wanted[arn] == nil && !task.busy {
            // The server forgot the task (host lost, or it was removed): stop and remove it without a report.
            tasks[arn]?.busy = true
            Task { await self.discard(arn) }
        }
        // Off the poll's path: the poll is the heartbeat, and must never wait on the engine.
        if !cleaningOrphans {
            cleaningOrphans = true
            let wantedArns = Set(wanted.keys)
            Task {
                await self.removeOrphans(wanted: wantedArns)
                self.orphansCleaned()
            }
        }
        if !direct.isEmpty {
            for state in direct { directStates[state.taskArn] = state }
            Task { await self.reportChanges() }
        }
    }

    func orphansCleaned() { cleaningOrphans = false }

    /// Removes containers of tasks the server does not know, all at once: after a long host loss there may be
    /// many, and each stop can take its whole timeout.
    func removeOrphans(wanted: Set<String>) async {
        guard let listed = try? await runtime.list(label: instanceFilter) else { return }
        let orphans = listed.filter { container in
            let task = container.labels[AgentProtocol.taskLabel] ?? ""
            return tasks[task] == nil && !wanted.contains(task)
        }
        guard !orphans.isEmpty else { return }
        for container in orphans {
            logger.info("removing container of a task the server does not know", metadata: ["container": "\(container.name)"])
            adoptable[container.labels[AgentProtocol.taskLabel] ?? ""] = nil
        }
        let runtime = self.runtime
        await withTaskGroup(of: Void.self) { group in
            for container in orphans {
                group.addTask {
                    try? await runtime.stop(container.id, timeout: 5)
                    try? await runtime.remove(container.id)
                }
            }
        }
    }

    static func containers(_ assignment: AgentProtocol.AssignedTask) -> [LocalContainer] {
        let bindings = Dictionary(assignment.containers.map { ($0.name ?? "", $0.networkBindings ?? []) }, uniquingKeysWith: { a, _ in a })
        return (assignment.taskDefinition.containerDefinitions ?? []).map { definition in
            LocalContainer(definition: definition, bindings: bindings[definition.name ?? ""] ?? [])
        }
    }

    // MARK: Starting and stopping

    /// Containers in dependsOn order: a container comes after those it depends on.
    static func startOrder(_ containers: [LocalContainer]) -> [Int] {
        var order: [Int] = []
        var placed = Set<String>()
        var remaining = Array(containers.indices)
        while !remaining.isEmpty {
            let ready = remaining.filter { i in
                (containers[i].definition.dependsOn ?? []).allSatisfy { placed.contains($0.containerName) }
            }
            let next = ready.isEmpty ? remaining : ready
            for i in next { order.append(i); placed.insert(containers[i].name) }
            remaining.removeAll { next.contains($0) }
        }
        return order
    }

    func spec(_ task: LocalTask, _ container: LocalContainer) -> ContainerSpec {
        let d = container.definition
        let override = task.assignment.overrides?.containerOverrides?.first { $0.name == d.name }
        var env: [String: String] = [:]
        for pair in d.environment ?? [] { if let name = pair.name { env[name] = pair.value ?? "" } }
        for pair in override?.environment ?? [] { if let name = pair.name { env[name] = pair.value ?? "" } }
        env["ECS_CONTAINER_METADATA_TASK_ARN"] = task.arn
        if task.assignment.taskDefinition.taskRoleArn != nil, let port = credentialsPort {
            // The container credentials protocol, as the ECS agent serves it; boto3 and the AWS SDKs read these.
            env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://127.0.0.1:\(port)/v1/credentials/\(task.taskId)"
            env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = credentialsToken(task.arn)
        }
        return ContainerSpec(
            name: "stowage-\(task.taskId)-\(container.name)", image: d.image ?? "", command: override?.command ?? d.command,
            entryPoint: d.entryPoint, environment: env, workingDirectory: d.workingDirectory, user: d.user,
            memoryMiB: override?.memory ?? d.memory, memoryReservationMiB: override?.memoryReservation ?? d.memoryReservation,
            cpuShares: override?.cpu ?? d.cpu,
            ports: container.bindings.compactMap { b in
                guard let c = b.containerPort, let h = b.hostPort else { return nil }
                return ContainerSpec.PortBinding(containerPort: c, hostPort: h, udp: b.protocol == "udp")
            },
            labels: [AgentProtocol.taskLabel: task.arn, AgentProtocol.containerLabel: container.name,
                     AgentProtocol.instanceLabel: state?.containerInstanceArn ?? ""],
            healthCommand: container.healthCommand, healthTimeout: d.healthCheck?.timeout,
            networkMode: task.assignment.taskDefinition.networkMode)
    }

    func startTask(_ arn: String) async {
        guard var task = tasks[arn] else { return }
        task.busy = true
        task.status = .activating
        tasks[arn] = task
        await reportChanges()
        let found = adoptable.removeValue(forKey: arn) ?? [:]
        for index in Self.startOrder(task.containers) {
            var container = task.containers[index]
            do {
                try await waitForDependencies(arn, container.definition)
                if let existing = found[container.name] {
                    container.id = existing.id
                    if !existing.running { try await runtime.start(existing.id) }
                } else {
                    let id = try await runtime.create(spec(task, container))
                    container.id = id
                    tasks[arn]?.containers[index].id = id
                    try await runtime.start(id)
                }
                container.status = "RUNNING"
                container.startedAt = Date()
                tasks[arn]?.containers[index] = container
            } catch {
                let reason = (error as? RuntimeError).map { "\($0)" } ?? "CannotStartContainerError: \(error)"
                logger.warning("task failed to start", metadata: ["task": "\(arn)", "container": "\(container.name)", "reason": "\(reason)"])
                tasks[arn]?.containers[index].reason = reason
                await stopTask(arn, reason: reason, code: StopCode.taskFailedToStart.rawValue)
                return
            }
            task = tasks[arn] ?? task
        }
        tasks[arn]?.status = .running
        tasks[arn]?.busy = false
        await reportChanges()
    }

    /// Waits for the conditions a container's dependsOn names, up to its startTimeout (default 3 minutes).
    func waitForDependencies(_ arn: String, _ definition: ContainerDefinition) async throws {
        let deadline = Date().addingTimeInterval(TimeInterval(definition.startTimeout ?? 180))
        for dependency in definition.dependsOn ?? [] {
            while true {
                guard let other = tasks[arn]?.containers.first(where: { $0.name == dependency.containerName }) else { break }
                let met: Bool = switch dependency.condition {
                case "HEALTHY": other.health == "HEALTHY"
                case "COMPLETE": other.status == "STOPPED"
                case "SUCCESS": other.status == "STOPPED" && other.exitCode == 0
                default: other.status == "RUNNING" || other.status == "STOPPED"
                }
                if met { break }
                if dependency.condition == "SUCCESS", other.status == "STOPPED" {
                    throw RuntimeError.failed("dependency \(dependency.containerName) exited \(other.exitCode ?? -1)")
                }
                guard Date() < deadline else {
                    throw RuntimeError.failed("timed out waiting for \(dependency.containerName) to be \(dependency.condition)")
                }
                if dependency.condition == "HEALTHY" { await checkHealth(arn) }
                try await Task.sleep(for: .milliseconds(250))
            }
        }
    }

    /// Stops every container (reverse start order), records exit codes, reports STOPPED, then removes them.
    func stopTask(_ arn: String, reason: String?, code: String?) async {
        guard var task = tasks[arn], task.status != .stopped else { return }
        task.busy = true
        if task.stoppedReason == nil { task.stoppedReason = reason }
        if task.stopCode == nil { task.stopCode = code }
        task.status = .deactivating
        tasks[arn] = task
        for index in Self.startOrder(task.containers).reversed() {
            guard let id = tasks[arn]?.containers[index].id else {
                tasks[arn]?.containers[index].status = "STOPPED"
                continue
            }
            let timeout = task.containers[index].definition.stopTimeout ?? 30
            try? await runtime.stop(id, timeout: timeout)
            let status = try? await runtime.inspect(id)
            tasks[arn]?.containers[index].status = "STOPPED"
            if tasks[arn]?.containers[index].exitCode == nil { tasks[arn]?.containers[index].exitCode = status?.exitCode }
        }
        tasks[arn]?.status = .stopped
        await reportChanges()
        // The last lines a container wrote ship before it is removed.
        await collectTelemetry(only: arn)
        await shipTelemetry()
        for container in tasks[arn]?.containers ?? [] {
            if let id = container.id { try? await runtime.remove(id) }
        }
        forgetTelemetry(tasks[arn]?.containers.compactMap(\.id) ?? [])
        // Forgotten only once its STOPPED state is acknowledged (the report may still be on its way).
        tasks[arn]?.finished = true
        if let task = tasks[arn], task.reported == task.signature { tasks[arn] = nil }
    }

    func discard(_ arn: String) async {
        for container in tasks[arn]?.containers ?? [] {
            guard let id = container.id else { continue }
            try? await runtime.stop(id, timeout: container.definition.stopTimeout ?? 30)
            try? await runtime.remove(id)
        }
        tasks[arn] = nil
    }

    // MARK: Watching

    func monitorLoop() async {
        while !Task.isCancelled {
            // One listing per tick tells which containers still run; only the others are inspected.
            let running = (try? await runtime.list(label: instanceFilter)).map { Set($0.filter(\.running).map(\.id)) }
            for arn in Array(tasks.keys) where tasks[arn]?.status == .running && tasks[arn]?.busy == false {
                await inspect(arn, running: running)
                await checkHealth(arn)
            }
            await reportChanges()
            try? await Task.sleep(for: config.monitorInterval)
        }
    }

    /// Notices exited containers; an essential one stops the whole task.
    func inspect(_ arn: String, running: Set<String>?) async {
        guard let task = tasks[arn] else { return }
        var essentialExited: String?
        for (index, container) in task.containers.enumerated() where container.status == "RUNNING" {
            guard let id = container.id else { continue }
            if let running, running.contains(id) { continue }
            guard let status = try? await runtime.inspect(id) else {
                tasks[arn]?.containers[index].status = "STOPPED"
                tasks[arn]?.containers[index].reason = "container disappeared"
                if container.essential { essentialExited = container.name }
                continue
            }
            if !status.running {
                tasks[arn]?.containers[index].status = "STOPPED"
                tasks[arn]?.containers[index].exitCode = status.exitCode
                if container.essential { essentialExited = container.name }
            }
        }
        if essentialExited != nil {
            await stopTask(arn, reason: "Essential container in task exited", code: StopCode.essentialContainerExited.rawValue)
        }
    }

    /// Runs due health checks through the runtime and derives the task's health from its containers'.
    func checkHealth(_ arn: String) async {
        guard let task = tasks[arn] else { return }
        let now = Date()
        for (index, container) in task.containers.enumerated() where container.status == "RUNNING" {
            guard let id = container.id, let command = container.healthCommand, let check = container.definition.healthCheck else { continue }
            let interval = TimeInterval(check.interval ?? 30)
            if let last = container.lastCheck, now.timeIntervalSince(last) < interval { continue }
            tasks[arn]?.containers[index].lastCheck = now
            let passed = ((try? await runtime.healthCheck(id, command: command, timeout: .seconds(check.timeout ?? 5))) ?? -1) == 0
            guard var current = tasks[arn]?.containers[index] else { return }
            if passed {
                current.failures = 0
                current.health = "HEALTHY"
            } else {
                let inStartPeriod = now.timeIntervalSince(current.startedAt ?? now) < TimeInterval(check.startPeriod ?? 0)
                if !inStartPeriod {
                    current.failures += 1
                    if current.failures >= (check.retries ?? 3) { current.health = "UNHEALTHY" }
                }
            }
            tasks[arn]?.containers[index] = current
        }
        guard let updated = tasks[arn] else { return }
        let checked = updated.containers.filter { $0.healthCommand != nil }
        let health: String
        if checked.contains(where: { $0.essential && $0.health == "UNHEALTHY" }) {
            health = "UNHEALTHY"
        } else if !checked.isEmpty && checked.allSatisfy({ $0.health == "HEALTHY" }) {
            health = "HEALTHY"
        } else {
            health = "UNKNOWN"
        }
        tasks[arn]?.health = health
    }

    // MARK: Reporting

    func nextSequence() -> Int64 {
        lastSequence = max(lastSequence + 1, Int64(Date().timeIntervalSince1970 * 1000))
        return lastSequence
    }

    /// Sends every task whose state changed since its last report. At most one report is in flight: a call
    /// made meanwhile only asks the running one to go round again, so a burst of 200 task transitions costs a
    /// handful of reports, not one each. Each report holds at most `reportBatch` tasks. What fails to send
    /// stays unacknowledged and goes out with the next report (the monitor calls this every second).
    func reportChanges() async {
        if reporting {
            reportAgain = true
            return
        }
        reporting = true
        defer { reporting = false }
        repeat {
            reportAgain = false
            let changed = tasks.values.filter { $0.signature != $0.reported }.sorted { $0.arn < $1.arn }
            let direct = directStates.values.sorted { $0.taskArn < $1.taskArn }
            guard !changed.isEmpty || !direct.isEmpty else { return }
            let states = changed.map { ($0.arn, $0.signature, $0.report) } + direct.map { ($0.taskArn, "", $0) }
            var start = 0
            while start < states.count {
                let chunk = states[start..<min(states.count, start + max(1, config.reportBatch))]
                guard await send(chunk.map(\.2)) else { return }
                for (arn, signature, _) in chunk {
                    if signature.isEmpty {
                        directStates[arn] = nil
                        continue
                    }
                    tasks[arn]?.reported = signature
                    if let task = tasks[arn], task.finished, task.reported == task.signature { tasks[arn] = nil }
                }
                start += chunk.count
            }
        } while reportAgain
    }

    /// Sends one report. True when the server has it, or refused its content (a 4xx other than throttling or
    /// authorization): resending the same bytes would block every later report of this host, so it is
    /// logged and dropped. False when it should be sent again.
    func send(_ states: [AgentProtocol.TaskState]) async -> Bool {
        do {
            let answer: AgentProtocol.StateReportAnswer = try await server.post(
                "/agent/v1/clusters/\(config.cluster)/container-instances/\(instanceId)/state",
                AgentProtocol.StateReport(sequence: nextSequence(), tasks: states))
            if let ignored = answer.ignored {
                logger.error("server ignored task states of this report", metadata: ["ignored": "\(ignored)"])
            }
            return true
        } catch let error as APIError where (400..<500).contains(error.awsStatus) && ![403, 404, 429].contains(error.awsStatus) {
            logger.error("state report refused; dropping it", metadata: ["error": "\(error)", "tasks": "\(states.count)"])
            return true
        } catch {
            logger.warning("state report failed; will resend", metadata: ["error": "\(error)"])
            return false
        }
    }
}
