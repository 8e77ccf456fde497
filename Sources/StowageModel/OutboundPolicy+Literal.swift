import Foundation

/// Hosts that are addresses in any spelling the C library accepts, so a URL can be judged when it is written
/// (names are judged when they are called: what they resolve to can change).
extension OutboundPolicy {
    /// The address a URL host spells, or nil for a name: dotted IPv4, and the shorter and numeric spellings
    /// `inet_aton` (and so `getaddrinfo`) also takes — `2130706433`, `0x7f000001`, `0177.0.0.1`, `127.1` — and
    /// IPv6 with or without brackets or a zone (`[::ffff:127.0.0.1]`, `fe80::1%eth0`).
    public static func literalAddress(_ host: String) -> [UInt8]? {
        var text = host
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        if text.contains(":") {
            if let zone = text.firstIndex(of: "%") { text = String(text[..<zone]) }
            return CIDR.address(text)
        }
        return numericIPv4(text)
    }

    /// `inet_aton`'s forms: one to four parts, each decimal, octal (leading 0) or hex (0x); the last part fills
    /// the bytes that remain.
    static func numericIPv4(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...4).contains(parts.count) else { return nil }
        var values: [UInt64] = []
        for part in parts {
            let lower = part.lowercased()
            let value: UInt64?
            if lower.hasPrefix("0x") {
                value = lower.count > 2 ? UInt64(lower.dropFirst(2), radix: 16) : 0
            } else if lower.count > 1, lower.hasPrefix("0") {
                value = UInt64(lower.dropFirst(), radix: 8)
            } else {
                value = UInt64(lower, radix: 10)
            }
            guard let value, !lower.isEmpty, lower.allSatisfy({ $0.isHexDigit || $0 == "x" }) else { return nil }
            values.append(value)
        }
        guard let last = values.last else { return nil }
        let leading = values.dropLast()
        guard leading.allSatisfy({ $0 <= 0xFF }), last < (UInt64(1) << (8 * UInt64(4 - leading.count))) else { return nil }
        var bytes = leading.map { UInt8($0) }
        let tail = 4 - leading.count
        for shift in (0..<tail).reversed() { bytes.append(UInt8(truncatingIfNeeded: last >> (8 * UInt64(shift)))) }
        return bytes
    }

    /// Why a URL may not be stored as something to call: its host is an address in a forbidden range that the
    /// operator has not allowed. Nil for an allowed address, a name, or text that is not a URL with a host.
    public func refusal(url: String) -> URLRefusal? {
        guard let host = URLComponents(string: url)?.host, let address = Self.literalAddress(host),
              let range = refusal(address) else { return nil }
        return URLRefusal(url: url, host: host, address: address, range: range)
    }
}

/// A URL refused because its host is a forbidden address, with what the message names.
public struct URLRefusal: Sendable, Equatable, CustomStringConvertible {
    public var url: String
    public var host: String
    public var address: [UInt8]
    public var range: CIDR

    public var description: String {
        let spelled = CIDR.format(address)
        let shown = spelled == host || "[\(spelled)]" == host ? host : "\(host) (\(spelled))"
        return "\(url): its host \(shown) is inside \(range), which the control plane does not call on a tenant's behalf"
    }
}
