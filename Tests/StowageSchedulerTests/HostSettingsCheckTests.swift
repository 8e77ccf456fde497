import PropertyBased
import StowageModel
import StowageScheduler
import Testing

/// The host-settings feasibility check: a task needing a setting an operator forbids never lands on that host, and
/// when no host allows it the reason names the setting.
@Suite struct HostSettingsCheckTests {
    static func host(_ id: String, _ change: (inout HostAllowance) -> Void = { _ in }, cpu: Int = 4096) -> PlacementHost {
        var allowance = HostAllowance()
        change(&allowance)
        var attributes = ["ecs.os-type": "linux"]
        for attribute in allowance.attributes { attributes[attribute.name] = attribute.value ?? "" }
        return PlacementHost(id: id, attributes: attributes, cpu: cpu, memory: 100_000)
    }

    static func demand(_ change: (inout HostNeeds) -> Void, cpu: Int = 256) -> TaskDemand {
        var needs = HostNeeds()
        change(&needs)
        return TaskDemand(cpu: cpu, memory: 128, group: "family:x", hostNeeds: needs)
    }

    @Test func aTaskGoesOnlyWhereItsSettingsAreAllowed() {
        var placer = Placer(hosts: [Self.host("locked") { $0.privileged = false }, Self.host("open")])
        for _ in 0..<5 {
            #expect(placer.place(Self.demand { $0.privileged = true }).placement?.hostId == "open")
        }
        // A task needing nothing of its host still goes there (spread: the host with fewer tasks).
        #expect(placer.place(Self.demand { _ in }).placement?.hostId == "locked")
    }

    @Test func whenNoHostAllowsItTheReasonNamesTheSetting() {
        var placer = Placer(hosts: [Self.host("a") { $0.privileged = false }, Self.host("b") { $0.privileged = false }])
        let reason = placer.place(Self.demand { $0.privileged = true })
        #expect(reason == .failed("ATTRIBUTE: no container instance allows privileged containers (com.amazonaws.ecs.capability.privileged-container)"))
        if case .failed(let text) = reason {
            #expect(HostSettingsCheck.explanation(text)
                == "no container instance allows privileged containers (com.amazonaws.ecs.capability.privileged-container)")
        }
        #expect(HostSettingsCheck.explanation("RESOURCE:CPU") == nil)
    }

    @Test func differentRefusalsAreNamedTogether() {
        var placer = Placer(hosts: [Self.host("a") { $0.privileged = false }, Self.host("b") { $0.devices = false }])
        let reason = placer.place(Self.demand { $0.privileged = true; $0.devices = ["/dev/fuse"] })
        #expect(reason == .failed("ATTRIBUTE: no container instance allows all of devices (linuxParameters.devices) (stowage.capability.devices), privileged containers (com.amazonaws.ecs.capability.privileged-container)"))
    }

    @Test func aNamedHostSaysWhatItDoesNotAllow() {
        var placer = Placer(hosts: [Self.host("a") { $0.hostPaths = .under(["/srv/data"]) }])
        #expect(placer.place(Self.demand { $0.hostPaths = ["/srv/data/x"] }, onHost: 0).placement?.hostId == "a")
        #expect(placer.place(Self.demand { $0.hostPaths = ["/srv/data/../../etc"] }, onHost: 0)
            == .failed("ATTRIBUTE: the container instance does not allow host path /srv/data/../../etc (stowage.capability.host-paths)"))
        let allowsNothingNeeded = placer.hostSettingsAllow(HostNeeds(), host: 0)
        var outside = HostNeeds()
        outside.hostPaths = ["/srv/database"]
        let allowsOutside = placer.hostSettingsAllow(outside, host: 0)
        #expect(allowsNothingNeeded && !allowsOutside)
    }

    @Test func aHostFurtherAlongGivesTheUsualReason() {
        // One host allows privileged but lacks CPU: the closest match is a resource shortage, as ECS says.
        var placer = Placer(hosts: [Self.host("locked") { $0.privileged = false }, Self.host("small", cpu: 128)])
        #expect(placer.place(Self.demand({ $0.privileged = true }, cpu: 1024)) == .failed("RESOURCE:CPU"))
    }

    @Test func aHostThatDoesNotAdvertiseIsJudgedAsBefore() {
        var placer = Placer(hosts: [PlacementHost(id: "old", cpu: 1024, memory: 1024)])
        #expect(placer.place(Self.demand { $0.privileged = true; $0.hostPID = true }).placement != nil)
    }

    /// Whatever the hosts allow and the tasks need, a placed task's host allows all of it, and a refusal on these
    /// grounds means no host did.
    @Test func placedTasksNeverLandWhereTheirSettingsAreForbidden() async {
        let hostGen = Gen.int(in: 0...63).array(of: 1...6)
        let taskGen = Gen.int(in: 0...63).array(of: 1...20)
        await propertyCheck(count: 200, input: hostGen, taskGen) { hostBits, taskBits in
            let allowances = hostBits.map { bits -> HostAllowance in
                var a = HostAllowance()
                a.privileged = bits & 1 == 0
                a.devices = bits & 2 == 0
                a.hostPID = bits & 4 == 0
                a.systemControls = bits & 8 == 0
                if bits & 16 != 0 { a.hostPaths = .under(["/srv/data"]) }
                if bits & 32 != 0 { a.capabilities = ["NET_BIND_SERVICE"] }
                return a
            }
            var placer = Placer(hosts: allowances.enumerated().map { i, a in Self.host("h\(i)", { $0 = a }, cpu: 100_000) })
            for bits in taskBits {
                let d = Self.demand { n in
                    n.privileged = bits & 1 != 0
                    if bits & 2 != 0 { n.devices = ["/dev/fuse"] }
                    n.hostPID = bits & 4 != 0
                    if bits & 8 != 0 { n.systemControls = ["net.core.somaxconn"] }
                    if bits & 16 != 0 { n.hostPaths = ["/srv/data/../../etc"] }
                    if bits & 32 != 0 { n.capabilities = ["SYS_ADMIN"] }
                }
                switch placer.place(d) {
                case .placed(let p): #expect(allowances[p.hostIndex].refusals(d.hostNeeds).isEmpty)
                case .failed(let reason):
                    #expect(reason.hasPrefix("ATTRIBUTE: "))
                    #expect(allowances.allSatisfy { !$0.refusals(d.hostNeeds).isEmpty })
                }
            }
        }
    }
}
