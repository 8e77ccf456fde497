import Foundation
import StowageModel

/// A server as HAProxy reports it (`show stat json`): its state, its last health check and its weight.
public struct ObservedServer: Sendable, Equatable {
    public var backend: String
    public var name: String
    /// "UP", "UP 1/2" (going down), "DOWN", "DOWN 1/2" (going up), "MAINT", "DRAIN", "no check".
    public var status: String
    /// "L7OK", "L7STS", "L4CON", "L4TOUT", "INI", …; nil without checks.
    public var checkStatus: String?
    public var checkCode: Int?
    public var weight: Int
    /// HAProxy's check counter and the rise it needs: a server whose counter reached its rise has passed its
    /// healthy threshold of consecutive checks (also while in maintenance).
    public var checkHealth: Int?
    public var checkRise: Int?

    public init(backend: String, name: String, status: String, checkStatus: String?, checkCode: Int?, weight: Int,
                checkHealth: Int? = nil, checkRise: Int? = nil) {
        self.backend = backend; self.name = name; self.status = status; self.checkStatus = checkStatus; self.checkCode = checkCode
        self.weight = weight; self.checkHealth = checkHealth; self.checkRise = checkRise
    }

    var inMaintenance: Bool { status.hasPrefix("MAINT") }
    var checkPassed: Bool { checkStatus == "L7OK" || checkStatus == "L7OKC" }
    /// The last check passed and the healthy threshold is met (HAProxy's own count when it reports one).
    var risen: Bool {
        guard checkPassed else { return false }
        guard let health = checkHealth, let rise = checkRise else { return true }
        return health >= rise
    }
}

/// What DescribeTargetHealth should say of a target, from what HAProxy saw.
public struct HealthUpdate: Sendable, Equatable {
    public var groupId: String
    public var targetId: String
    public var port: Int
    public var state: ELB.TargetState
    public var reason: String?
    public var description: String?
}

/// Decides the runtime API commands that bring HAProxy's servers to the snapshot's targets, and the health to
/// write back. A new target is added in maintenance with its checks running and enabled only once they pass,
/// so it never takes a request before it is healthy; a deregistered one takes no new requests (weight 0) and is
/// removed when its draining ends.
public enum TargetPlan {
    public struct Plan: Sendable, Equatable {
        public var commands: [String]
        public var updates: [HealthUpdate]
    }

    /// `registeredAt` says since when each target (backend/server) has been checked: a target whose checks have
    /// failed for its unhealthy threshold's worth of intervals leaves `initial` for `unhealthy`. A target the policy
    /// refuses, or whose values cannot be written, is never given to HAProxy (and taken out if it is there): it is
    /// reported `unused` with the reason.
    public static func plan(_ s: ProxySnapshot, observed: [ObservedServer], registeredAt: [String: Date], now: Date,
                            policy: TargetPolicy = TargetPolicy()) -> Plan {
        var commands: [String] = []
        var updates: [HealthUpdate] = []
        var seen: [String: ObservedServer] = [:]
        for o in observed { seen["\(o.backend)/\(o.name)"] = o }
        var wanted: Set<String> = []
        for g in s.groups {
            for t in g.targets {
                func update(_ state: ELB.TargetState, _ reason: String?, _ description: String?) {
                    updates.append(HealthUpdate(groupId: g.id, targetId: t.id, port: t.port, state: state, reason: reason, description: description))
                }
                if let why = policy.refusal(address: t.address, ports: g.ports(of: t), task: t.task) {
                    update(.unused, "Target.IpUnusable", why)
                    continue
                }
                do {
                    let key = try HAProxyText.name(g.backendName, what: "target group") + "/" + HAProxyText.name(t.serverName, what: "target")
                    wanted.insert(key)
                    commands += try converge(g, t, key: key, observed: seen[key], since: registeredAt[key], now: now, update: update)
                } catch {
                    update(.unused, "Target.IpUnusable", "\(error)")
                }
            }
        }
        // Servers of targets no longer registered (their draining over) or refused, or of groups no longer served.
        for o in observed where !wanted.contains("\(o.backend)/\(o.name)") && o.name.hasPrefix("t_") {
            guard let key = try? HAProxyText.runtimeArgument("\(o.backend)/\(o.name)") else { continue }
            commands += ["disable server \(key)", "shutdown sessions server \(key)", "del server \(key)"]
        }
        return Plan(commands: commands, updates: updates)
    }

    /// The runtime commands for one target HAProxy has (`observed`) or not yet, and its health through `update`.
    static func converge(_ g: ProxySnapshot.Group, _ t: ProxySnapshot.Target, key: String, observed: ObservedServer?, since: Date?, now: Date,
                         update: (ELB.TargetState, String?, String?) -> Void) throws(HAProxyText.Refused) -> [String] {
        var commands: [String] = []
        guard let o = observed else {
            var add = ["add", "server", key, try HAProxyText.endpoint(t.address, t.port)]
            if g.health.enabled { add += ["check"] + (try HAProxyConfig.serverOptions(g)).split(separator: " ").map(String.init) }
            if t.draining { add += ["weight", "0"] }
            commands.append(try HAProxyText.command(add))
            if g.health.enabled {
                commands.append("enable health \(key)")
            } else if !t.draining {
                commands.append("enable server \(key)")
            }
            return commands
        }
        if t.draining {
            if o.weight != 0 { commands.append("set server \(key) weight 0") }
            return commands
        }
        if o.weight == 0 { commands.append("set server \(key) weight 1") }
        guard g.health.enabled else {
            if o.inMaintenance { commands.append("enable server \(key)") }
            return commands
        }
        if o.inMaintenance {
            // Not serving yet: enable it once its healthy threshold of checks passed. Its checks are (re)started
            // each pass while they fail: a server rendered `disabled` into a reloaded configuration starts with
            // them stopped.
            if !o.checkPassed { commands.append("enable health \(key)") }
            if o.risen {
                commands.append("enable server \(key)")
                update(.healthy, nil, nil)
            } else if let failure = failure(o), let since,
                      now.timeIntervalSince(since) >= Double(g.health.intervalSeconds * g.health.unhealthyThreshold) {
                update(.unhealthy, failure.reason, failure.description)
            } else {
                update(.initial, "Elb.InitialHealthChecking", "Initial health checking in progress")
            }
        } else if o.status.hasPrefix("UP") || o.status.hasPrefix("NOLB") || o.status.hasPrefix("DRAIN") {
            update(.healthy, nil, nil)
        } else if o.status.hasPrefix("DOWN") {
            let f = failure(o) ?? ("Target.FailedHealthChecks", "Health checks failed")
            update(.unhealthy, f.reason, f.description)
        }
        return commands
    }

    /// ELB's reason for a failed check, from HAProxy's check status.
    static func failure(_ o: ObservedServer) -> (reason: String, description: String)? {
        switch o.checkStatus {
        case nil, "INI", "L7OK", "L7OKC", "L4OK", "L6OK": return nil
        case "L7STS": return ("Target.ResponseCodeMismatch", "Health checks failed with these codes: [\(o.checkCode.map(String.init) ?? "?")]")
        case "L4TOUT", "L6TOUT", "L7TOUT": return ("Target.Timeout", "Request timed out")
        default: return ("Target.FailedHealthChecks", "Health checks failed")
        }
    }

    /// Parses `show stat json`: the servers (object type "Server") of the backends named `tg_…`.
    public static func parseStats(_ data: Data) -> [ObservedServer] {
        var out: [ObservedServer] = []
        for row in HAProxyStats.rows(data) {
            guard row.type == "Server", let backend = row.string("pxname"), backend.hasPrefix("tg_"), let name = row.string("svname") else { continue }
            out.append(ObservedServer(backend: backend, name: name, status: row.string("status") ?? "", checkStatus: row.string("check_status"),
                                      checkCode: row.int("check_code"), weight: row.int("weight") ?? 1, checkHealth: row.int("check_health"),
                                      checkRise: row.int("check_rise")))
        }
        return out
    }
}

/// HAProxy's `show stat json`: one array of fields per proxy, frontend, backend and server row, read once here for
/// the servers' health (`TargetPlan.parseStats`) and the backends' request counters (`RequestCounts.totals`).
struct HAProxyStats {
    var type: String
    var fields: [String: any Sendable]

    static func rows(_ data: Data) -> [HAProxyStats] {
        guard let rows = try? JSONSerialization.jsonObject(with: data) as? [[[String: Any]]] else { return [] }
        return rows.map { row in
            var stats = HAProxyStats(type: "", fields: [:])
            for field in row {
                if let type = field["objType"] as? String { stats.type = type }
                guard let name = (field["field"] as? [String: Any])?["name"] as? String,
                      let value = (field["value"] as? [String: Any])?["value"] else { continue }
                if let number = value as? NSNumber { stats.fields[name] = number.intValue } else if let text = value as? String { stats.fields[name] = text }
            }
            return stats
        }
    }

    func string(_ key: String) -> String? { fields[key] as? String }
    func int(_ key: String) -> Int? { (fields[key] as? Int) ?? string(key).flatMap { Int($0) } }
}
