import Foundation
import StowageModel

/// Renders HAProxy's configuration from a snapshot: a frontend per listener (bound on its load balancer's
/// address), the rules as ACLs evaluated in priority order, a backend per target group with its health check and
/// the servers of its serving targets.
///
/// Rules are decided in HAProxy's `http-request` phase, first match wins: each rule in priority order sets
/// `txn.rule` unless an earlier one did, so a fixed response of a low-priority rule never pre-empts a forward of
/// a higher one (HAProxy runs every `http-request return` before any `use_backend`). Weighted forwards draw a
/// random number once per request and pick the group whose share it falls in.
///
/// Every value goes through `HAProxyText`. A load balancer with a value that cannot be written is left out of the
/// configuration with the reason (`Rendered.refused`): the others are rendered, so one tenant's bad data never
/// stops another's traffic.
public enum HAProxyConfig {
    public struct Rendered: Sendable, Equatable {
        /// The configuration file.
        public var text: String
        /// Load balancer id -> why it is not in `text`.
        public var refused: [String: String]
    }

    /// The whole configuration. `serving` holds the `backend/server` names that take traffic (their targets were
    /// healthy under the previous process): only they are written, enabled, inside their backend. Every other
    /// target is added after the reload through the runtime API, in maintenance with its checks running, like any
    /// new target. Load balancers in `leavingOut` are not rendered (HAProxy refused their part).
    public static func render(_ s: ProxySnapshot, socket: String, serving: Set<String>, leavingOut: [String: String] = [:],
                              policy: TargetPolicy = TargetPolicy()) -> Rendered {
        let (text, refused) = body(s, socket: socket, serving: serving, leavingOut: leavingOut, policy: policy)
        return Rendered(text: digestPrefix + fnv1a(structure(s, socket: socket)) + "\n" + text, refused: refused)
    }

    /// What decides a reload: the configuration without its servers. When only targets change it stays the same
    /// and the change goes through the runtime API (no reload, established connections untouched).
    public static func structure(_ s: ProxySnapshot, socket: String) -> String {
        var stripped = s
        for i in stripped.groups.indices { stripped.groups[i].targets = [] }
        return body(stripped, socket: socket, serving: [], leavingOut: [:], policy: TargetPolicy()).text
    }

    /// The structure's digest as a rendered configuration names it on its first line, so that a `stowage lb`
    /// adopting a running HAProxy knows whether the structure it would render is the one running.
    public static func digest(ofRendered text: String) -> String? {
        guard let first = text.split(separator: "\n", maxSplits: 1).first, first.hasPrefix(digestPrefix) else { return nil }
        return String(first.dropFirst(digestPrefix.count))
    }

    public static func digest(ofStructure structure: String) -> String { fnv1a(structure) }

    static let digestPrefix = "# stowage-lb structure "

    static func fnv1a(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return String(hash, radix: 16).leftPadded(to: 16)
    }

    static func body(_ s: ProxySnapshot, socket: String, serving: Set<String>, leavingOut: [String: String], policy: TargetPolicy)
        -> (text: String, refused: [String: String])
    {
        var refused = leavingOut
        var backends: [String: String] = [:]
        var groupErrors: [String: String] = [:]
        for g in s.groups.sorted(by: { $0.id < $1.id }) {
            do { backends[g.id] = try backend(g, serving: serving, policy: policy) } catch { groupErrors[g.id] = "\(error)" }
        }
        var frontends: [String] = []
        for lb in Set(s.listeners.map(\.loadBalancerId)).sorted() where refused[lb] == nil {
            let listeners = s.listeners.filter { $0.loadBalancerId == lb }.sorted { ($0.address, $0.port, $0.id) < ($1.address, $1.port, $1.id) }
            do {
                var texts: [String] = []
                for l in listeners {
                    if let why = groupIds(l).compactMap({ groupErrors[$0] }).first {
                        throw HAProxyText.Refused(what: "listener", value: l.id, reason: "forwards to a target group that cannot be written: \(why)")
                    }
                    texts.append(try frontend(l))
                }
                frontends += texts
            } catch {
                refused[lb] = "\(error)"
            }
        }
        let used = Set(s.listeners.filter { refused[$0.loadBalancerId] == nil }.flatMap(groupIds))
        var out = header(socket: socket) + frontends.joined()
        for (id, text) in backends.sorted(by: { $0.key < $1.key }) where used.contains(id) { out += text }
        return (out, refused)
    }

    static func header(socket: String) -> String {
        """
        # Rendered by `stowage lb` from PostgreSQL; edits are overwritten.
        global
            stats socket \((try? HAProxyText.argument(socket, what: "socket path")) ?? "''") mode 600 level admin expose-fd listeners
            stats timeout 30s
            maxconn 4096
            # Old processes finish their connections after a reload, for at most the longest deregistration delay.
            hard-stop-after 3700s

        defaults
            mode http
            option redispatch
            retries 2
            retry-on conn-failure
            timeout connect 5s
            timeout client 60s
            timeout server 60s
            timeout http-request 10s
            timeout queue 10s


        """
    }

    /// The target groups a listener forwards to.
    static func groupIds(_ l: ProxySnapshot.Listener) -> [String] {
        (l.defaultActions + l.rules.flatMap(\.actions)).flatMap { $0.targetGroups.map { groupId($0.targetGroupArn) } }
    }

    /// The snapshot narrowed to one load balancer: its listeners and the groups they forward to, to check its part alone.
    public static func only(_ loadBalancerId: String, of s: ProxySnapshot) -> ProxySnapshot {
        let listeners = s.listeners.filter { $0.loadBalancerId == loadBalancerId }
        let used = Set(listeners.flatMap(groupIds))
        return ProxySnapshot(listeners: listeners, groups: s.groups.filter { used.contains($0.id) })
    }

    /// The load balancers whose frontends, rules or backends HAProxy's messages name (`frontend 'l_…'`, `tg_…`).
    public static func loadBalancers(named output: String, in s: ProxySnapshot) -> [String] {
        var found: Set<String> = []
        let words = output.split(whereSeparator: { $0 == ":" || !(HAProxyText.isNameCharacter($0.unicodeScalars.first ?? " ")) }).map(String.init)
        let mentioned = Set(words)
        for l in s.listeners {
            let names = ["l_" + l.id] + l.rules.map(\.id) + groupIds(l).map { "tg_" + $0 }
            if names.contains(where: { mentioned.contains($0) }) || l.rules.contains(where: { r in words.contains { $0.hasPrefix("r_\(r.id)_") } }) {
                found.insert(l.loadBalancerId)
            }
        }
        return found.sorted()
    }

    /// HAProxy's first complaint, without its own file paths: what a tenant reads as its load balancer's state reason.
    public static func firstAlert(_ output: String) -> String {
        let lines = output.split(separator: "\n").map(String.init)
        let line = lines.first { $0.contains("[ALERT]") } ?? lines.first ?? output
        var text = line
        while let end = text.range(of: "] : ") { text = String(text[end.upperBound...]) }
        return text.trimmingCharacters(in: .whitespaces)
    }

    static func frontend(_ l: ProxySnapshot.Listener) throws(HAProxyText.Refused) -> String {
        var lines = ["frontend \(try HAProxyText.name("l_" + l.id, what: "listener"))",
                     "    bind \(try HAProxyText.endpoint(l.address, l.port, what: "listener"))"]
        let rules = l.rules.sorted { $0.priority < $1.priority }
        for rule in rules {
            let ruleId = try HAProxyText.name(rule.id, what: "rule")
            var acls: [String] = []
            for (n, c) in rule.conditions.enumerated() {
                let name = "r_\(ruleId)_\(n)"
                lines.append("    acl \(name) \(try acl(c))")
                acls.append(name)
            }
            lines.append("    http-request set-var(txn.rule) str(\(ruleId)) if !{ var(txn.rule) -m found } \(acls.joined(separator: " "))")
        }
        lines.append("    http-request set-var(txn.rule) str(default) if !{ var(txn.rule) -m found }")
        var forwards: [String] = []
        var decided: [(String, [ELB.Action])] = []
        for rule in rules { decided.append((try HAProxyText.name(rule.id, what: "rule"), rule.actions)) }
        for (id, actions) in decided + [("default", l.defaultActions)] {
            let chosen = "{ var(txn.rule) -m str \(id) }"
            guard let action = actions.first else { continue }
            switch action.kind {
            case .fixedResponse:
                if let f = action.fixedResponse { lines.append("    http-request return \(try fixedResponse(f)) if \(chosen)") }
            case .forward:
                let weighted = action.targetGroups.filter { $0.weight > 0 }
                if action.targetGroups.count == 1 {
                    forwards.append("    use_backend \(try backendName(action.targetGroups[0].targetGroupArn)) if \(chosen)")
                } else if weighted.isEmpty {
                    lines.append("    http-request return status 503 if \(chosen)")
                } else {
                    var total = 0
                    for g in weighted { total += Int(try HAProxyText.integer(g.weight, in: 0...999, what: "weight")) ?? 0 }
                    lines.append("    http-request set-var(txn.pick) rand(\(total)) if \(chosen)")
                    var low = 0
                    for g in weighted {
                        forwards.append("    use_backend \(try backendName(g.targetGroupArn)) if \(chosen) { var(txn.pick) -m int ge \(low) } { var(txn.pick) -m int lt \(low + g.weight) }")
                        low += g.weight
                    }
                }
            }
        }
        return (lines + forwards).joined(separator: "\n") + "\n\n"
    }

    static func backend(_ g: ProxySnapshot.Group, serving: Set<String>, policy: TargetPolicy) throws(HAProxyText.Refused) -> String {
        let h = g.health
        let name = try HAProxyText.name(g.backendName, what: "target group")
        var lines = ["backend \(name)", "    balance \(g.attributes.algorithm == "least_outstanding_requests" ? "leastconn" : "roundrobin")"]
        if h.enabled {
            lines += [
                "    option httpchk",
                "    http-check send meth GET uri \(try HAProxyText.uriPath(h.path)) ver HTTP/1.1 hdr Host stowage-health-check",
                "    http-check expect rstatus \(statusRegex(h.matcher))",
                "    timeout check \(try HAProxyText.integer(h.timeoutSeconds, in: 1...3600, what: "health check timeout"))s",
            ]
        }
        lines.append("    default-server " + (try serverOptions(g)))
        for t in g.targets.sorted(by: { $0.serverName < $1.serverName }) where serving.contains("\(g.backendName)/\(t.serverName)") {
            // A target the policy refuses or whose address cannot be written is left out here; TargetPlan reports it.
            if policy.refusal(address: t.address, ports: g.ports(of: t), task: t.task) != nil { continue }
            if let line = try? serverLine(g, t, enabled: true) { lines.append("    " + line) }
        }
        return lines.joined(separator: "\n") + "\n\n"
    }

    /// The target group's check settings as server options. `default-server` gives them to servers rendered in
    /// the configuration; servers added through the runtime API ignore it, so `add server` spells them out too.
    /// A settled target is checked every interval; one in transition (new, failing or recovering) every half
    /// second (fastinter, downinter), so a new task serves about a second after its checks start to pass. The
    /// thresholds count checks as given.
    public static func serverOptions(_ g: ProxySnapshot.Group) throws(HAProxyText.Refused) -> String {
        let h = g.health
        let interval = try HAProxyText.integer(h.intervalSeconds, in: 1...3600, what: "health check interval")
        let transition = min(h.intervalSeconds * 1000, transitionCheckMilliseconds)
        var out = "inter \(interval)s fastinter \(transition) downinter \(transition)"
        out += " fall \(try HAProxyText.integer(h.unhealthyThreshold, in: 1...100, what: "unhealthy threshold"))"
        out += " rise \(try HAProxyText.integer(h.healthyThreshold, in: 1...100, what: "healthy threshold"))"
        if g.attributes.slowStartSeconds > 0 {
            out += " slowstart \(try HAProxyText.integer(g.attributes.slowStartSeconds, in: 1...3600, what: "slow start"))s"
        }
        if h.port != "traffic-port" {
            guard let port = Int(h.port) else { throw HAProxyText.Refused(what: "health check port", value: h.port, reason: "is not a port") }
            out += " port \(try HAProxyText.port(port, what: "health check port"))"
        }
        return out
    }

    /// How often a target in transition is checked, in milliseconds.
    public static let transitionCheckMilliseconds = 500

    /// One server: checked when the group checks health, disabled until it may serve, weight 0 while draining.
    public static func serverLine(_ g: ProxySnapshot.Group, _ t: ProxySnapshot.Target, enabled: Bool) throws(HAProxyText.Refused) -> String {
        var line = "server \(try HAProxyText.name(t.serverName, what: "target")) \(try HAProxyText.endpoint(t.address, t.port))"
        if g.health.enabled { line += " check" }
        if t.draining { line += " weight 0" }
        if !enabled { line += " disabled" }
        return line
    }

    /// The id at the end of a target group ARN.
    static func groupId(_ arn: String) -> String { String(arn.split(separator: "/").last ?? "") }

    static func backendName(_ arn: String) throws(HAProxyText.Refused) -> String {
        try HAProxyText.name("tg_" + groupId(arn), what: "target group")
    }

    static func fixedResponse(_ f: ELB.FixedResponse) throws(HAProxyText.Refused) -> String {
        guard let code = Int(f.statusCode) else { throw HAProxyText.Refused(what: "status code", value: f.statusCode, reason: "is not a number") }
        var out = "status \(try HAProxyText.integer(code, in: 200...599, what: "status code"))"
        if let body = f.messageBody, !body.isEmpty {
            out += " content-type \(try HAProxyText.argument(f.contentType ?? "text/plain", what: "content type"))"
            out += " string \(try HAProxyText.argument(body, what: "message body"))"
        }
        return out
    }

    /// An ALB wildcard pattern (`*`, `?`) as an anchored regular expression of linear cost.
    static func regex(_ pattern: String) -> String { HAProxyText.wildcardRegex(pattern) }

    /// The ACL for one condition: its values are alternatives (any may match).
    static func acl(_ c: ELB.Condition) throws(HAProxyText.Refused) -> String {
        var patterns: [String] = []
        for value in c.values { patterns.append(try HAProxyText.argument(regex(value), what: "pattern")) }
        let joined = patterns.joined(separator: " ")
        switch c.field {
        case .pathPattern: return "path -m reg \(joined)"
        case .hostHeader: return "req.hdr(host),field(1,:) -m reg -i \(joined)"
        case .httpHeader:
            let name = c.headerName ?? ""
            guard !name.isEmpty, name.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_".contains(Character($0))) }) else {
                throw HAProxyText.Refused(what: "header name", value: name, reason: "is not letters, digits, '-' and '_'")
            }
            return "req.hdr(\(name)) -m reg -i \(joined)"
        case .httpRequestMethod:
            var methods: [String] = []
            for v in c.values {
                guard !v.isEmpty, v.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) || $0 == "-" || $0 == "_" }) else {
                    throw HAProxyText.Refused(what: "HTTP method", value: v, reason: "is not upper-case letters, '-' and '_'")
                }
                methods.append(v)
            }
            return "method \(methods.joined(separator: " "))"
        case .sourceIp:
            var blocks: [String] = []
            for v in c.values {
                guard let block = CIDR(v) else { throw HAProxyText.Refused(what: "source IP", value: v, reason: "is not a CIDR block") }
                blocks.append(block.description)
            }
            return "src \(blocks.joined(separator: " "))"
        case .queryString:
            // key=value anywhere in the query string; a pair without a key matches any parameter's value. A wildcard
            // stays inside its parameter ([^&]).
            var alternatives: [String] = []
            for p in c.pairs {
                let key = p.key.map { HAProxyText.wildcardRegex($0, any: "[^&]", anchored: false) } ?? "[^&=]*"
                let value = HAProxyText.wildcardRegex(p.value, any: "[^&]", anchored: false)
                alternatives.append(try HAProxyText.argument("(^|&)\(key)=\(value)(&|$)", what: "query pattern"))
            }
            return "query -m reg -i \(alternatives.joined(separator: " "))"
        }
    }

    /// A matcher ("200", "200,202", "200-299") as a regular expression over the status code.
    static func statusRegex(_ matcher: String) -> String {
        let ranges = (try? ELB.matcherCodes(matcher)) ?? [200...200]
        let codes = Set(ranges.flatMap { Array($0) }).sorted()
        return "^(" + codes.map(String.init).joined(separator: "|") + ")$"
    }
}
