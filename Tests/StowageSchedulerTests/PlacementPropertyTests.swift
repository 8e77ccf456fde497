import PropertyBased
import StowageModel
import StowageScheduler
import Testing

/// Properties of the placement engine, checked against an independent account of what was placed.
@Suite struct PlacementPropertyTests {
    static let zones = ["a", "b", "c"]

    static func hosts(_ specs: [(Int, Int, Int)]) -> [PlacementHost] {
        specs.enumerated().map { i, spec in
            PlacementHost(id: "h\(i)", attributes: ["zone": zones[spec.2 % 3]], cpu: spec.0 * 256, memory: spec.1 * 256,
                          reservedTCP: [22], ephemeral: 49153...49160)
        }
    }

    static func demand(_ spec: (Int, Int, Int), group: String = "family:web", rules: ConstraintRules = ConstraintRules(),
                       strategy: [StrategyRule] = [.spreadInstance]) -> TaskDemand {
        let ports: [PortRequest] = switch spec.2 {
        case 1: [PortRequest(containerName: "c", containerPort: 80, hostPort: 0)]
        case 2: [PortRequest(containerName: "c", containerPort: 80, hostPort: 80)]
        case 3: [PortRequest(containerName: "c", containerPort: 53, hostPort: 53, udp: true),
                 PortRequest(containerName: "c", containerPort: 8080, hostPort: 0)]
        default: []
        }
        return TaskDemand(cpu: spec.0 * 128, memory: spec.1 * 128, ports: ports, group: group, constraints: rules, strategy: strategy)
    }

    static let hostGen = zip(Gen.int(in: 1...8), Gen.int(in: 2...16), Gen.int(in: 0...2)).array(of: 1...10)
    static let taskGen = zip(Gen.int(in: 0...4), Gen.int(in: 1...8), Gen.int(in: 0...3)).array(of: 1...60)

    /// Two workers must place a cluster's random strategy alike: the seed is a fixed function of the name
    /// (FNV-1a), never Swift's per-process randomized `hashValue`.
    @Test func placementSeedIsTheSameInEveryProcess() {
        #expect(Placer.seed("123456789012/default") == 0x22fb_ff42_785b_8ef5)
        #expect(Placer.seed("a/b") != Placer.seed("a/c"))
    }

    @Test func neverOverCommitsAnyResourceOrPort() async {
        await propertyCheck(count: 300, input: Self.hostGen, Self.taskGen, Gen.int(in: 0...3)) { hostSpecs, taskSpecs, strategyPick in
            let hosts = Self.hosts(hostSpecs)
            let strategy: [StrategyRule] = [[.spreadInstance], [.binpackMemory], [.spreadAttribute("zone"), .binpackCPU], [.random]][strategyPick]
            var placer = Placer(hosts: hosts, seed: 7)
            var cpu = Array(repeating: 0, count: hosts.count)
            var memory = Array(repeating: 0, count: hosts.count)
            var tcp = hosts.map(\.reservedTCP)
            var udp = hosts.map(\.reservedUDP)
            for spec in taskSpecs {
                let demand = Self.demand(spec, strategy: strategy)
                switch placer.place(demand) {
                case .placed(let p):
                    cpu[p.hostIndex] += demand.cpu
                    memory[p.hostIndex] += demand.memory
                    for b in p.bindings {
                        let fresh = b.udp ? udp[p.hostIndex].insert(b.hostPort).inserted : tcp[p.hostIndex].insert(b.hostPort).inserted
                        #expect(fresh, "host port \(b.hostPort) handed out twice on h\(p.hostIndex)")
                        if demand.ports.first(where: { $0.containerPort == b.containerPort })?.hostPort == 0 {
                            #expect(hosts[p.hostIndex].ephemeral.contains(b.hostPort))
                        }
                    }
                case .failed(let reason):
                    // Independently: no host could have taken it.
                    for i in hosts.indices {
                        let fitsCPU = hosts[i].cpu - cpu[i] >= demand.cpu
                        let fitsMemory = hosts[i].memory - memory[i] >= demand.memory
                        let staticFree = demand.ports.filter { $0.hostPort != 0 }.allSatisfy { r in
                            !(r.udp ? udp[i] : tcp[i]).contains(r.hostPort)
                        }
                        let dynamicFree = hosts[i].ephemeral.filter { !tcp[i].contains($0) }.count
                            >= demand.ports.filter { $0.hostPort == 0 }.count
                        #expect(!(fitsCPU && fitsMemory && staticFree && dynamicFree), "h\(i) could take a task refused with \(reason)")
                    }
                    #expect(reason.hasPrefix("RESOURCE:"))
                }
            }
            for i in hosts.indices {
                #expect(cpu[i] <= hosts[i].cpu && memory[i] <= hosts[i].memory)
                #expect(placer.remaining(i).cpu == hosts[i].cpu - cpu[i])
                #expect(placer.remaining(i).memory == hosts[i].memory - memory[i])
            }
        }
    }

    @Test func alreadyPlacedTasksAreRespected() async {
        await propertyCheck(count: 200, input: Self.hostGen, Self.taskGen) { hostSpecs, taskSpecs in
            let hosts = Self.hosts(hostSpecs)
            var first = Placer(hosts: hosts)
            var placed: [PlacedTask] = []
            for spec in taskSpecs.prefix(taskSpecs.count / 2) {
                let d = Self.demand(spec)
                if let p = first.place(d).placement {
                    placed.append(PlacedTask(hostId: p.hostId, cpu: d.cpu, memory: d.memory,
                                             tcpPorts: p.bindings.filter { !$0.udp }.map(\.hostPort),
                                             udpPorts: p.bindings.filter(\.udp).map(\.hostPort), group: d.group))
                }
            }
            // A fresh pass over the same snapshot sees exactly what the first pass left.
            let second = Placer(hosts: hosts, placed: placed)
            for i in hosts.indices {
                #expect(second.remaining(i).cpu == first.remaining(i).cpu)
                #expect(second.remaining(i).memory == first.remaining(i).memory)
                #expect(second.remaining(i).tcp == first.remaining(i).tcp)
            }
        }
    }

    @Test func distinctInstanceHolds() async {
        await propertyCheck(count: 200, input: Self.hostGen, Gen.int(in: 1...14)) { hostSpecs, count in
            let hosts = Self.hosts(hostSpecs)
            var placer = Placer(hosts: hosts)
            var used = Set<Int>()
            var placedCount = 0
            for _ in 0..<count {
                let d = Self.demand((0, 1, 0), group: "service:db", rules: ConstraintRules(distinctInstance: true))
                switch placer.place(d) {
                case .placed(let p):
                    #expect(used.insert(p.hostIndex).inserted, "two tasks of the group on h\(p.hostIndex)")
                    placedCount += 1
                case .failed(let reason):
                    #expect(used.count == hosts.filter { $0.memory >= 128 }.count || reason != "DistinctInstance")
                }
            }
            #expect(placedCount == min(count, hosts.count))
        }
    }

    @Test func spreadOverZonesDiffersByAtMostOne() async {
        await propertyCheck(count: 200, input: Gen.int(in: 1...5), Gen.int(in: 1...90)) { perZone, count in
            Self.checkSpread(perZone: perZone, count: count)
        }
    }

    static func checkSpread(perZone: Int, count: Int) {
        let hosts = (0..<(perZone * 3)).map { i in
            PlacementHost(id: "h\(i)", attributes: ["zone": zones[i % 3]], cpu: 100_000, memory: 100_000)
        }
        var placer = Placer(hosts: hosts)
        var byZone: [String: Int] = [:]
        for _ in 0..<count {
            let d = TaskDemand(cpu: 10, memory: 10, group: "service:web", strategy: [.spreadAttribute("zone"), .spreadInstance])
            let placement = placer.place(d).placement
            #expect(placement != nil)
            guard let p = placement else { break }
            byZone[hosts[p.hostIndex].attributes["zone"] ?? "", default: 0] += 1
        }
        let counts = zones.map { byZone[$0, default: 0] }
        #expect((counts.max() ?? 0) - (counts.min() ?? 0) <= 1, "\(counts)")
    }

    @Test func binpackFillsInstancesBeforeOpeningNewOnes() async {
        await propertyCheck(count: 200, input: Gen.int(in: 2...10), Gen.int(in: 1...8), Gen.int(in: 1...60)) { hostCount, slots, count in
            Self.checkBinpack(hostCount: hostCount, slots: slots, count: count)
        }
    }

    static func checkBinpack(hostCount: Int, slots: Int, count: Int) {
        let hosts = (0..<hostCount).map { PlacementHost(id: "h\($0)", cpu: 100_000, memory: slots * 100) }
        var placer = Placer(hosts: hosts)
        var perHost = Array(repeating: 0, count: hostCount)
        let total = min(count, hostCount * slots)
        for _ in 0..<total {
            let d = TaskDemand(cpu: 1, memory: 100, group: "family:x", strategy: [.binpackMemory])
            let placement = placer.place(d).placement
            #expect(placement != nil)
            guard let p = placement else { break }
            perHost[p.hostIndex] += 1
            let partlyFilled = perHost.filter { $0 > 0 && $0 < slots }.count
            #expect(partlyFilled <= 1, "at most one partly filled host at any time: \(perHost)")
        }
        let used = perHost.filter { $0 > 0 }.count
        #expect(used == (total + slots - 1) / slots)
    }

    @Test func memberOfAndReasons() {
        let hosts = [
            PlacementHost(id: "a", attributes: ["zone": "a"], cpu: 1024, memory: 1024),
            PlacementHost(id: "b", attributes: ["zone": "b"], cpu: 1024, memory: 256),
            PlacementHost(id: "c", active: false, attributes: ["zone": "b"], cpu: 4096, memory: 4096),
        ]
        var placer = Placer(hosts: hosts)
        let rules = (try? ConstraintRules.parse([PlacementConstraint(type: "memberOf", expression: "attribute:zone == b")])) ?? ConstraintRules()
        #expect(placer.place(TaskDemand(cpu: 10, memory: 512, group: "g", constraints: rules)) == .failed("RESOURCE:MEMORY"))
        #expect(placer.place(TaskDemand(cpu: 2048, memory: 128, group: "g", constraints: rules)) == .failed("RESOURCE:CPU"))
        #expect(placer.place(TaskDemand(cpu: 10, memory: 128, group: "g", constraints: rules)).placement?.hostId == "b")
        let nowhere = (try? ConstraintRules.parse([PlacementConstraint(type: "memberOf", expression: "attribute:zone == z")])) ?? ConstraintRules()
        #expect(placer.place(TaskDemand(cpu: 10, memory: 128, group: "g", constraints: nowhere)) == .failed("MemberOf"))
        var empty = Placer(hosts: [])
        #expect(empty.place(TaskDemand(cpu: 1, memory: 1, group: "g")) == .failed("No Container Instances were found in your cluster."))
        var ports = Placer(hosts: [PlacementHost(id: "p", cpu: 4096, memory: 4096, reservedTCP: [80])])
        #expect(ports.place(TaskDemand(cpu: 1, memory: 1, ports: [PortRequest(containerName: "c", containerPort: 80, hostPort: 80)], group: "g"))
            == .failed("RESOURCE:PORTS"))
        var gpu = Placer(hosts: [PlacementHost(id: "g", cpu: 4096, memory: 4096, gpus: ["0"])])
        #expect(gpu.place(TaskDemand(cpu: 1, memory: 1, gpus: 1, group: "g")).placement?.gpus == ["0"])
        #expect(gpu.place(TaskDemand(cpu: 1, memory: 1, gpus: 1, group: "g")) == .failed("RESOURCE:GPU"))
    }
}
