import Foundation
import StowageModel

/// One container instance as placement sees it: what it offers and what it is.
public struct PlacementHost: Sendable {
    public var id: String
    public var ec2InstanceId: String
    /// ACTIVE with its agent connected: only such hosts get new tasks.
    public var active: Bool
    public var attributes: [String: String]
    public var registeredAt: Date
    public var cpu: Int
    public var memory: Int
    /// Ports the host registered as taken (PORTS / PORTS_UDP).
    public var reservedTCP: Set<Int>
    public var reservedUDP: Set<Int>
    public var gpus: [String]
    /// Where dynamic host ports come from (ECS's default ephemeral range).
    public var ephemeral: ClosedRange<Int>

    public init(id: String, ec2InstanceId: String = "", active: Bool = true, attributes: [String: String] = [:],
                registeredAt: Date = Date(timeIntervalSince1970: 0), cpu: Int, memory: Int,
                reservedTCP: Set<Int> = [], reservedUDP: Set<Int> = [], gpus: [String] = [],
                ephemeral: ClosedRange<Int> = AgentProtocol.defaultPortRange) {
        self.id = id; self.ec2InstanceId = ec2InstanceId; self.active = active; self.attributes = attributes
        self.registeredAt = registeredAt; self.cpu = cpu; self.memory = memory; self.reservedTCP = reservedTCP
        self.reservedUDP = reservedUDP; self.gpus = gpus; self.ephemeral = ephemeral
    }
}

/// A host port a task asks for: a fixed one, or 0 for one from the ephemeral range.
public struct PortRequest: Sendable, Hashable {
    public var containerName: String
    public var containerPort: Int
    public var hostPort: Int
    public var udp: Bool
    public init(containerName: String, containerPort: Int, hostPort: Int, udp: Bool = false) {
        self.containerName = containerName; self.containerPort = containerPort; self.hostPort = hostPort; self.udp = udp
    }
}

/// What one task needs, and the rules for where it may go.
public struct TaskDemand: Sendable {
    public var cpu: Int
    public var memory: Int
    public var ports: [PortRequest]
    public var gpus: Int
    /// Tasks of one group are what distinctInstance and spread count (`service:<name>`, `family:<name>`).
    public var group: String
    public var constraints: ConstraintRules
    public var strategy: [StrategyRule]
    /// What the task takes from its host beyond its sandbox; only hosts that allow all of it qualify.
    public var hostNeeds: HostNeeds
    /// Instance attributes the task requires (capacity provider, runtimePlatform, awsvpc, subnets).
    public var requirements: [AttributeRequirement]

    public init(cpu: Int, memory: Int, ports: [PortRequest] = [], gpus: Int = 0, group: String,
                constraints: ConstraintRules = ConstraintRules(), strategy: [StrategyRule] = [.spreadInstance],
                hostNeeds: HostNeeds = HostNeeds(), requirements: [AttributeRequirement] = []) {
        self.cpu = cpu; self.memory = memory; self.ports = ports; self.gpus = gpus; self.group = group
        self.constraints = constraints; self.strategy = strategy; self.hostNeeds = hostNeeds; self.requirements = requirements
    }
}

/// A task already on a host: it holds resources placement must not hand out again.
public struct PlacedTask: Sendable {
    public var hostId: String
    public var cpu: Int
    public var memory: Int
    public var tcpPorts: [Int]
    public var udpPorts: [Int]
    public var gpus: [String]
    public var group: String
    public init(hostId: String, cpu: Int, memory: Int, tcpPorts: [Int] = [], udpPorts: [Int] = [], gpus: [String] = [],
                group: String) {
        self.hostId = hostId; self.cpu = cpu; self.memory = memory; self.tcpPorts = tcpPorts; self.udpPorts = udpPorts
        self.gpus = gpus; self.group = group
    }
}

/// Where a task went: the host, its port bindings and GPUs.
public struct Placement: Sendable, Equatable {
    public var hostIndex: Int
    public var hostId: String
    public var bindings: [Binding]
    public var gpus: [String]

    public struct Binding: Sendable, Equatable, Hashable {
        public var containerName: String
        public var containerPort: Int
        public var hostPort: Int
        public var udp: Bool
    }
}

public enum PlacementResult: Sendable, Equatable {
    case placed(Placement)
    /// ECS's reason: RESOURCE:CPU, RESOURCE:MEMORY, RESOURCE:PORTS, RESOURCE:GPU, MemberOf, DistinctInstance, ATTRIBUTE, ...
    case failed(String)

    public var placement: Placement? { if case .placed(let p) = self { p } else { nil } }
}

/// The placement pipeline over an in-memory snapshot of one cluster: filter -> score -> select.
///
/// It keeps its own running account of what each host has left, so a batch of tasks placed in one
/// pass never over-commits a host. Pure: no I/O, deterministic for a given seed.
public struct Placer: Sendable {
    public private(set) var hosts: [PlacementHost]
    var cpuFree: [Int]
    var memFree: [Int]
    var tcpUsed: [Set<Int>]
    var udpUsed: [Set<Int>]
    var freeEphemeralTCP: [Int]
    var freeEphemeralUDP: [Int]
    var nextEphemeral: [Int]
    var gpuFree: [[String]]
    var taskCount: [Int]
    var groupIds: [String: Int] = [:]
    var groupCounts: [[Int]] = []
    var groupsOnHost: [Set<Int>]
    var staticQueries: [String: [Bool]] = [:]
    /// Per attribute name: each host's value id, and the value names.
    var attributeValues: [String: (ids: [Int], names: [String])] = [:]
    /// Per group and attribute: tasks of the group per value id.
    var spreadCounts: [String: [Int]] = [:]
    /// What each host's operator allows, read from its attributes the first time a task needs any of it.
    var allowances: [HostAllowance?]
    var rng: SplitMix64

    public init(hosts: [PlacementHost], placed: [PlacedTask] = [], seed: UInt64 = 0x5EED) {
        self.hosts = hosts
        cpuFree = hosts.map(\.cpu)
        memFree = hosts.map(\.memory)
        tcpUsed = hosts.map(\.reservedTCP)
        udpUsed = hosts.map(\.reservedUDP)
        freeEphemeralTCP = hosts.map { h in h.ephemeral.count - h.reservedTCP.filter { h.ephemeral.contains($0) }.count }
        freeEphemeralUDP = hosts.map { h in h.ephemeral.count - h.reservedUDP.filter { h.ephemeral.contains($0) }.count }
        nextEphemeral = hosts.map(\.ephemeral.lowerBound)
        gpuFree = hosts.map(\.gpus)
        taskCount = Array(repeating: 0, count: hosts.count)
        groupsOnHost = Array(repeating: [], count: hosts.count)
        allowances = Array(repeating: nil, count: hosts.count)
        rng = SplitMix64(seed: seed)
        let index = Dictionary(hosts.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
        for task in placed {
            guard let i = index[task.hostId] else { continue }
            consume(i, cpu: task.cpu, memory: task.memory, tcp: task.tcpPorts, udp: task.udpPorts, gpus: task.gpus,
                    group: groupId(task.group))
        }
    }

    /// Resources left on a host, for tests and invariants.
    public func remaining(_ i: Int) -> (cpu: Int, memory: Int, tcp: Set<Int>, udp: Set<Int>, gpus: [String]) {
        (cpuFree[i], memFree[i], tcpUsed[i], udpUsed[i], gpuFree[i])
    }

    mutating func groupId(_ group: String) -> Int {
        if let id = groupIds[group] { return id }
        let id = groupCounts.count
        groupIds[group] = id
        groupCounts.append(Array(repeating: 0, count: hosts.count))
        return id
    }

    mutating func consume(_ i: Int, cpu: Int, memory: Int, tcp: [Int], udp: [Int], gpus: [String], group: Int) {
        cpuFree[i] -= cpu
        memFree[i] -= memory
        let range = hosts[i].ephemeral
        for port in tcp where tcpUsed[i].insert(port).inserted && range.contains(port) { freeEphemeralTCP[i] -= 1 }
        for port in udp where udpUsed[i].insert(port).inserted && range.contains(port) { freeEphemeralUDP[i] -= 1 }
        gpuFree[i].removeAll { gpus.contains($0) }
        taskCount[i] += 1
        groupCounts[group][i] += 1
        groupsOnHost[i].insert(group)
        for (field, values) in attributeValues {
            if var counts = spreadCounts["\(group)|\(field)"] {
                counts[values.ids[i]] += 1
                spreadCounts["\(group)|\(field)"] = counts
            }
        }
    }

    func facts(_ i: Int) -> InstanceFacts {
        let names = Set(groupIds.filter { groupsOnHost[i].contains($0.value) }.keys)
        return InstanceFacts(attributes: hosts[i].attributes, ec2InstanceId: hosts[i].ec2InstanceId,
                             registeredAt: hosts[i].registeredAt, runningTasksCount: taskCount[i], taskGroups: names)
    }

    /// The host settings a host does not allow of those a task needs (empty: it allows them all).
    mutating func refusals(_ needs: HostNeeds, host i: Int) -> [HostRefusal] {
        guard !needs.isEmpty else { return [] }
        if let allowance = allowances[i] { return allowance.refusals(needs) }
        let allowance = HostAllowance(attributes: hosts[i].attributes)
        allowances[i] = allowance
        return allowance.refusals(needs)
    }

    /// Whether a host allows every host setting a task needs (DAEMON eligibility).
    public mutating func hostSettingsAllow(_ needs: HostNeeds, host: Int) -> Bool {
        refusals(needs, host: host).isEmpty
    }

    /// Whether a host satisfies the memberOf rules (DAEMON eligibility).
    public mutating func memberOfAllows(_ rules: ConstraintRules, host: Int) -> Bool {
        memberOfMask(rules)?[host] ?? true
    }

    /// Which hosts satisfy every memberOf expression; expressions about attributes only are computed once.
    mutating func memberOfMask(_ rules: ConstraintRules) -> [Bool]? {
        guard !rules.memberOf.isEmpty else { return nil }
        var mask = Array(repeating: true, count: hosts.count)
        for (text, query) in rules.memberOf {
            let answers: [Bool]
            if query.dependsOnTasks {
                answers = hosts.indices.map { query.matches(facts($0)) }
            } else if let cached = staticQueries[text] {
                answers = cached
            } else {
                answers = hosts.indices.map { query.matches(facts($0)) }
                staticQueries[text] = answers
            }
            for i in mask.indices where !answers[i] { mask[i] = false }
        }
        return mask
    }

    mutating func spreadArray(group: Int, field: String) -> (ids: [Int], counts: [Int]) {
        if attributeValues[field] == nil {
            var names: [String] = []
            var lookup: [String: Int] = [:]
            let ids = hosts.map { host -> Int in
                let value = host.attributes[field] ?? ""
                if let id = lookup[value] { return id }
                lookup[value] = names.count
                names.append(value)
                return names.count - 1
            }
            attributeValues[field] = (ids, names)
        }
        let values = attributeValues[field] ?? ([], [])
        let key = "\(group)|\(field)"
        if let counts = spreadCounts[key] { return (values.ids, counts) }
        var counts = Array(repeating: 0, count: values.names.count)
        for i in hosts.indices { counts[values.ids[i]] += groupCounts[group][i] }
        spreadCounts[key] = counts
        return (values.ids, counts)
    }

    /// Places one task on the best host the rules allow, and books its resources.
    public mutating func place(_ demand: TaskDemand) -> PlacementResult {
        place(demand, only: nil)
    }

    /// Places one task on a named host (StartTask, DAEMON services), checking status and resources only.
    public mutating func place(_ demand: TaskDemand, onHost index: Int) -> PlacementResult {
        guard hosts.indices.contains(index) else { return .failed(FeasibilityCheck.active.reason) }
        var relaxed = demand
        relaxed.constraints = ConstraintRules()
        return place(relaxed, only: index)
    }

    mutating func place(_ demand: TaskDemand, only: Int?) -> PlacementResult {
        let candidates = only.map { $0..<($0 + 1) } ?? hosts.indices
        let ask = prepare(demand, candidates: candidates)
        let counts = groupCounts[ask.group]
        var spreads: [(ids: [Int], counts: [Int])] = []
        for rule in demand.strategy {
            if case .spreadAttribute(let field) = rule { spreads.append(spreadArray(group: ask.group, field: field)) }
        }
        let chain = FeasibilityCheck.chain
        // The furthest link any host reached: the closest match names the reason.
        var furthest = -1
        var best = -1
        var bestKey = [Int64](repeating: 0, count: demand.strategy.count)
        var key = bestKey
        for i in candidates {
            if let link = failingLink(chain, ask, host: i) {
                furthest = max(furthest, link)
                continue
            }
            furthest = chain.count
            var spreadIndex = 0
            for (r, rule) in demand.strategy.enumerated() {
                switch rule {
                case .binpackCPU: key[r] = Int64(cpuFree[i] - demand.cpu)
                case .binpackMemory: key[r] = Int64(memFree[i] - demand.memory)
                case .spreadInstance: key[r] = Int64(counts[i])
                case .spreadAttribute:
                    let spread = spreads[spreadIndex]
                    key[r] = Int64(spread.counts[spread.ids[i]])
                    spreadIndex += 1
                case .random: key[r] = Int64(bitPattern: rng.next() >> 1)
                }
            }
            if best < 0 || key.lexicographicallyPrecedes(bestKey) {
                best = i
                swap(&key, &bestKey)
            }
        }
        guard best >= 0 else {
            let link = max(furthest, 0)
            let refused = candidates.filter { failingLink(chain, ask, host: $0) == link }
            return .failed(chain[link].failure(self, ask, refused: refused, oneHost: only != nil))
        }

        var bindings: [Placement.Binding] = []
        var tcp: [Int] = []
        var udp: [Int] = []
        for request in demand.ports {
            var port = request.hostPort
            if port == 0 { port = nextFreeEphemeral(best, udp: request.udp, taken: request.udp ? udp : tcp) }
            if request.udp { udp.append(port) } else { tcp.append(port) }
            bindings.append(.init(containerName: request.containerName, containerPort: request.containerPort, hostPort: port, udp: request.udp))
        }
        let gpus = Array(gpuFree[best].prefix(demand.gpus))
        consume(best, cpu: demand.cpu, memory: demand.memory, tcp: tcp, udp: udp, gpus: gpus, group: ask.group)
        return .placed(Placement(hostIndex: best, hostId: hosts[best].id, bindings: bindings, gpus: gpus))
    }

    /// The first link of the chain the host fails, nil when it passes them all.
    func failingLink(_ chain: [FeasibilityCheck], _ ask: PlacementAsk, host i: Int) -> Int? {
        for link in chain.indices where !chain[link].feasible(self, ask, host: i) { return link }
        return nil
    }

    /// What the checks need of one task, worked out once; reads each candidate's host settings the first time a task
    /// needs any.
    mutating func prepare(_ demand: TaskDemand, candidates: Range<Int>) -> PlacementAsk {
        if !demand.hostNeeds.isEmpty {
            for i in candidates where allowances[i] == nil { allowances[i] = HostAllowance(attributes: hosts[i].attributes) }
        }
        return PlacementAsk(demand: demand, group: groupId(demand.group), memberOf: memberOfMask(demand.constraints),
                            staticTCP: demand.ports.filter { !$0.udp && $0.hostPort != 0 }.map(\.hostPort),
                            staticUDP: demand.ports.filter { $0.udp && $0.hostPort != 0 }.map(\.hostPort),
                            dynamicTCP: demand.ports.filter { !$0.udp && $0.hostPort == 0 }.count,
                            dynamicUDP: demand.ports.filter { $0.udp && $0.hostPort == 0 }.count)
    }

    /// The lowest free port of the host's ephemeral range at or after its hint, wrapping around.
    mutating func nextFreeEphemeral(_ i: Int, udp: Bool, taken: [Int]) -> Int {
        let range = hosts[i].ephemeral
        var port = max(nextEphemeral[i], range.lowerBound)
        for _ in 0..<range.count {
            if port > range.upperBound { port = range.lowerBound }
            let used = udp ? udpUsed[i].contains(port) : tcpUsed[i].contains(port)
            if !used && !taken.contains(port) {
                nextEphemeral[i] = port + 1
                return port
            }
            port += 1
        }
        return range.lowerBound
    }
}

extension Placer {
    /// A seed from a name that is the same in every process (Swift's `hashValue` is randomized per process),
    /// so two workers place a cluster's random strategy alike: FNV-1a over the UTF-8 bytes.
    public static func seed(_ name: String) -> UInt64 {
        name.utf8.reduce(0xcbf2_9ce4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01b3 }
    }
}

/// A small, fast, seedable generator so random placement is reproducible in tests.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
