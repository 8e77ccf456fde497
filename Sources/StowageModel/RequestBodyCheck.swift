import Foundation

/// Checks a JSON request body before it is decoded, against what the store can hold, so that bad input is a
/// 400 naming the member instead of a 500 from PostgreSQL (or a job that fails forever).
///
/// One pass over the bytes, keeping the member path: NUL characters and unpaired UTF-16 surrogates in
/// strings, duplicate member names, nesting deeper than `maxDepth`, and numbers that are not the integers
/// the AWS shapes declare. The AWS models declare every number an `integer` (32 bits) except the members in
/// `wideNumberMembers` (`long`, `double`), which a test keeps equal to botocore's models.
public enum RequestBodyCheck {
    /// How numbers are judged.
    public enum Numbers: Sendable {
        /// As the AWS shapes say: integers within 32 bits except the members in `wideNumberMembers`.
        case awsShapes
        /// Any JSON number (the agent's own protocol carries 64-bit counters and timestamps).
        case any
    }

    /// How NUL characters in strings are treated.
    public enum NUL: Sendable {
        /// Refused with a 400 naming the member.
        case refuse
        /// Replaced by U+FFFD in place (the escape has the same length), and counted: the agent's log lines
        /// and reports carry what containers printed, and one NUL must not lose the rest of a shipment.
        case replace
    }

    public static let maxDepth = 32

    /// Members whose AWS shape is `long`, `double` or `timestamp` (or a list of them) in the ECS, CloudWatch
    /// Logs, CloudWatch and Application Auto Scaling request shapes, first letter lowercased (the REST API
    /// spells CloudWatch's members in camelCase); every other number member is a 32-bit integer.
    public static let wideNumberMembers: Set<String> = [
        "after", "anomalyVisibilityTime", "before", "canaryPercent", "counts", "defaultValue", "doubleValue", "drainPercent",
        "endDate", "endEventTime", "endTime", "executionStoppedAt", "expireDate", "from", "longValue", "max", "maximum",
        "metricIntervalLowerBound", "metricIntervalUpperBound", "min", "minimum", "pullStartedAt", "pullStoppedAt",
        "sampleCount", "scheduleEndTime", "scheduleStartTime", "startDate", "startEventTime", "startTime", "startTimeOffset",
        "stepPercent", "sum", "targetValue", "threshold", "time", "timestamp", "to", "value", "values",
    ]

    static func isWide(_ member: String) -> Bool {
        guard let first = member.first else { return false }
        return wideNumberMembers.contains(first.lowercased() + member.dropFirst())
    }

    /// Checks `body`; returns it (with NULs replaced under `.replace`) and how many NULs were replaced.
    public static func check(_ body: Data, numbers: Numbers = .awsShapes, nul: NUL = .refuse) throws(APIError) -> (body: Data, replaced: Int) {
        var scanner = Scanner(bytes: [UInt8](body), numbers: numbers, nul: nul)
        try scanner.run()
        return (scanner.replaced == 0 ? body : Data(scanner.bytes), scanner.replaced)
    }

    /// A text parameter from a path, a query string or a form: NUL and unpaired surrogates refused by name.
    public static func text(_ value: String, member: String) throws(APIError) {
        if value.unicodeScalars.contains("\u{0}") {
            throw .invalidParameter("\(member) must not contain NUL characters (U+0000).")
        }
    }

    struct Scanner {
        var bytes: [UInt8]
        let numbers: Numbers
        let nul: NUL
        var i = 0
        var replaced = 0
        /// Member names and array indices from the root to the current value.
        var path: [String] = []

        init(bytes: [UInt8], numbers: Numbers, nul: NUL) { self.bytes = bytes; self.numbers = numbers; self.nul = nul }

        var where_: String {
            var out = ""
            for part in path {
                if part.hasPrefix("[") { out += part } else { out += out.isEmpty ? part : "." + part }
            }
            return out.isEmpty ? "The request body" : out
        }

        /// The member a number belongs to: the nearest name, skipping array indices.
        var member: String? { path.last { !$0.hasPrefix("[") } }

        mutating func run() throws(APIError) {
            skipSpace()
            guard i < bytes.count else { return }  // empty bodies mean {} to the decoders
            try value(depth: 0)
            skipSpace()
            // Trailing garbage and malformed JSON are the decoder's to report; this pass only looks deeper.
        }

        mutating func skipSpace() {
            while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
        }

        mutating func value(depth: Int) throws(APIError) {
            guard depth <= RequestBodyCheck.maxDepth else {
                throw .serialization("\(where_) is nested deeper than \(RequestBodyCheck.maxDepth) levels.")
            }
            skipSpace()
            guard i < bytes.count else { return }
            switch bytes[i] {
            case UInt8(ascii: "{"):
                i += 1
                var seen = Set<String>()
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return }
                while i < bytes.count {
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { return }
                    let name = try string(isKey: true)
                    guard seen.insert(name).inserted else {
                        path.append(name)
                        defer { path.removeLast() }
                        throw .serialization("\(where_) appears more than once in the same object.")
                    }
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return }
                    i += 1
                    path.append(name)
                    try value(depth: depth + 1)
                    path.removeLast()
                    skipSpace()
                    guard i < bytes.count else { return }
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    if bytes[i] == UInt8(ascii: "}") { i += 1 }
                    return
                }
            case UInt8(ascii: "["):
                i += 1
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return }
                var index = 0
                while i < bytes.count {
                    path.append("[\(index)]")
                    try value(depth: depth + 1)
                    path.removeLast()
                    index += 1
                    skipSpace()
                    guard i < bytes.count else { return }
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    if bytes[i] == UInt8(ascii: "]") { i += 1 }
                    return
                }
            case UInt8(ascii: "\""):
                _ = try string(isKey: false)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                try number()
            default:
                // true, false, null, or something the decoder will call invalid.
                while i < bytes.count, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(bytes[i]) { i += 1 }
            }
        }

        /// Reads a string from the opening quote; returns its text when it is a member name.
        mutating func string(isKey: Bool) throws(APIError) -> String {
            i += 1
            let start = i
            var pendingHigh = false
            var hasEscapes = false
            while i < bytes.count {
                let byte = bytes[i]
                if byte == UInt8(ascii: "\"") {
                    if pendingHigh { throw unpaired(isKey: isKey, start: start) }
                    let raw = bytes[start..<i]
                    i += 1
                    guard isKey else { return "" }
                    if !hasEscapes { return String(decoding: raw, as: UTF8.self) }
                    let quoted = Data([UInt8(ascii: "\"")] + raw + [UInt8(ascii: "\"")])
                    return (try? JSONDecoder().decode(String.self, from: quoted)) ?? String(decoding: raw, as: UTF8.self)
                }
                if byte == UInt8(ascii: "\\") {
                    hasEscapes = true
                    guard i + 1 < bytes.count else { i += 1; continue }
                    if bytes[i + 1] == UInt8(ascii: "u"), i + 5 < bytes.count, let unit = hex4(i + 2) {
                        if (0xDC00...0xDFFF).contains(unit) {
                            guard pendingHigh else { throw unpaired(isKey: isKey, start: start) }
                            pendingHigh = false
                        } else {
                            if pendingHigh { throw unpaired(isKey: isKey, start: start) }
                            if (0xD800...0xDBFF).contains(unit) { pendingHigh = true }
                        }
                        if unit == 0 {
                            if nul == .refuse || isKey {
                                throw .invalidParameter("\(named(isKey: isKey, start: start)) must not contain NUL characters (U+0000).")
                            }
                            // \u0000 -> \uFFFD: six bytes for six bytes.
                            bytes.replaceSubrange(i + 2..<i + 6, with: Array("FFFD".utf8))
                            replaced += 1
                        }
                        i += 6
                        continue
                    }
                    if pendingHigh { throw unpaired(isKey: isKey, start: start) }
                    i += 2
                    continue
                }
                if pendingHigh { throw unpaired(isKey: isKey, start: start) }
                if byte == 0 {
                    throw .invalidParameter("\(named(isKey: isKey, start: start)) must not contain NUL characters (U+0000).")
                }
                i += 1
            }
            return ""
        }

        func named(isKey: Bool, start: Int) -> String {
            guard isKey else { return where_ }
            let name = String(decoding: bytes[start..<min(i, start + 64)], as: UTF8.self)
            return path.isEmpty ? "A member name (\(name))" : "A member name in \(where_)"
        }

        func unpaired(isKey: Bool, start: Int) -> APIError {
            .invalidParameter("\(named(isKey: isKey, start: start)) contains an unpaired UTF-16 surrogate escape; strings must be valid Unicode.")
        }

        func hex4(_ at: Int) -> UInt16? {
            var value: UInt16 = 0
            for k in at..<at + 4 {
                let b = bytes[k]
                let digit: UInt8
                switch b {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - UInt8(ascii: "A") + 10
                default: return nil
                }
                value = value << 4 | UInt16(digit)
            }
            return value
        }

        mutating func number() throws(APIError) {
            let start = i
            while i < bytes.count, "-+.eE0123456789".utf8.contains(bytes[i]) { i += 1 }
            let text = String(decoding: bytes[start..<i], as: UTF8.self)
            guard case .awsShapes = numbers else { return }
            if let member, RequestBodyCheck.isWide(member) {
                if let value = Double(text), !value.isFinite {
                    throw .invalidParameter("\(where_) must be a finite number, got \(text).")
                }
                return
            }
            guard !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) else {
                throw .invalidParameter("\(where_) must be an integer, got \(text).")
            }
            guard let value = Int64(text), (Int64(Int32.min)...Int64(Int32.max)).contains(value) else {
                throw .invalidParameter("\(where_) must be an integer between \(Int32.min) and \(Int32.max), got \(text).")
            }
        }
    }
}
