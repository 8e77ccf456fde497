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
        #expect(lines.contains(#"acl r_r10_0 path -m reg '^/api/v./.*\.json$'"#), "wildcards become an anchored regex, dots escaped, strong-quoted")
        #expect(lines.contains(#"acl r_r10_1 req.hdr(host),field(1,:) -m reg -i '^.*\.example\.com$'"#))
        #expect(lines.contains(#"http-request return status 404 content-type 'text/plain' string 'no "route"' if { var(txn.rule) -m str r20 }"#))
        #expect(lines.contains("http-request set-var(txn.pick) rand(100) if { var(txn.rule) -m str r10 }"))
        #expect(lines.contains("use_backend tg_aaaa if { var(txn.rule) -m str r10 } { var(txn.pick) -m int ge 0 } { var(txn.pick) -m int lt 30 }"))
        #expect(lines.contains("use_backend tg_bbbb if { var(txn.rule) -m str r10 } { var(txn.pick) -m int ge 30 } { var(txn.pick) -m int lt 100 }"))
        #expect(lines.contains("use_backend tg_aaaa if { var(txn.rule) -m str default }"))
        #expect(lines.contains("http-check expect rstatus ^(200|201|202)$"))
        #expect(lines.contains("http-check send meth GET uri '/health' ver HTTP/1.1 hdr Host stowage-health-check"))
        #expect(lines.contains("bind 127.0.10.1:80"))
    }

    @Test func serversAreRenderedInsideTheirOwnBackend() {
        let targets = [ProxySnapshot.Target(id: "10.0.0.5", port: 8080, address: "10.0.0.5", draining: false),
                       ProxySnapshot.Target(id: "i-abc", port: 32768, address: "10.0.0.6", draining: true)]
        var s = snapshot(targets: targets)
        s.groups[1].targets = [ProxySnapshot.Target(id: "10.0.0.5", port: 8080, address: "10.0.0.5", draining: false)]
        #expect(HAProxyConfig.structure(s, socket: "/s") == HAProxyConfig.structure(snapshot(), socket: "/s"), "targets never change the structure")
        let web = targets[0].serverName
        #expect(web == "t_10_2E0_2E0_2E5.8080")
        let full = HAProxyConfig.render(s, socket: "/s", serving: ["tg_aaaa/\(web)", "tg_bbbb/\(web)"], policy: .tests).text
        #expect(HAProxyConfig.digest(ofRendered: full) == HAProxyConfig.digest(ofStructure: HAProxyConfig.structure(s, socket: "/s")))
        // Each server line sits in its own backend's section: the same target in two groups is two servers, one in each.
        let sections = full.components(separatedBy: "\nbackend ")
        let a = sections.first { $0.hasPrefix("tg_aaaa") } ?? ""
        let b = sections.first { $0.hasPrefix("tg_bbbb") } ?? ""
        #expect(a.contains("    server \(web) 10.0.0.5:8080 check\n"), "a serving target starts enabled, in its group's backend")
        #expect(b.contains("    server \(web) 10.0.0.5:8080 check\n"))
        #expect(!full.contains(targets[1].serverName), "the others are added after the reload, through the runtime API")
        let drainingServing = HAProxyConfig.render(s, socket: "/s", serving: ["tg_aaaa/\(targets[1].serverName)"], policy: .tests).text
        #expect(drainingServing.contains("server \(targets[1].serverName) 10.0.0.6:32768 check weight 0\n"), "a draining target weighs 0")
    }

    @Test func serverNamesAreUniqueByConstruction() {
        let ids = ["a.b", "a_b", "a_2Eb", "a-b", "a:b", "a b", "ä", "a;b", "a\nb"]
        let names = ids.flatMap { id in [80, 8080].map { ProxySnapshot.Target(id: id, port: $0, address: "10.0.0.1", draining: false).serverName } }
        #expect(Set(names).count == names.count)
        for name in names { #expect((try? HAProxyText.name(name)) == name, "\(name) is a valid HAProxy name") }
    }

    @Test func queryStringAndHeaderConditionsMatchAsALBDoes() throws {
        let query = try HAProxyConfig.acl(.init(field: .queryString, pairs: [.init(key: "version", value: "v*"), .init(key: nil, value: "beta")]))
        #expect(query == "query -m reg -i '(^|&)version=v[^&]*(&|$)' '(^|&)[^&=]*=beta(&|$)'", "a wildcard stays inside its parameter")
        #expect(try HAProxyConfig.acl(.init(field: .sourceIp, values: ["10.0.0.0/8", "192.168.1.1/32"])) == "src 10.0.0.0/8 192.168.1.1/32")
        #expect(try HAProxyConfig.acl(.init(field: .httpRequestMethod, values: ["GET", "HEAD"])) == "method GET HEAD")
        #expect(throws: HAProxyText.Refused.self) { try HAProxyConfig.acl(.init(field: .httpHeader, values: ["x"], headerName: "X) -m found || {")) }
        #expect(throws: HAProxyText.Refused.self) { try HAProxyConfig.acl(.init(field: .httpRequestMethod, values: ["GET;"])) }
        #expect(ELB.wildcard("/api/*", matches: "/api/items"))
        #expect(!ELB.wildcard("/api/*", matches: "/apx/items"))
    }

    @Test func wildcardsBecomeRegexesOfLinearCost() {
        #expect(HAProxyText.wildcardRegex("/api/*") == "^/api/.*$")
        #expect(HAProxyText.wildcardRegex("*a*b*c") == "^(?>.*?a)(?>.*?b).*c$", "middle segments found once, never revisited")
        #expect(HAProxyText.wildcardRegex("**a**") == "^(?>.*?a).*$")
        #expect(HAProxyText.wildcardRegex("a?c") == "^a.c$")
        #expect(HAProxyText.wildcardRegex("$(x)") == #"^\$\(x\)$"#)
    }

    @Test func everyValueIsQuotedOrRefused() throws {
        #expect(try HAProxyText.argument("a b") == "'a b'")
        #expect(try HAProxyText.argument("it's") == #"'it'\''s'"#)
        #expect(try HAProxyText.argument(#""${HOME}" #x"#) == #"'"${HOME}" #x'"#, "inside strong quotes HAProxy expands nothing")
        #expect(try HAProxyText.argument("a\nb\r") == #"'a'\x0a'b'\x0d"#, "line breaks never end the statement")
        #expect(throws: HAProxyText.Refused.self) { try HAProxyText.argument("a\u{0}b") }
        #expect(try HAProxyText.address("10.0.0.1") == "10.0.0.1")
        #expect(try HAProxyText.address("::1") == "ipv6@0:0:0:0:0:0:0:1")
        for bad in ["10.0.0.1;shutdown sessions", "10.0.0.1\nbackend x", "evil.example.com", "10.0.0.1:80", "10.0.0.0/8", ""] {
            #expect(throws: HAProxyText.Refused.self) { try HAProxyText.address(bad) }
        }
        #expect(throws: HAProxyText.Refused.self) { try HAProxyText.uriPath(#"/"${STOWAGE_SERVER_KEY}""#) }
        #expect(throws: HAProxyText.Refused.self) { try HAProxyText.uriPath("/a b") }
        #expect(try HAProxyText.uriPath("/health?x=1&y='2'") == #"'/health?x=1&y='\''2'\'"#)
        #expect(throws: HAProxyText.Refused.self) { try HAProxyText.command(["add", "server", "tg_a/t_b", "1.2.3.4:80;", "shutdown"]) }
        #expect(throws: HAProxyText.Refused.self) { try HAProxyText.port(0) }
    }

    @Test func aLoadBalancerThatCannotBeWrittenIsLeftOutAndTheOthersServe() {
        var s = snapshot()
        var bad = s.listeners[0]
        bad.id = "l2"
        bad.loadBalancerId = "lb2"
        bad.address = "127.0.10.2"
        bad.rules = []
        bad.defaultActions = [ELB.Action(kind: .forward, targetGroups: [.init(targetGroupArn: "arn:aws:elasticloadbalancing:us-east-1:2:targetgroup/c/cccc", weight: 1)],
                                         single: true)]
        s.listeners.append(bad)
        var health = ELB.HealthCheck()
        health.path = #"/"${STOWAGE_SERVER_KEY}""#
        s.groups.append(.init(id: "cccc", port: 80, health: health, attributes: .init(), targets: []))
        let rendered = HAProxyConfig.render(s, socket: "/s", serving: [])
        #expect(rendered.refused.keys.sorted() == ["lb2"])
        #expect(rendered.refused["lb2"]?.contains("health check path") == true)
        #expect(!rendered.text.contains("STOWAGE_SERVER_KEY") && !rendered.text.contains("l_l2") && !rendered.text.contains("tg_cccc"))
        #expect(rendered.text.contains("frontend l_l1") && rendered.text.contains("backend tg_aaaa"), "the other load balancer is rendered")
        let left = HAProxyConfig.render(snapshot(), socket: "/s", serving: [], leavingOut: ["lb1": "refused"])
        #expect(!left.text.contains("frontend l_l1") && !left.text.contains("backend tg_"), "a left-out load balancer takes its backends along")
        #expect(HAProxyConfig.loadBalancers(named: "[ALERT] parsing [/x/haproxy.cfg.new:40] : error detected in frontend 'l_l2' while parsing", in: s) == ["lb2"])
        #expect(HAProxyConfig.loadBalancers(named: "Starting proxy tg_aaaa: cannot bind", in: s) == ["lb1"])
        #expect(HAProxyConfig.firstAlert("[NOTICE] x\n[ALERT]    (1) : config : parsing [/x/y.cfg:40] : unknown keyword 'z'") == "unknown keyword 'z'")
    }

    @Test func targetsTheyMayNotReachAreNeverGivenToHAProxy() {
        let policy = TargetPolicy(outbound: OutboundPolicy(allowed: [CIDR("10.0.0.0/8")!]),
                                  controlPlane: [.init(address: [10, 0, 0, 9], port: 5432, what: "the control plane's database")])
        var health = ELB.HealthCheck()
        health.port = "5432"
        let targets = [ProxySnapshot.Target(id: "169.254.169.254", port: 80, address: "169.254.169.254", draining: false),
                       ProxySnapshot.Target(id: "10.0.0.9", port: 80, address: "10.0.0.9", draining: false),
                       ProxySnapshot.Target(id: "10.0.0.5", port: 80, address: "10.0.0.5", draining: false),
                       ProxySnapshot.Target(id: "i-1", port: 80, address: "10.0.0.1;show", draining: false)]
        let forward = ELB.Action(kind: .forward, targetGroups: [.init(targetGroupArn: "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/g/g", weight: 1)],
                                 single: true)
        let listener = ProxySnapshot.Listener(id: "l", loadBalancerId: "lb", address: "127.0.10.1", port: 80, rules: [], defaultActions: [forward])
        let s = ProxySnapshot(listeners: [listener],
                              groups: [.init(id: "g", port: 80, health: health, attributes: .init(), targets: targets)])
        let plan = TargetPlan.plan(s, observed: [], registeredAt: [:], now: Date(), policy: policy)
        let unused = plan.updates.filter { $0.state == .unused }
        #expect(unused.map(\.targetId) == ["169.254.169.254", "10.0.0.9", "i-1"])
        #expect(unused[0].description?.contains("169.254.0.0/16") == true && unused[1].description?.contains("database") == true)
        #expect(plan.commands.count == 2 && plan.commands[0].hasPrefix("add server tg_g/t_10_2E0_2E0_2E5.80 10.0.0.5:80 check"),
                "only the reachable target is added: \(plan.commands)")
        let rendered = HAProxyConfig.render(s, socket: "/s", serving: Set(targets.map { "tg_g/\($0.serverName)" }), policy: policy)
        #expect(rendered.text.contains("server t_10_2E0_2E0_2E5.80 10.0.0.5:80 check"))
        #expect(!rendered.text.contains("169.254") && !rendered.text.contains("10.0.0.9") && !rendered.text.contains("show"))
    }
}

extension TargetPolicy {
    /// The tests' operator allows every range, so only what a test sets out to refuse is refused.
    static let tests = TargetPolicy(outbound: OutboundPolicy(allowed: [CIDR("0.0.0.0/0"), CIDR("::/0")].compactMap { $0 }))
}
