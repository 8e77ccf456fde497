import Foundation
import StowageModel
import Testing

@testable import StowageProxyConfig

@Suite struct HAProxyConfigTests {
    static let tgA = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/a/aaaa"
    static let tgB = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/b/bbbb"

    func snapshot(targets: [ProxySnapshot.Target] = []) -> ProxySnapshot {
        let forwardA = ELB.Action(kind: .forward, targetGroups: [.init(targetGroupArn: Self.tgA, weight: 1)], single: true)
        let weighted = ELB.Action(kind: .forward, targetGroups: [.init(targetGroupArn: Self.tgA, weight: 30), .init(targetGroupArn: Self.tgB, weight: 70)])
        let notFound = ELB.Action(kind: .fixedResponse, fixedResponse: .init(statusCode: "404", contentType: "text/plain", messageBody: "no \"route\""))
        let listener = ProxySnapshot.Listener(
            id: "l1", loadBalancerId: "lb1", address: "127.0.10.1", port: 80,
            rules: [
                .init(id: "r20", priority: 20, conditions: [.init(field: .pathPattern, values: ["/api/*"])], actions: [notFound]),
                .init(id: "r10", priority: 10, conditions: [.init(field: .pathPattern, values: ["/api/v?/*.json"]),
                                                            .init(field: .hostHeader, values: ["*.example.com"])], actions: [weighted]),
            ],
            defaultActions: [forwardA])
        var health = ELB.HealthCheck()
        health.path = "/health"
        health.matcher = "200-202"
        return ProxySnapshot(listeners: [listener], groups: [
            .init(id: "aaaa", port: 80, health: health, attributes: .init(), targets: targets),
            .init(id: "bbbb", port: 80, health: health, attributes: .init(), targets: []),
        ])
    }

    @Test func rulesAreDecidedInPriorityOrderBeforeAnyAction() {
        let config = HAProxyConfig.structure(snapshot(), socket: "/run/lb.sock")
        let lines = config.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let r10 = lines.firstIndex { $0.hasPrefix("http-request set-var(txn.rule) str(r10)") }
        let r20 = lines.firstIndex { $0.hasPrefix("http-request set-var(txn.rule) str(r20)") }
        let fixed = lines.firstIndex { $0.hasPrefix("http-request return status 404") }
        #expect(r10 != nil && r20 != nil && fixed != nil)
        #expect(r10! < r20! && r20! < fixed!, "priority 10 is decided first, and every rule before any response")
        #expect(lines.contains("acl r_r10_0 path -m reg \"^/api/v./.*\\\\.json\\$\""), "wildcards become an anchored regex, dots escaped")
        #expect(lines.contains("acl r_r10_1 req.hdr(host),field(1,:) -m reg -i \"^.*\\\\.example\\\\.com\\$\""))
        #expect(lines.contains("http-request return status 404 content-type \"text/plain\" string \"no \\\"route\\\"\" if { var(txn.rule) -m str r20 }"))
        #expect(lines.contains("http-request set-var(txn.pick) rand(100) if { var(txn.rule) -m str r10 }"))
        #expect(lines.contains("use_backend tg_aaaa if { var(txn.rule) -m str r10 } { var(txn.pick) -m int ge 0 } { var(txn.pick) -m int lt 30 }"))
        #expect(lines.contains("use_backend tg_bbbb if { var(txn.rule) -m str r10 } { var(txn.pick) -m int ge 30 } { var(txn.pick) -m int lt 100 }"))
        #expect(lines.contains("use_backend tg_aaaa if { var(txn.rule) -m str default }"))
        #expect(lines.contains("http-check expect rstatus ^(200|201|202)$"))
        #expect(lines.contains("bind 127.0.10.1:80"))
    }

    @Test func serversAreRenderedApartFromTheStructure() {
        let targets = [ProxySnapshot.Target(id: "10.0.0.5", port: 8080, address: "10.0.0.5", draining: false),
                       ProxySnapshot.Target(id: "i-abc", port: 32768, address: "10.0.0.6", draining: true)]
        let s = snapshot(targets: targets)
        #expect(HAProxyConfig.structure(s, socket: "/s") == HAProxyConfig.structure(snapshot(), socket: "/s"), "targets never change the structure")
        let full = HAProxyConfig.render(s, socket: "/s", serving: ["tg_aaaa/t_10_0_0_5_8080"])
        #expect(full.hasPrefix(HAProxyConfig.structure(s, socket: "/s")))
        #expect(full.contains("server t_10_0_0_5_8080 10.0.0.5:8080 check\n"), "a serving target starts enabled")
        #expect(!full.contains("t_i_abc_32768"), "the others are added after the reload, through the runtime API")
        let drainingServing = HAProxyConfig.render(s, socket: "/s", serving: ["tg_aaaa/t_i_abc_32768"])
        #expect(drainingServing.contains("server t_i_abc_32768 10.0.0.6:32768 check weight 0\n"), "a draining target weighs 0")
    }

    @Test func queryStringAndHeaderConditionsMatchAsALBDoes() {
        let query = HAProxyConfig.acl(.init(field: .queryString, pairs: [.init(key: "version", value: "v*"), .init(key: nil, value: "beta")]))
        #expect(query == "query -m reg -i \"(^|&)version=v.*(&|\\$)\" \"(^|&)[^&=]*=beta(&|\\$)\"", "$ escaped: HAProxy expands $VAR in quotes")
        #expect(HAProxyConfig.acl(.init(field: .sourceIp, values: ["10.0.0.0/8", "192.168.1.1/32"])) == "src 10.0.0.0/8 192.168.1.1/32")
        #expect(HAProxyConfig.acl(.init(field: .httpRequestMethod, values: ["GET", "HEAD"])) == "method GET HEAD")
        #expect(ELB.wildcard("/api/*", matches: "/api/items"))
        #expect(!ELB.wildcard("/api/*", matches: "/apx/items"))
        #expect(ELB.wildcard("*.Example.com", matches: "shop.example.COM", caseInsensitive: true))
    }
}

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

    func server(_ status: String, check: String? = nil, code: Int? = nil, weight: Int = 1, name: String = "t_10_0_0_5_8080") -> ObservedServer {
        ObservedServer(backend: "tg_g1", name: name, status: status, checkStatus: check, checkCode: code, weight: weight)
    }

    @Test func aNewTargetIsAddedInMaintenanceWithItsChecksRunning() {
        let plan = TargetPlan.plan(snapshot([web]), observed: [], registeredAt: [:], now: now)
        // The runtime API ignores default-server: the group's check settings ride on the add line.
        #expect(plan.commands == ["add server tg_g1/t_10_0_0_5_8080 10.0.0.5:8080 check inter 5s fastinter 500 downinter 500 fall 2 rise 5",
                                  "enable health tg_g1/t_10_0_0_5_8080"])
        let unchecked = TargetPlan.plan(snapshot([web], enabled: false), observed: [], registeredAt: [:], now: now)
        #expect(unchecked.commands.last == "enable server tg_g1/t_10_0_0_5_8080", "without health checks it serves at once")
    }

    @Test func itServesOnlyOnceItsChecksPass() {
        let key = "tg_g1/t_10_0_0_5_8080"
        let checking = TargetPlan.plan(snapshot([web]), observed: [server("MAINT", check: "INI")], registeredAt: [key: now], now: now)
        #expect(checking.commands == ["enable health \(key)"] && checking.updates.map(\.state) == [.initial],
                "checks (re)started: a server rendered disabled by a reload starts with them stopped")
        let failing = TargetPlan.plan(snapshot([web]), observed: [server("MAINT", check: "L7STS", code: 500)],
                                      registeredAt: [key: now.addingTimeInterval(-3)], now: now)
        #expect(failing.updates.map(\.state) == [.initial], "not yet an unhealthy threshold of intervals")
        let failed = TargetPlan.plan(snapshot([web]), observed: [server("MAINT", check: "L7STS", code: 500)],
                                     registeredAt: [key: now.addingTimeInterval(-10)], now: now)
        #expect(!failed.commands.contains("enable server \(key)"), "still kept out of rotation")
        #expect(failed.updates.first?.state == .unhealthy && failed.updates.first?.reason == "Target.ResponseCodeMismatch")
        #expect(failed.updates.first?.description?.contains("500") == true)
        var once = server("MAINT", check: "L7OK", code: 200)
        once.checkHealth = 1
        once.checkRise = 2
        let rising = TargetPlan.plan(snapshot([web]), observed: [once], registeredAt: [key: now], now: now)
        #expect(rising.commands.isEmpty && rising.updates.map(\.state) == [.initial], "one passed check of a threshold of two: still initial")
        once.checkHealth = 3
        let passed = TargetPlan.plan(snapshot([web]), observed: [once], registeredAt: [key: now], now: now)
        #expect(passed.commands == ["enable server \(key)"] && passed.updates.map(\.state) == [.healthy])
    }

    @Test func serversFollowHealthDrainingAndDeregistration() {
        let down = TargetPlan.plan(snapshot([web]), observed: [server("DOWN", check: "L4TOUT")], registeredAt: [:], now: now)
        #expect(down.updates.first?.state == .unhealthy && down.updates.first?.reason == "Target.Timeout")
        #expect(TargetPlan.plan(snapshot([web]), observed: [server("UP 1/2", check: "L4CON")], registeredAt: [:], now: now).updates.first?.state == .healthy)
        var draining = web
        draining.draining = true
        let drain = TargetPlan.plan(snapshot([draining]), observed: [server("UP", check: "L7OK")], registeredAt: [:], now: now)
        #expect(drain.commands == ["set server tg_g1/t_10_0_0_5_8080 weight 0"] && drain.updates.isEmpty)
        let back = TargetPlan.plan(snapshot([web]), observed: [server("UP", check: "L7OK", weight: 0)], registeredAt: [:], now: now)
        #expect(back.commands == ["set server tg_g1/t_10_0_0_5_8080 weight 1"], "registered again: back in rotation")
        let gone = TargetPlan.plan(snapshot([]), observed: [server("UP", check: "L7OK", weight: 0)], registeredAt: [:], now: now)
        #expect(gone.commands == ["disable server tg_g1/t_10_0_0_5_8080", "shutdown sessions server tg_g1/t_10_0_0_5_8080",
                                  "del server tg_g1/t_10_0_0_5_8080"])
    }

    @Test func statsAreReadFromHAProxysJSON() {
        let json = """
            [[{"objType":"Backend","field":{"name":"pxname"},"value":{"type":"str","value":"tg_g1"}}],
             [{"objType":"Server","field":{"name":"pxname"},"value":{"type":"str","value":"tg_g1"}},
              {"objType":"Server","field":{"name":"svname"},"value":{"type":"str","value":"t_10_0_0_5_8080"}},
              {"objType":"Server","field":{"name":"status"},"value":{"type":"str","value":"DOWN"}},
              {"objType":"Server","field":{"name":"weight"},"value":{"type":"u32","value":1}},
              {"objType":"Server","field":{"name":"check_status"},"value":{"type":"str","value":"L7STS"}},
              {"objType":"Server","field":{"name":"check_code"},"value":{"type":"u32","value":503}}],
             [{"objType":"Server","field":{"name":"pxname"},"value":{"type":"str","value":"stats"}},
              {"objType":"Server","field":{"name":"svname"},"value":{"type":"str","value":"x"}}]]
            """
        #expect(TargetPlan.parseStats(Data(json.utf8)) == [ObservedServer(backend: "tg_g1", name: "t_10_0_0_5_8080", status: "DOWN",
                                                                         checkStatus: "L7STS", checkCode: 503, weight: 1)])
    }
}
