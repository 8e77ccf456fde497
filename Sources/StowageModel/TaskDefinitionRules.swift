import Foundation

/// RegisterTaskDefinition's checks and defaults, kept pure so both doors and tests share them.
public enum TaskDefinitionRules {
    public static let networkModes: Set<String> = ["bridge", "host", "awsvpc", "none"]
    public static let logDrivers: Set<String> = [
        "json-file", "syslog", "journald", "gelf", "fluentd", "awslogs", "splunk", "awsfirelens", "none",
    ]
    public static let dependencyConditions: Set<String> = ["START", "COMPLETE", "SUCCESS", "HEALTHY"]

    /// Parses task-level CPU: "256", "1024", "1 vCPU", "0.25 vcpu" -> CPU units.
    public static func cpuUnits(_ text: String) -> Int? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        if let n = Int(t) { return n }
        if t.hasSuffix("vcpu"), let v = Double(t.dropLast(4).trimmingCharacters(in: .whitespaces)) {
            return Int((v * 1024).rounded())
        }
        return nil
    }

    /// Parses task-level memory: "512", "2048", "1 GB", "0.5gb" -> MiB.
    public static func memoryMiB(_ text: String) -> Int? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        if let n = Int(t) { return n }
        if t.hasSuffix("gb"), let v = Double(t.dropLast(2).trimmingCharacters(in: .whitespaces)) {
            return Int((v * 1024).rounded())
        }
        return nil
    }

    /// Validates a request and returns the task definition body it describes, with ECS's defaults applied.
    public static func validate(_ request: RegisterTaskDefinitionRequest) throws(APIError) -> TaskDefinition {
        guard let family = request.family else { throw .invalidParameter("family is required.") }
        try Validate.family(family)
        try Validate.tags(request.tags)
        let networkMode = request.networkMode ?? "bridge"
        guard networkModes.contains(networkMode) else {
            throw .invalidParameter("networkMode must be one of bridge, host, awsvpc or none, got '\(networkMode)'.")
        }
        for compatibility in request.requiresCompatibilities ?? [] where !["EC2", "EXTERNAL", "FARGATE"].contains(compatibility) {
            throw .invalidParameter("requiresCompatibilities \(compatibility) is refused: Stowage runs tasks on its registered instances (EC2, EXTERNAL, or FARGATE on instances marked as Fargate capacity).")
        }
        try request.runtimePlatform?.check()
        guard var containers = request.containerDefinitions, !containers.isEmpty else {
            throw .client("Container list cannot be empty.")
        }
        guard containers.count <= 10 else { throw .client("Too many containers: a task definition holds at most 10.") }

        var taskCPU: Int?
        if let cpu = request.cpu {
            guard let units = cpuUnits(cpu), (128...196_608).contains(units) else {
                throw .client("Invalid 'cpu' setting for task: '\(cpu)' must be between 128 and 196608 CPU units (or 0.125 to 192 vCPU).")
            }
            taskCPU = units
        }
        var taskMemory: Int?
        if let memory = request.memory {
            guard let mib = memoryMiB(memory), (128...1_048_576).contains(mib) else {
                throw .client("Invalid 'memory' setting for task: '\(memory)' must be between 128 MiB and 1048576 MiB.")
            }
            taskMemory = mib
        }

        let names = containers.compactMap(\.name)
        var seenNames = Set<String>()
        var usedHostPorts = Set<String>()
        var containerCPU = 0
        var containerMemory = 0
        for index in containers.indices {
            var c = containers[index]
            guard let name = c.name, !name.isEmpty else { throw .client("Container.name should not be null or empty.") }
            guard name.count <= 255, name.allSatisfy(Validate.nameCharacters.contains) else {
                throw .client("Container name '\(name)' is invalid: letters, numbers, hyphens and underscores only, up to 255.")
            }
            guard seenNames.insert(name).inserted else {
                throw .client("Duplicate container name '\(name)': container names must be unique within a task definition.")
            }
            guard let image = c.image, !image.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw .client("Container.image should not be null or empty.")
            }
            if let cpu = c.cpu {
                guard (0...10_240).contains(cpu) else {
                    throw .client("Invalid 'cpu' setting for container '\(name)': must be between 0 and 10240 CPU units.")
                }
                containerCPU += cpu
            }
            if c.memory == nil, c.memoryReservation == nil, taskMemory == nil {
                throw .client(
                    "Invalid setting for container '\(name)'. At least one of 'memory' or 'memoryReservation' must be specified.")
            }
            if let memory = c.memory {
                guard (6...1_048_576).contains(memory) else {
                    throw .client("Invalid 'memory' setting for container '\(name)': \(memory) MiB is outside 6 to 1048576 MiB.")
                }
            }
            if let reservation = c.memoryReservation {
                guard (6...1_048_576).contains(reservation) else {
                    throw .client("Invalid 'memoryReservation' setting for container '\(name)': \(reservation) MiB is outside 6 to 1048576 MiB.")
                }
                if let memory = c.memory, reservation > memory {
                    throw .client(
                        "Invalid 'memory' setting for container '\(name)'. memoryReservation (\(reservation)) must not exceed memory (\(memory)).")
                }
            }
            containerMemory += c.memoryReservation ?? c.memory ?? 0

            var mappings = c.portMappings ?? []
            for m in mappings.indices {
                guard let containerPort = mappings[m].containerPort, (1...65_535).contains(containerPort) else {
                    throw .client("Invalid port mapping for container '\(name)': containerPort must be between 1 and 65535.")
                }
                let proto = mappings[m].protocol ?? "tcp"
                guard proto == "tcp" || proto == "udp" else {
                    throw .client("Invalid port mapping for container '\(name)': protocol must be tcp or udp, got '\(proto)'.")
                }
                mappings[m].protocol = proto
                if networkMode == "awsvpc" || networkMode == "host" {
                    let host = mappings[m].hostPort ?? containerPort
                    guard host == containerPort else {
                        throw .client(
                            "Invalid port mapping for container '\(name)': in \(networkMode) network mode hostPort must equal containerPort (\(containerPort)).")
                    }
                    mappings[m].hostPort = host
                } else if networkMode == "none" {
                    throw .client("Port mappings are not allowed for container '\(name)' in none network mode.")
                }
                let hostPort = mappings[m].hostPort ?? 0
                guard (0...65_535).contains(hostPort) else {
                    throw .client("Invalid port mapping for container '\(name)': hostPort must be between 0 and 65535.")
                }
                if hostPort != 0 {
                    guard usedHostPorts.insert("\(proto)/\(hostPort)").inserted else {
                        throw .client("Host port \(hostPort)/\(proto) is mapped more than once in this task definition.")
                    }
                }
            }
            if c.portMappings != nil { c.portMappings = mappings }

            for dependency in c.dependsOn ?? [] {
                guard dependency.containerName != name, names.contains(dependency.containerName) else {
                    throw .client("Container '\(name)' depends on '\(dependency.containerName)', which is not another container of this task definition.")
                }
                guard dependencyConditions.contains(dependency.condition) else {
                    throw .client("Invalid dependsOn condition '\(dependency.condition)' for container '\(name)': use START, COMPLETE, SUCCESS or HEALTHY.")
                }
            }
            if let check = c.healthCheck { c.healthCheck = try healthCheck(check, container: name) }
            if let log = c.logConfiguration, !logDrivers.contains(log.logDriver) {
                throw .client("Log driver '\(log.logDriver)' for container '\(name)' is not supported.")
            }
            if c.essential == nil { c.essential = true }
            containers[index] = c
        }
        guard containers.contains(where: { $0.essential == true }) else {
            throw .client("Task definition must have at least one essential container.")
        }
        if let taskCPU, containerCPU > taskCPU {
            throw .client("The sum of container cpu (\(containerCPU)) exceeds the task cpu (\(taskCPU)).")
        }
        if let taskMemory, containerMemory > taskMemory {
            throw .client("The sum of container memory reservations (\(containerMemory) MiB) exceeds the task memory (\(taskMemory) MiB).")
        }
        let volumes = try self.volumes(request.volumes ?? [])
        let volumeNames = Set(volumes.compactMap(\.name))
        try namespaces(pidMode: request.pidMode, ipcMode: request.ipcMode, containers: containers)
        for c in containers {
            try containerSettings(c, name: c.name ?? "", networkMode: networkMode, containers: names, volumes: volumeNames,
                                  memoryLimited: c.memory != nil || taskMemory != nil)
        }
        try SecretReference.check(containers, volumes: volumes, executionRoleArn: request.executionRoleArn)
        if let cycle = ContainerStartOrder.cycle(containers) {
            throw .client("Containers \(cycle.joined(separator: ", ")) wait on each other (dependsOn or volumesFrom): no start order exists.")
        }
        for constraint in request.placementConstraints ?? [] where constraint.type != "memberOf" {
            throw .client("Task definition placement constraints must be of type memberOf.")
        }

        var definition = TaskDefinition()
        definition.family = family
        definition.containerDefinitions = containers
        definition.taskRoleArn = request.taskRoleArn
        definition.executionRoleArn = request.executionRoleArn
        definition.networkMode = networkMode
        definition.volumes = volumes
        definition.placementConstraints = request.placementConstraints ?? []
        definition.requiresCompatibilities = request.requiresCompatibilities
        definition.cpu = taskCPU.map(String.init)
        definition.memory = taskMemory.map(String.init)
        definition.pidMode = request.pidMode
        definition.ipcMode = request.ipcMode
        definition.runtimePlatform = request.runtimePlatform
        let fargate = FargateRules.refusal(definition)
        if let fargate, request.requiresCompatibilities?.contains("FARGATE") == true { throw .client(fargate) }
        definition.compatibilities = ["EC2", "EXTERNAL"] + (fargate == nil ? ["FARGATE"] : [])
        return definition
    }

    /// ECS's health-check bounds and defaults (interval 30, timeout 5, retries 3, startPeriod 0).
    static func healthCheck(_ check: HealthCheck, container: String) throws(APIError) -> HealthCheck {
        guard let kind = check.command.first, ["CMD", "CMD-SHELL", "NONE"].contains(kind) else {
            throw .client("healthCheck.command for container '\(container)' must start with CMD, CMD-SHELL or NONE.")
        }
        guard kind == "NONE" || check.command.count >= 2 else {
            throw .client("healthCheck.command for container '\(container)' needs a command after \(kind).")
        }
        var c = check
        c.interval = c.interval ?? 30
        c.timeout = c.timeout ?? 5
        c.retries = c.retries ?? 3
        c.startPeriod = c.startPeriod ?? 0
        func bound(_ value: Int?, _ range: ClosedRange<Int>, _ field: String) throws(APIError) {
            guard let value, range.contains(value) else {
                throw .client("healthCheck.\(field) for container '\(container)' must be between \(range.lowerBound) and \(range.upperBound).")
            }
        }
        try bound(c.interval, 5...300, "interval")
        try bound(c.timeout, 2...120, "timeout")
        try bound(c.retries, 1...10, "retries")
        try bound(c.startPeriod, 0...300, "startPeriod")
        return c
    }
}
