import Foundation
import StowageModel

/// Brings this host's kernel routes to the task subnets of other hosts to what the control plane says, with
/// iproute2. Only routes marked with the installer's own protocol number (`TaskRouting.agentProtocol` or
/// `balancerProtocol`) are ever changed or removed.
public enum HostRoutes {
    /// Applies the plan for the wanted routes; returns it (what changed, what was skipped and why). Throws when `ip`
    /// cannot be run or refuses a change; the routes applied before stay (a later pass tries again).
    @discardableResult
    public static func converge(_ wanted: [AgentProtocol.TaskRoute], proto: Int, ip: String = "ip") throws -> TaskRouting.Plan {
        let all = Data(try Shell.output([ip, "-j", "-4", "route", "show"]).utf8)
        let ours = Data(try Shell.output([ip, "-j", "-4", "route", "show", "proto", String(proto)]).utf8)
        let addresses = Data(try Shell.output([ip, "-j", "-4", "addr", "show"]).utf8)
        let plan = TaskRouting.plan(wanted: wanted, kernel: TaskRouting.kernelRoutes(allJSON: all, oursJSON: ours),
                                    localAddresses: TaskRouting.localAddresses(addresses))
        var failures: [String] = []
        // Every value below passed TaskRouting.plan's checks (a /24 of the task range, an IPv4 literal) and goes as argv.
        for route in plan.replace {
            do {
                try Shell.run([ip, "route", "replace", route.subnet, "via", route.via, "proto", String(proto)])
            } catch { failures.append("\(route.subnet) via \(route.via): \(error)") }
        }
        for subnet in plan.delete {
            do { try Shell.run([ip, "route", "del", subnet, "proto", String(proto)]) } catch { failures.append("\(subnet): \(error)") }
        }
        if !failures.isEmpty { throw ShellError(message: "task routes not all applied: " + failures.joined(separator: "; ")) }
        return plan
    }

    /// `converge` off the caller's thread: `ip` blocks, and async callers must not hold a cooperative thread.
    public static func convergeInBackground(_ wanted: [AgentProtocol.TaskRoute], proto: Int) async throws -> TaskRouting.Plan {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try converge(wanted, proto: proto) }) }
        }
    }
}
