import Foundation
import StowageModel

/// Application Auto Scaling's schedule expressions: `at(yyyy-mm-ddThh:mm:ss)`, `rate(N unit)` and
/// `cron(minutes hours day-of-month month day-of-week year)`, all in UTC.
public enum ScheduleExpression: Sendable, Equatable {
    case at(Int64)
    case rate(seconds: Int64)
    case cron(CronFields)

    public static func parse(_ text: String) throws(ScheduleError) -> ScheduleExpression {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard t.hasSuffix(")"), let open = t.firstIndex(of: "(") else {
            throw ScheduleError("Schedule must be at(...), rate(...) or cron(...), got '\(text)'.")
        }
        let kind = t[..<open]
        let body = String(t[t.index(after: open)..<t.index(before: t.endIndex)])
        switch kind {
        case "at":
            guard let nanos = UTCTime.parseRFC3339(body + (body.hasSuffix("Z") ? "" : "Z")) else {
                throw ScheduleError("at() takes a UTC time like 2026-11-21T08:00:00, got '\(body)'.")
            }
            return .at(nanos / 1_000_000_000)
        case "rate":
            let parts = body.split(separator: " ")
            guard parts.count == 2, let n = Int64(parts[0]), n > 0 else {
                throw ScheduleError("rate() takes a positive number and a unit, like rate(5 minutes), got '\(body)'.")
            }
            let unit: Int64
            switch parts[1] {
            case "minute", "minutes": unit = 60
            case "hour", "hours": unit = 3600
            case "day", "days": unit = 86400
            default: throw ScheduleError("rate() units are minute(s), hour(s) or day(s), got '\(parts[1])'.")
            }
            guard (n == 1) == !parts[1].hasSuffix("s") else {
                throw ScheduleError("rate(\(body)): use the singular unit for 1 and the plural otherwise.")
            }
            return .rate(seconds: n * unit)
        case "cron":
            return .cron(try CronFields(body))
        default:
            throw ScheduleError("Schedule must be at(...), rate(...) or cron(...), got '\(text)'.")
        }
    }

    /// The first firing strictly after `after` (epoch seconds); `anchor` is when a rate schedule began.
    public func next(after: Int64, anchor: Int64) -> Int64? {
        switch self {
        case .at(let t): return t > after ? t : nil
        case .rate(let seconds):
            guard after >= anchor else { return anchor + seconds }
            return anchor + ((after - anchor) / seconds + 1) * seconds
        case .cron(let fields): return fields.next(after: after)
        }
    }
}

public struct ScheduleError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The six fields of an AWS cron expression, each as the set of values it allows (nil: any).
public struct CronFields: Sendable, Equatable {
    public var minutes: Set<Int>?
    public var hours: Set<Int>?
    public var daysOfMonth: Set<Int>?
    public var months: Set<Int>?
    /// 1 = Sunday … 7 = Saturday, as AWS numbers them.
    public var daysOfWeek: Set<Int>?
    public var years: Set<Int>?

    static let monthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    static let dayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]

    init(_ body: String) throws(ScheduleError) {
        let f = body.split(separator: " ").map(String.init)
        guard f.count == 6 else { throw ScheduleError("cron() takes six fields (minutes hours day-of-month month day-of-week year), got \(f.count).") }
        minutes = try Self.field(f[0], "minutes", 0...59, names: [])
        hours = try Self.field(f[1], "hours", 0...23, names: [])
        daysOfMonth = try Self.field(f[2], "day-of-month", 1...31, names: [])
        months = try Self.field(f[3], "month", 1...12, names: Self.monthNames)
        daysOfWeek = try Self.field(f[4], "day-of-week", 1...7, names: Self.dayNames)
        years = try Self.field(f[5], "year", 1970...2199, names: [])
        guard f[2] == "?" || f[4] == "?" else {
            throw ScheduleError("cron(): one of day-of-month and day-of-week must be '?'.")
        }
    }

    static func field(_ text: String, _ name: String, _ range: ClosedRange<Int>, names: [String]) throws(ScheduleError) -> Set<Int>? {
        if text == "*" || text == "?" { return nil }
        func value(_ s: Substring) throws(ScheduleError) -> Int {
            if let i = names.firstIndex(of: s.uppercased()) { return i + range.lowerBound }
            guard let v = Int(s), range.contains(v) else {
                throw ScheduleError("cron(): '\(s)' is not a valid \(name) (\(range.lowerBound)-\(range.upperBound)).")
            }
            return v
        }
        var out = Set<Int>()
        for part in text.split(separator: ",") {
            let stepParts = part.split(separator: "/")
            guard stepParts.count <= 2, let base = stepParts.first else { throw ScheduleError("cron(): bad \(name) '\(part)'.") }
            var step = 1
            if stepParts.count == 2 {
                guard let s = Int(stepParts[1]), s > 0 else { throw ScheduleError("cron(): bad step in \(name) '\(part)'.") }
                step = s
            }
            var lo: Int, hi: Int
            if base == "*" { lo = range.lowerBound; hi = range.upperBound }
            else if let dash = base.firstIndex(of: "-") {
                lo = try value(base[..<dash]); hi = try value(base[base.index(after: dash)...])
                guard lo <= hi else { throw ScheduleError("cron(): range \(base) in \(name) runs backwards.") }
            } else {
                lo = try value(base); hi = stepParts.count == 2 ? range.upperBound : lo
            }
            out.formUnion(stride(from: lo, through: hi, by: step))
        }
        return out
    }

    /// The next matching minute after `after`, searching up to five years ahead.
    public func next(after: Int64) -> Int64? {
        var t = (after / 60 + 1) * 60
        let limit = after + 5 * 366 * 86400
        while t <= limit {
            let days = Int(t / 86400)
            let (y, m, d) = UTCTime.civil(days: days)
            let weekday = ((days + 4) % 7 + 7) % 7 + 1  // 1970-01-01 was a Thursday (5).
            if years.map({ $0.contains(y) }) ?? true, months.map({ $0.contains(m) }) ?? true,
               daysOfMonth.map({ $0.contains(d) }) ?? true, daysOfWeek.map({ $0.contains(weekday) }) ?? true
            {
                let minuteOfDay = Int(t % 86400) / 60
                for minute in minuteOfDay..<1440 where (hours?.contains(minute / 60) ?? true) && (minutes?.contains(minute % 60) ?? true) {
                    return Int64(days) * 86400 + Int64(minute) * 60
                }
            }
            t = (Int64(days) + 1) * 86400
        }
        return nil
    }
}
