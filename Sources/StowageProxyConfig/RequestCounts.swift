import Foundation

/// The HTTP requests each target group answered, from HAProxy's counters. HAProxy keeps running totals per
/// backend that restart at zero when it reloads; the supervisor turns them into counts per interval here, which
/// it publishes as the target group's `AWS/ApplicationELB` `RequestCount` (the console's request charts).
public struct RequestCounts: Sendable, Equatable {
    /// Backend name -> the total seen last.
    var last: [String: Int] = [:]
    /// Target-group id -> requests counted and not yet published.
    public private(set) var pending: [String: Int] = [:]

    public init() {}

    /// Each target group backend's (`tg_<id>`) running request total in `show stat json`: `req_tot` of the
    /// backend row (HTTP mode), or its session total where HAProxy gives no request count.
    public static func totals(_ data: Data) -> [String: Int] {
        var out: [String: Int] = [:]
        for row in HAProxyStats.rows(data) {
            guard row.type == "Backend", let backend = row.string("pxname"), backend.hasPrefix("tg_"),
                  let total = row.int("req_tot") ?? row.int("stot") else { continue }
            out[backend] = total
        }
        return out
    }

    /// Adds what each backend answered since the last observation to `pending`. A total below the last one is a
    /// reloaded HAProxy's fresh counter: all of it is new. A backend seen for the first time only sets its base.
    public mutating func observe(_ totals: [String: Int]) {
        for (backend, total) in totals {
            defer { last[backend] = total }
            guard let before = last[backend] else { continue }
            let delta = total >= before ? total - before : total
            guard delta > 0 else { continue }
            pending[String(backend.dropFirst(3)), default: 0] += delta
        }
        // Backends that are gone (their group no longer served) are forgotten: memory stays bounded by the groups served.
        for backend in last.keys where totals[backend] == nil { last[backend] = nil }
    }

    /// Puts back counts that could not be published, for the next attempt.
    public mutating func restore(_ counts: [String: Int]) {
        for (group, count) in counts { pending[group, default: 0] += count }
    }

    /// Hands over the pending counts and starts again from zero.
    public mutating func take() -> [String: Int] {
        defer { pending = [:] }
        return pending
    }
}
