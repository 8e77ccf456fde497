import Foundation
import StowageModel

/// Renders HAProxy's configuration from a snapshot: a frontend per listener (bound on its load balancer's
/// address), the rules as ACLs evaluated in priority order, a backend per target group with its health check.
///
/// Rules are decided in HAProxy's `http-request` phase, first match wins: each rule in priority order sets
/// `txn.rule` unless an earlier one did, so a fixed response of a low-priority rule never pre-empts a forward of
/// a higher one (HAProxy runs every `http-request return` before any `use_backend`). Weighted forwards draw a
/// random number once per request and pick the group whose share it falls in.
public enum HAProxyConfig {
    /// The whole configuration. `serving` holds the `backend/server` names that take traffic (their targets were
    /// healthy under the previous process): only they are written, enabled. Every other target is added after the
    /// reload through the runtime API, in maintenance with its checks running, like any new target.
    public static func render(_ s: ProxySnapshot, socket: String, serving: Set<String>) -> String {
        var out = structure(s, socket: socket)
        for g in s.groups.sorted(by: { $0.id < $1.id }) {
            out += "\n# servers of \(g.backendName)\n"
            for t in g.targets.sorted(by: { $0.serverName < $1.serverName }) where serving.contains("\(g.backendName)/\(t.serverName)") {
                out += "    " + serverLine(g, t, enabled: true) + "\n"
            }
        }
        return out
    }

    /// The configuration without its server lines: when only targets change, this stays the same and the change
    /// goes through the runtime API (no reload, established connections untouched).
    public static func structure(_ s: ProxySnapshot, socket: String) -> String {
        var out = """
            # Rendered by `stowage lb` from PostgreSQL; edits are overwritten.
            global
                stats socket \(socket) mode 600 level admin expose-fd listeners
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
        for l in s.listeners.sorted(by: { ($0.address, $0.port) < ($1.address, $1.port) }) {
            out += frontend(l)
        }
        for g in s.groups.sorted(by: { $0.id < $1.id }) {
            out += backend(g)
        }
        return out
    }

    static func frontend(_ l: ProxySnapshot.Listener) -> String {
        var lines = ["frontend l_\(l.id)", "    bind \(l.address):\(l.port)"]
        let rules = l.rules.sorted { $0.priority < $1.priority }
        for rule in rules {
            var acls: [String] = []
            for (n, c) in rule.conditions.enumerated() {
                let name = "r_\(rule.id)_\(n)"
                lines.append("    acl \(name) \(acl(c))")
                acls.append(name)
            }
            lines.append("    http-request set-var(txn.rule) str(\(rule.id)) if !{ var(txn.rule) -m found } \(acls.joined(separator: " "))")
        }
        lines.append("    http-request set-var(txn.rule) str(default) if !{ var(txn.rule) -m found }")
        var forwards: [String] = []
        for (id, actions) in rules.map({ ($0.id, $0.actions) }) + [("default", l.defaultActions)] {
            let chosen = "{ var(txn.rule) -m str \(id) }"
            guard let action = actions.first else { continue }
            switch action.kind {
            case .fixedResponse:
                if let f = action.fixedResponse { lines.append("    http-request return \(fixedResponse(f)) if \(chosen)") }
            case .forward:
                let weighted = action.targetGroups.filter { $0.weight > 0 }
                if action.targetGroups.count == 1 {
                    forwards.append("    use_backend tg_\(groupId(action.targetGroups[0].targetGroupArn)) if \(chosen)")
                } else if weighted.isEmpty {
                    lines.append("    http-request return status 503 if \(chosen)")
                } else {
                    let total = weighted.reduce(0) { $0 + $1.weight }
                    lines.append("    http-request set-var(txn.pick) rand(\(total)) if \(chosen)")
                    var low = 0
                    for g in weighted {
                        forwards.append("    use_backend tg_\(groupId(g.targetGroupArn)) if \(chosen) { var(txn.pick) -m int ge \(low) } { var(txn.pick) -m int lt \(low + g.weight) }")
                        low += g.weight
                    }
                }
            }
        }
        return (lines + forwards).joined(separator: "\n") + "\n\n"
    }

    static func backend(_ g: ProxySnapshot.Group) -> String {
        let h = g.health
        var lines = ["backend \(g.backendName)", "    balance \(g.attributes.algorithm == "least_outstanding_requests" ? "leastconn" : "roundrobin")"]
        if h.enabled {
            lines += [
                "    option httpchk",
                "    http-check send meth GET uri \(h.path) ver HTTP/1.1 hdr Host stowage-health-check",
                "    http-check expect rstatus \(statusRegex(h.matcher))",
                "    timeout check \(h.timeoutSeconds)s",
            ]
        }
        lines.append("    default-server " + serverOptions(g))
        return lines.joined(separator: "\n") + "\n\n"
    }

    /// The target group's check settings as server options. `default-server` gives them to servers rendered in
    /// the configuration; servers added through the runtime API ignore it, so `add server` spells them out too.
    /// A settled target is checked every interval; one in transition (new, failing or recovering) every half
    /// second (fastinter, downinter), so a new task serves about a second after its checks start to pass. The
    /// thresholds count checks as given.
    public static func serverOptions(_ g: ProxySnapshot.Group) -> String {
        let h = g.health
        let transition = min(h.intervalSeconds * 1000, transitionCheckMilliseconds)
        var out = "inter \(h.intervalSeconds)s fastinter \(transition) downinter \(transition) fall \(h.unhealthyThreshold) rise \(h.healthyThreshold)"
        if g.attributes.slowStartSeconds > 0 { out += " slowstart \(g.attributes.slowStartSeconds)s" }
        if h.port != "traffic-port" { out += " port \(h.port)" }
        return out
    }

    /// How often a target in transition is checked, in milliseconds.
    public static let transitionCheckMilliseconds = 500

    /// One server: checked when the group checks health, disabled until it may serve, weight 0 while draining.
    public static func serverLine(_ g: ProxySnapshot.Group, _ t: ProxySnapshot.Target, enabled: Bool) -> String {
        var line = "server \(t.serverName) \(t.address):\(t.port)"
        if g.health.enabled { line += " check" }
        if t.draining { line += " weight 0" }
        if !enabled { line += " disabled" }
        return line
    }

    /// The id at the end of a target group ARN.
    static func groupId(_ arn: String) -> String { String(arn.split(separator: "/").last ?? "") }

    static func fixedResponse(_ f: ELB.FixedResponse) -> String {
        var out = "status \(f.statusCode)"
        if let body = f.messageBody, !body.isEmpty {
            out += " content-type \(quoted(f.contentType ?? "text/plain")) string \(quoted(body))"
        }
        return out
    }

    /// A double-quoted HAProxy argument: backslash, quote, dollar and line breaks escaped.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for ch in text {
            switch ch {
            case "\\", "\"", "$": out += "\\" + String(ch)
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            default: out.append(ch)
            }
        }
        return out + "\""
    }

    /// An ALB wildcard pattern (`*`, `?`) as an anchored regular expression.
    static func regex(_ pattern: String) -> String {
        var out = "^"
        for ch in pattern {
            switch ch {
            case "*": out += ".*"
            case "?": out += "."
            case _ where "\\^$.|+()[]{}".contains(ch): out += "\\" + String(ch)
            default: out.append(ch)
            }
        }
        return out + "$"
    }

    /// The ACL for one condition: its values are alternatives (any may match).
    static func acl(_ c: ELB.Condition) -> String {
        let patterns = c.values.map { quoted(regex($0)) }.joined(separator: " ")
        switch c.field {
        case .pathPattern: return "path -m reg \(patterns)"
        case .hostHeader: return "req.hdr(host),field(1,:) -m reg -i \(patterns)"
        case .httpHeader: return "req.hdr(\(c.headerName ?? "")) -m reg -i \(patterns)"
        case .httpRequestMethod: return "method \(c.values.joined(separator: " "))"
        case .sourceIp: return "src \(c.values.joined(separator: " "))"
        case .queryString:
            // key=value anywhere in the query string; a pair without a key matches any parameter's value.
            let alternatives = c.pairs.map { p in
                let key = p.key.map { String(regex($0).dropFirst().dropLast()) } ?? "[^&=]*"
                return quoted("(^|&)\(key)=\(String(regex(p.value).dropFirst().dropLast()))(&|$)")
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
