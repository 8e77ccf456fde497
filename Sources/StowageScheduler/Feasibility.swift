import StowageModel

/// A task's demand as the feasibility checks of one placement see it: what depends only on the task is worked out
/// once per task, not once per host.
public struct PlacementAsk: Sendable {
    public var demand: TaskDemand
    /// The task's group in the placer's counts (distinctInstance, spread).
    var group: Int
    /// Which hosts satisfy every memberOf expression; nil when the task has none.
    var memberOf: [Bool]?
    var staticTCP: [Int]
    var staticUDP: [Int]
    var dynamicTCP: Int
    var dynamicUDP: Int
}

/// The links of the placement chain, as Nomad's feasibility checkers: each says whether a host can take a task, and
/// what a task that fits nowhere is told when the hosts that got furthest stopped at it. A new constraint is a new
/// case: its test and its reason, in this file. (An enum rather than a list of closures: the chain runs for every
/// host of every placement, and a switch keeps it as fast as the hand-written loop it replaced.)
public enum FeasibilityCheck: String, CaseIterable, Sendable {
    /// ACTIVE with its agent connected: a draining or silent instance takes nothing new.
    case active
    /// The operator allows every host setting the task takes (privileged, host paths, devices, ...).
    case hostSettings
    /// The instance attributes the task requires (launch type or capacity provider, runtimePlatform, awsvpc, subnets).
    case attributes
    /// Every memberOf expression (the task's, its definition's and its service's) holds for the host.
    case memberOf
    /// distinctInstance: no task of the same group runs on the host.
    case distinctInstance
    case cpu
    case memory
    /// Fixed host ports free, and enough of the ephemeral range left for the dynamic ones.
    case ports
    case gpu

    /// The order a host must pass them in (declaration order); a task that fits nowhere gets the reason of the
    /// furthest link any host reached (the closest matching instance), or the first link's when there is no instance.
    public static let chain = allCases

    /// ECS's reason (RunTask's `failures[].reason`, the end of a service's event).
    public var reason: String {
        switch self {
        case .active: "No Container Instances were found in your cluster."
        case .hostSettings: HostSettingsCheck.code
        case .attributes: "ATTRIBUTE"
        case .memberOf: "MemberOf"
        case .distinctInstance: "DistinctInstance"
        case .cpu: "RESOURCE:CPU"
        case .memory: "RESOURCE:MEMORY"
        case .ports: "RESOURCE:PORTS"
        case .gpu: "RESOURCE:GPU"
        }
    }

    /// How a service event says it: "The closest matching container instance <explanation>"; nil: the reason itself.
    public var explanation: String? {
        switch self {
        case .active, .hostSettings: nil
        case .attributes: "is missing an attribute required by your task"
        case .memberOf: "does not match the placement constraints"
        case .distinctInstance: "already runs a task of this service (distinctInstance)"
        case .cpu: "has insufficient CPU units available"
        case .memory: "has insufficient memory available"
        case .ports: "is already using a port required by your task"
        case .gpu: "has insufficient GPUs available"
        }
    }

    func feasible(_ placer: Placer, _ ask: PlacementAsk, host i: Int) -> Bool {
        switch self {
        case .active: placer.hosts[i].active
        case .hostSettings: ask.demand.hostNeeds.isEmpty || (placer.allowances[i]?.refusals(ask.demand.hostNeeds).isEmpty ?? true)
        case .attributes: ask.demand.requirements.allSatisfy { $0.met(by: placer.hosts[i].attributes) }
        case .memberOf: ask.memberOf?[i] ?? true
        case .distinctInstance: !ask.demand.constraints.distinctInstance || placer.groupCounts[ask.group][i] == 0
        case .cpu: placer.cpuFree[i] >= ask.demand.cpu
        case .memory: placer.memFree[i] >= ask.demand.memory
        case .ports:
            placer.freeEphemeralTCP[i] >= ask.dynamicTCP && placer.freeEphemeralUDP[i] >= ask.dynamicUDP
                && ask.staticTCP.allSatisfy { !placer.tcpUsed[i].contains($0) } && ask.staticUDP.allSatisfy { !placer.udpUsed[i].contains($0) }
        case .gpu: placer.gpuFree[i].count >= ask.demand.gpus
        }
    }

    /// The reason of a task that fits nowhere, given the hosts that stopped at this link; host settings name what
    /// those hosts do not allow.
    func failure(_ placer: Placer, _ ask: PlacementAsk, refused: [Int], oneHost: Bool) -> String {
        if self == .attributes {
            // The first requirement one of the closest hosts lacks: "ATTRIBUTE:stowage.capacity-provider=FARGATE".
            let missing = ask.demand.requirements.first { r in refused.contains { !r.met(by: placer.hosts[$0].attributes) } }
            return missing.map { "\(reason):\($0.text)" } ?? reason
        }
        guard self == .hostSettings else { return reason }
        return HostSettingsCheck.reason(refused.map { placer.allowances[$0]?.refusals(ask.demand.hostNeeds) ?? [] }, oneHost: oneHost)
    }

    /// The service event for a task that could not be placed, in ECS's words for the reason.
    public static func unplaceableEvent(service: String, reason: String) -> String {
        if let words = HostSettingsCheck.explanation(reason) {
            return "(service \(service)) was unable to place a task because \(words)."
        }
        let explanation = chain.first { $0.reason == reason || reason.hasPrefix("\(FeasibilityCheck.attributes.reason):") && $0 == .attributes }?
            .explanation ?? reason
        return "(service \(service)) was unable to place a task because no container instance met all of its requirements. The closest matching container instance \(explanation) (\(reason))."
    }
}
