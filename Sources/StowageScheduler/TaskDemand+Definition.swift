import StowageModel

extension TaskDemand {
    /// What a task of this definition needs, with RunTask's overrides applied, and the host settings it takes.
    ///
    /// CPU and memory are the task-level sizes when given, otherwise the containers' sums (memory counts the
    /// soft reservation where one is set, as ECS does). Bridge mode with hostPort 0 or none asks for a dynamic port.
    public init(definition: TaskDefinition, overrides: TaskOverride?, group: String,
                constraints: ConstraintRules = ConstraintRules(), strategy: [StrategyRule]) {
        let containers = definition.containerDefinitions ?? []
        let byName = Dictionary((overrides?.containerOverrides ?? []).compactMap { o in o.name.map { ($0, o) } },
                                uniquingKeysWith: { a, _ in a })
        var cpu = 0
        var memory = 0
        var ports: [PortRequest] = []
        var gpus = 0
        let mode = definition.networkMode ?? "bridge"
        for container in containers {
            let name = container.name ?? ""
            let o = byName[name]
            cpu += o?.cpu ?? container.cpu ?? 0
            memory += o?.memoryReservation ?? o?.memory ?? container.memoryReservation ?? container.memory ?? 0
            gpus += (container.resourceRequirements ?? []).filter { $0.type == "GPU" }.compactMap { Int($0.value) }.reduce(0, +)
            // awsvpc ports are on the task's own address: it takes none of the host's.
            guard mode != "none", mode != "awsvpc" else { continue }
            for mapping in container.portMappings ?? [] {
                let containerPort = mapping.containerPort ?? 0
                let host = mode == "bridge" ? (mapping.hostPort ?? 0) : containerPort
                ports.append(PortRequest(containerName: name, containerPort: containerPort, hostPort: host,
                                         udp: mapping.protocol == "udp"))
            }
        }
        if let taskCPU = overrides?.cpu.flatMap(TaskDefinitionRules.cpuUnits) ?? definition.cpu.flatMap(TaskDefinitionRules.cpuUnits) {
            cpu = taskCPU
        }
        if let taskMemory = overrides?.memory.flatMap(TaskDefinitionRules.memoryMiB) ?? definition.memory.flatMap(TaskDefinitionRules.memoryMiB) {
            memory = taskMemory
        }
        var rules = constraints
        for constraint in definition.placementConstraints ?? [] where constraint.type == "memberOf" {
            if let expression = constraint.expression, let query = try? ClusterQuery.parse(expression) {
                rules.memberOf[expression] = query
            }
        }
        var requirements = (definition.runtimePlatform?.requiredAttributes ?? []).map {
            AttributeRequirement(name: $0.name, values: [$0.value])
        }
        // An awsvpc task's address comes from its instance's task subnet: only instances given one can take it.
        if mode == "awsvpc" { requirements.append(AttributeRequirement(name: AgentProtocol.taskSubnetAttribute)) }
        // Overrides change none of what a task takes from its host: that comes from the definition alone.
        self.init(cpu: cpu, memory: memory, ports: ports, gpus: gpus, group: group, constraints: rules, strategy: strategy,
                  hostNeeds: HostNeeds(definition), requirements: requirements)
    }
}

extension TaskDemand {
    /// The containers of a new task, in PENDING, as ECS describes them.
    public static func containers(for definition: TaskDefinition, placement: Placement? = nil) -> [Container] {
        (definition.containerDefinitions ?? []).map { c in
            var container = Container(name: c.name)
            container.image = c.image
            container.lastStatus = "PENDING"
            container.cpu = String(c.cpu ?? 0)
            container.memory = c.memory.map(String.init)
            container.memoryReservation = c.memoryReservation.map(String.init)
            if let placement {
                let bindings = placement.bindings.filter { $0.containerName == c.name }
                container.networkBindings = bindings.map {
                    NetworkBinding(containerPort: $0.containerPort, hostPort: $0.hostPort, protocol: $0.udp ? "udp" : "tcp")
                }
                if !placement.gpus.isEmpty, (c.resourceRequirements ?? []).contains(where: { $0.type == "GPU" }) {
                    container.gpuIds = placement.gpus
                }
            }
            return container
        }
    }

}
