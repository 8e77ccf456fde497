import Foundation
import StowageModel
import Testing

@testable import StowageProxyConfig

@Suite struct TargetPlanTests {
    let now = Date(timeIntervalSince1970: 1_000_000)

    func snapshot(_ targets: [ProxySnapshot.Target], enabled: Bool = true) -> ProxySnapshot {
        var health = ELB.HealthCheck()
        health.enabled = enabled
        health.intervalSeconds = 5
        health.unhealthyThreshold = 2
        return ProxySnapshot(listeners: [], groups: [.init(id: "g1", port: 80, health: health, attributes: .init(), targets: targets)])
    }

    let web = ProxySnapshot.Target(id: "10.0.0.5", port: 8080, address: "10.0.0.5", draining: false)

    func server(_ status: String, check: String? = nil, code: Int? = nil, weight: Int = 1, name: String = "t_10_2E0_2E0_2E5.8080") -> ObservedServer {
        ObservedServer(backend: "tg_g1", name: name, status: status, checkStatus: check, checkCode: code, weight: weight)
    }

    @Test func aNewTargetIsAddedInMaintenanceWithItsChecksRunning() {
        let plan = TargetPlan.plan(snapshot([web]), observed: [], registeredAt: [:], now: now, policy: .tests)
        // The runtime API ignores default-server: the group's check settings ride on the add line.
        #expect(plan.commands == ["add server tg_g1/t_10_2E0_2E0_2E5.8080 10.0.0.5:8080 check inter 5s fastinter 500 downinter 500 fall 2 rise 5",
                                  "enable health tg_g1/t_10_2E0_2E0_2E5.8080"])
        let unchecked = TargetPlan.plan(snapshot([web], enabled: false), observed: [], registeredAt: [:], now: now, policy: .tests)
        #expect(unchecked.commands.last == "enable server tg_g1/t_10_2E0_2E0_2E5.8080", "without health checks it serves at once")
    }

    @Test func itServesOnlyOnceItsChecksPass() {
        let key = "tg_g1/t_10_2E0_2E0_2E5.8080"
        let checking = TargetPlan.plan(snapshot([web]), observed: [server("MAINT", check: "INI")], registeredAt: [key: now], now: now, policy: .tests)
        #expect(checking.commands == ["enable health \(key)"] && checking.updates.map(\.state) == [.initial],
                "checks (re)started: a server rendered disabled by a reload starts with them stopped")
        let failing = TargetPlan.plan(snapshot([web]), observed: [server("MAINT", check: "L7STS", code: 500)],
                                      registeredAt: [key: now.addingTimeInterval(-3)], now: now, policy: .tests)
        #expect(failing.updates.map(\.state) == [.initial], "not yet an unhealthy threshold of intervals")
        let failed = TargetPlan.plan(snapshot([web]), observed: [server("MAINT", check: "L7STS", code: 500)],
                                     registeredAt: [key: now.addingTimeInterval(-10)], now: now, policy: .tests)
        #expect(!failed.commands.contains("enable server \(key)"), "still kept out of rotation")
        #expect(failed.updates.first?.state == .unhealthy && failed.updates.first?.reason == "Target.ResponseCodeMismatch")
        #expect(failed.updates.first?.description?.contains("500") == true)
        var once = server("MAINT", check: "L7OK", code: 200)
        once.checkHealth = 1
        once.checkRise = 2
        let rising = TargetPlan.plan(snapshot([web]), observed: [once], registeredAt: [key: now], now: now, policy: .tests)
        #expect(rising.commands.isEmpty && rising.updates.map(\.state) == [.initial], "one passed check of a threshold of two: still initial")
        once.checkHealth = 3
        let passed = TargetPlan.plan(snapshot([web]), observed: [once], registeredAt: [key: now], now: now, policy: .tests)
        #expect(passed.commands == ["enable server \(key)"] && passed.updates.map(\.state) == [.healthy])
    }

    @Test func serversFollowHealthDrainingAndDeregistration() {
        let down = TargetPlan.plan(snapshot([web]), observed: [server("DOWN", check: "L4TOUT")], registeredAt: [:], now: now, policy: .tests)
        #expect(down.updates.first?.state == .unhealthy && down.updates.first?.reason == "Target.Timeout")
        #expect(TargetPlan.plan(snapshot([web]), observed: [server("UP 1/2", check: "L4CON")], registeredAt: [:], now: now, policy: .tests).updates.first?.state == .healthy)
        var draining = web
        draining.draining = true
        let drain = TargetPlan.plan(snapshot([draining]), observed: [server("UP", check: "L7OK")], registeredAt: [:], now: now, policy: .tests)
        #expect(drain.commands == ["set server tg_g1/t_10_2E0_2E0_2E5.8080 weight 0"] && drain.updates.isEmpty)
        let back = TargetPlan.plan(snapshot([web]), observed: [server("UP", check: "L7OK", weight: 0)], registeredAt: [:], now: now, policy: .tests)
        #expect(back.commands == ["set server tg_g1/t_10_2E0_2E0_2E5.8080 weight 1"], "registered again: back in rotation")
        let gone = TargetPlan.plan(snapshot([]), observed: [server("UP", check: "L7OK", weight: 0)], registeredAt: [:], now: now, policy: .tests)
        #expect(gone.commands == ["disable server tg_g1/t_10_2E0_2E0_2E5.8080", "shutdown sessions server tg_g1/t_10_2E0_2E0_2E5.8080",
                                  "del server tg_g1/t_10_2E0_2E0_2E5.8080"])
    }

    @Test func statsAreReadFromHAProxysJSON() {
        let json = """
            [[{"objType":"Backend","field":{"name":"pxname"},"value":{"type":"str","value":"tg_g1"}}],
             [{"objType":"Server","field":{"name":"pxname"},"value":{"type":"str","value":"tg_g1"}},
              {"objType":"Server","field":{"name":"svname"},"value":{"type":"str","value":"t_10_2E0_2E0_2E5.8080"}},
              {"objType":"Server","field":{"name":"status"},"value":{"type":"str","value":"DOWN"}},
              {"objType":"Server","field":{"name":"weight"},"value":{"type":"u32","value":1}},
              {"objType":"Server","field":{"name":"check_status"},"value":{"type":"str","value":"L7STS"}},
              {"objType":"Server","field":{"name":"check_code"},"value":{"type":"u32","value":503}}],
             [{"objType":"Server","field":{"name":"pxname"},"value":{"type":"str","value":"stats"}},
              {"objType":"Server","field":{"name":"svname"},"value":{"type":"str","value":"x"}}]]
            """
        #expect(TargetPlan.parseStats(Data(json.utf8)) == [ObservedServer(backend: "tg_g1", name: "t_10_2E0_2E0_2E5.8080", status: "DOWN",
                                                                         checkStatus: "L7STS", checkCode: 503, weight: 1)])
    }
}
