import Foundation
import StowageModel

/// The one way a value reaches HAProxy, in its configuration file or on its runtime socket.
///
/// HAProxy's configuration parser expands `"${VAR}"` from its environment inside double quotes, starts a comment at an
/// unescaped `#`, splits arguments at spaces and ends a statement at a line break; its runtime API runs each
/// `;`-separated command with admin rights. Every value Stowage renders is therefore either rebuilt from what it
/// means (an address from its bytes, a number from an Int) or quoted here, and anything that cannot be written
/// safely is refused with the reason, so a tenant's text never becomes HAProxy syntax.
public enum HAProxyText {
    public struct Refused: Error, Sendable, Equatable, CustomStringConvertible {
        public var what: String
        public var value: String
        public var reason: String
        public var description: String { "\(what) '\(value.debugDescription.dropFirst().dropLast())' \(reason)" }
    }

    /// Characters HAProxy allows in proxy, server and ACL names.
    static func isNameCharacter(_ u: Unicode.Scalar) -> Bool {
        u.isASCII && (CharacterSet.alphanumerics.contains(u) || "_-.:".unicodeScalars.contains(u))
    }

    /// A proxy, server or ACL name: only HAProxy's name characters, never quoted (the runtime API cannot unquote).
    public static func name(_ text: String, what: String = "name") throws(Refused) -> String {
        guard (1...200).contains(text.unicodeScalars.count), text.unicodeScalars.allSatisfy(isNameCharacter) else {
            throw Refused(what: what, value: text, reason: "is not 1 to 200 letters, digits, '_', '-', '.' or ':'")
        }
        return text
    }

    /// An identifier made name-safe reversibly: letters and digits stay, every other byte becomes `_XX` (its hex),
    /// `_` included, so two different identifiers never give the same name.
    public static func escapedName(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            let u = Unicode.Scalar(byte)
            if u.isASCII, CharacterSet.alphanumerics.contains(u) {
                out.unicodeScalars.append(u)
            } else {
                out += "_" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }

    /// An IP address as HAProxy reads it, rebuilt from its bytes: dotted IPv4, or `ipv6@` and the groups, so no text
    /// of the caller's passes through. Host names are refused: a target is an address.
    public static func address(_ text: String, what: String = "address") throws(Refused) -> String {
        guard !text.contains("/"), let bytes = CIDR.address(text) else {
            throw Refused(what: what, value: text, reason: "is not an IPv4 or IPv6 address")
        }
        return bytes.count == 4 ? CIDR.format(bytes) : "ipv6@" + CIDR.format(bytes)
    }

    /// `address:port` for a `server` line or `add server`.
    public static func endpoint(_ address: String, _ port: Int, what: String = "target") throws(Refused) -> String {
        "\(try self.address(address, what: what)):\(try self.port(port, what: what + " port"))"
    }

    public static func port(_ port: Int, what: String = "port") throws(Refused) -> String {
        try integer(port, in: 1...65_535, what: what)
    }

    public static func integer(_ value: Int, in range: ClosedRange<Int>, what: String) throws(Refused) -> String {
        guard range.contains(value) else { throw Refused(what: what, value: String(value), reason: "is not from \(range.lowerBound) to \(range.upperBound)") }
        return String(value)
    }

    /// A health-check path: `/` then URI characters only, strong-quoted besides (a `'` is one of them).
    public static func uriPath(_ path: String) throws(Refused) -> String {
        guard path.hasPrefix("/"), (1...1024).contains(path.unicodeScalars.count),
              path.unicodeScalars.allSatisfy({ ELB.uriCharacters.contains($0) }) else {
            throw Refused(what: "health check path", value: path, reason: "must begin with '/' and hold only URI characters")
        }
        return try argument(path, what: "health check path")
    }

    /// Any text as one configuration argument, taken literally: runs of it strong-quoted (`'…'`, inside which HAProxy
    /// interprets nothing: no `$` expansion, no `#` comment, no escapes), a `'` written `\'` and control characters
    /// written `\xHH` between the runs. NUL is refused: HAProxy's strings end at it.
    public static func argument(_ text: String, what: String = "value") throws(Refused) -> String {
        guard !text.isEmpty else { return "''" }
        var out = ""
        var quoted = false
        func open() { if !quoted { out += "'"; quoted = true } }
        func close() { if quoted { out += "'"; quoted = false } }
        for u in text.unicodeScalars {
            switch u.value {
            case 0: throw Refused(what: what, value: text, reason: "holds a NUL character")
            case 0x27:
                close()
                out += "\\'"
            case 0x01...0x1F, 0x7F:
                close()
                out += "\\x" + String(u.value, radix: 16).leftPadded(to: 2)
            default:
                open()
                out.unicodeScalars.append(u)
            }
        }
        close()
        return out
    }

    /// One argument of a runtime API command: the socket splits at spaces and runs each `;`-separated command, and
    /// cannot unquote, so only name characters, digits and the punctuation of addresses pass.
    public static func runtimeArgument(_ text: String) throws(Refused) -> String {
        guard !text.isEmpty, text.unicodeScalars.allSatisfy({ isNameCharacter($0) || "/@[]".unicodeScalars.contains($0) }) else {
            throw Refused(what: "runtime argument", value: text, reason: "holds characters the runtime API would interpret")
        }
        return text
    }

    /// A runtime API command from its words, each checked; never two commands.
    public static func command(_ words: [String]) throws(Refused) -> String {
        var out: [String] = []
        for word in words { out.append(try runtimeArgument(word)) }
        return out.joined(separator: " ")
    }

    /// An ALB wildcard pattern (`*` any run, `?` one character) as an anchored PCRE whose cost is linear in the
    /// subject. `*a*b*c` as `.*a.*b.*c` backtracks polynomially in PCRE (one tenant's rule would stall the shared
    /// HAProxy); the first occurrence of each middle segment is always a good choice for a wildcard, so each is
    /// found once inside an atomic group and never revisited. `any` is what `*` and `?` stand for (`.`, or `[^&]`
    /// inside one query parameter).
    public static func wildcardRegex(_ pattern: String, any: String = ".", anchored: Bool = true) -> String {
        let segments = pattern.split(separator: "*", omittingEmptySubsequences: false).map { segment in
            segment.map { ch -> String in
                switch ch {
                case "?": return any
                case _ where "\\^$.|+()[]{}".contains(ch): return "\\" + String(ch)
                default: return String(ch)
                }
            }.joined()
        }
        var out = anchored ? "^" : ""
        out += segments[0]
        if segments.count > 1 {
            for middle in segments.dropFirst().dropLast() where !middle.isEmpty {
                out += "(?>\(any)*?\(middle))"
            }
            out += "\(any)*" + segments[segments.count - 1]
        }
        return out + (anchored ? "$" : "")
    }
}

extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: Swift.max(0, width - count)) + self }
}
