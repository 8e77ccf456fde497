/// JSON that remembers the line each value starts on, so a policy error can say where it is.
///
/// Foundation's JSONSerialization reports neither lines nor duplicate keys; policies need both.
public struct LocatedJSON: Sendable, Equatable {
    public indirect enum Value: Sendable, Equatable {
        case null
        case bool(Bool)
        case number(String)
        case string(String)
        case array([LocatedJSON])
        case object([Member])
    }

    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: LocatedJSON
    }

    public var value: Value
    public var line: Int

    /// A syntax error with its 1-based line and column.
    public struct SyntaxError: Error, Equatable {
        public var message: String
        public var line: Int
        public var column: Int
    }

    public static func parse(_ text: String) throws(SyntaxError) -> LocatedJSON {
        var reader = Reader(bytes: Array(text.utf8))
        reader.skipSpace()
        let value = try reader.value(depth: 0)
        reader.skipSpace()
        guard reader.at >= reader.bytes.count else { throw reader.error("unexpected text after the document") }
        return value
    }

    struct Reader {
        let bytes: [UInt8]
        var at = 0
        var line = 1
        var lineStart = 0

        func error(_ message: String) -> SyntaxError {
            SyntaxError(message: message, line: line, column: at - lineStart + 1)
        }

        mutating func skipSpace() {
            while at < bytes.count {
                switch bytes[at] {
                case UInt8(ascii: "\n"): at += 1; line += 1; lineStart = at
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"): at += 1
                default: return
                }
            }
        }

        mutating func expect(_ literal: String) throws(SyntaxError) {
            let want = Array(literal.utf8)
            guard at + want.count <= bytes.count, Array(bytes[at..<at + want.count]) == want else {
                throw error("expected '\(literal)'")
            }
            at += want.count
        }

        mutating func value(depth: Int) throws(SyntaxError) -> LocatedJSON {
            guard depth < 64 else { throw error("nesting is too deep") }
            guard at < bytes.count else { throw error("unexpected end of the document") }
            let startLine = line
            switch bytes[at] {
            case UInt8(ascii: "{"):
                at += 1
                var members: [Member] = []
                var seen = Set<String>()
                skipSpace()
                if at < bytes.count, bytes[at] == UInt8(ascii: "}") { at += 1; return LocatedJSON(value: .object([]), line: startLine) }
                while true {
                    skipSpace()
                    guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") else { throw error("expected a quoted member name") }
                    let keyLine = line
                    let key = try string()
                    guard seen.insert(key).inserted else {
                        throw SyntaxError(message: "duplicate member \"\(key)\"", line: keyLine, column: 1)
                    }
                    skipSpace()
                    try expect(":")
                    skipSpace()
                    var member = try value(depth: depth + 1)
                    if member.line < keyLine { member.line = keyLine }
                    members.append(Member(key: key, value: member))
                    skipSpace()
                    guard at < bytes.count else { throw error("unexpected end of the document inside an object") }
                    if bytes[at] == UInt8(ascii: ",") { at += 1; continue }
                    if bytes[at] == UInt8(ascii: "}") { at += 1; break }
                    throw error("expected ',' or '}'")
                }
                return LocatedJSON(value: .object(members), line: startLine)
            case UInt8(ascii: "["):
                at += 1
                var items: [LocatedJSON] = []
                skipSpace()
                if at < bytes.count, bytes[at] == UInt8(ascii: "]") { at += 1; return LocatedJSON(value: .array([]), line: startLine) }
                while true {
                    skipSpace()
                    items.append(try value(depth: depth + 1))
                    skipSpace()
                    guard at < bytes.count else { throw error("unexpected end of the document inside an array") }
                    if bytes[at] == UInt8(ascii: ",") { at += 1; continue }
                    if bytes[at] == UInt8(ascii: "]") { at += 1; break }
                    throw error("expected ',' or ']'")
                }
                return LocatedJSON(value: .array(items), line: startLine)
            case UInt8(ascii: "\""):
                return LocatedJSON(value: .string(try string()), line: startLine)
            case UInt8(ascii: "t"): try expect("true"); return LocatedJSON(value: .bool(true), line: startLine)
            case UInt8(ascii: "f"): try expect("false"); return LocatedJSON(value: .bool(false), line: startLine)
            case UInt8(ascii: "n"): try expect("null"); return LocatedJSON(value: .null, line: startLine)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                let start = at
                while at < bytes.count, "+-.eE0123456789".utf8.contains(bytes[at]) { at += 1 }
                let text = String(decoding: bytes[start..<at], as: UTF8.self)
                guard Double(text) != nil else { throw error("'\(text)' is not a number") }
                return LocatedJSON(value: .number(text), line: startLine)
            default:
                throw error("unexpected character '\(String(decoding: [bytes[at]], as: UTF8.self))'")
            }
        }

        mutating func string() throws(SyntaxError) -> String {
            at += 1
            var out: [UInt8] = []
            while at < bytes.count {
                let byte = bytes[at]
                switch byte {
                case UInt8(ascii: "\""):
                    at += 1
                    return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard at + 1 < bytes.count else { throw error("unterminated escape") }
                    let next = bytes[at + 1]
                    at += 2
                    switch next {
                    case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
                    case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
                    case UInt8(ascii: "/"): out.append(UInt8(ascii: "/"))
                    case UInt8(ascii: "b"): out.append(8)
                    case UInt8(ascii: "f"): out.append(12)
                    case UInt8(ascii: "n"): out.append(10)
                    case UInt8(ascii: "r"): out.append(13)
                    case UInt8(ascii: "t"): out.append(9)
                    case UInt8(ascii: "u"):
                        guard at + 4 <= bytes.count, let code = UInt32(String(decoding: bytes[at..<at + 4], as: UTF8.self), radix: 16) else {
                            throw error("invalid \\u escape")
                        }
                        at += 4
                        out.append(contentsOf: Array(String(Character(Unicode.Scalar(code) ?? "\u{FFFD}")).utf8))
                    default: throw error("invalid escape")
                    }
                case UInt8(ascii: "\n"):
                    throw error("line break inside a string")
                default:
                    out.append(byte)
                    at += 1
                }
            }
            throw error("unterminated string")
        }
    }
}
