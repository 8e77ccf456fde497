import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Which addresses the control plane may call on a tenant's behalf (alarm webhooks): never its own network
/// (loopback, private, link-local, the cloud metadata address) unless the operator allows a range, so a
/// tenant cannot use Stowage to reach what only Stowage can reach (server-side request forgery).
public struct OutboundPolicy: Sendable, Equatable {
    /// An address range, IPv4 or IPv6, as bytes and a prefix length.
    public struct Range: Sendable, Equatable, CustomStringConvertible {
        public var bytes: [UInt8]
        public var prefix: Int

        /// Parses `10.0.0.0/8`, `fd00::/8` or a bare address (a range of one).
        public init?(_ text: String) {
            let parts = text.trimmingCharacters(in: .whitespaces).split(separator: "/", maxSplits: 1)
            guard let first = parts.first, let bytes = OutboundPolicy.parse(String(first)) else { return nil }
            let length = parts.count == 2 ? Int(parts[1]) : bytes.count * 8
            guard let length, (0...(bytes.count * 8)).contains(length) else { return nil }
            self.bytes = bytes
            self.prefix = length
        }

        public func contains(_ address: [UInt8]) -> Bool {
            guard address.count == bytes.count else { return false }
            var left = prefix
            for i in 0..<bytes.count where left > 0 {
                let bits = min(8, left)
                let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
                if address[i] & mask != bytes[i] & mask { return false }
                left -= bits
            }
            return true
        }

        public var description: String { "\(OutboundPolicy.format(bytes))/\(prefix)" }
    }

    /// Ranges that are never called unless allowed: this host, private networks, link-local (with the
    /// 169.254.169.254 metadata service), carrier-grade NAT, multicast, reserved and unspecified addresses.
    public static let forbidden: [Range] = [
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
        "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4",
        "::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8",
    ].compactMap(Range.init)

    /// Ranges the operator allows despite `forbidden` (`--webhook-allow`).
    public var allowed: [Range]

    public init(allowed: [Range] = []) { self.allowed = allowed }

    /// Parses a comma-separated list of ranges; the failure names the first entry that is not one.
    public static func parseList(_ text: String) -> Result<[Range], OutboundPolicyError> {
        var ranges: [Range] = []
        for item in text.split(separator: ",") where !item.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let range = Range(String(item)) else { return .failure(OutboundPolicyError(entry: String(item))) }
            ranges.append(range)
        }
        return .success(ranges)
    }

    /// Nil when the address may be called; otherwise the forbidden range it falls in.
    public func refusal(_ address: [UInt8]) -> Range? {
        var address = address
        // IPv4 carried in IPv6 (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::a.b.c.d) is judged as IPv4.
        if address.count == 16, address[0..<10].allSatisfy({ $0 == 0 }), address[10] == 0xFF, address[11] == 0xFF {
            address = Array(address[12...])
        } else if address.count == 16, address[0..<12] == [0, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0] {
            address = Array(address[12...])
        }
        if allowed.contains(where: { $0.contains(address) }) { return nil }
        return Self.forbidden.first { $0.contains(address) }
    }

    /// An IPv4 or IPv6 address in text, as bytes.
    public static func parse(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        let bare = text.hasPrefix("[") && text.hasSuffix("]") ? String(text.dropFirst().dropLast()) : text
        if inet_pton(AF_INET6, bare, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    public static func format(_ bytes: [UInt8]) -> String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        return stride(from: 0, to: bytes.count, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
            .joined(separator: ":")
    }
}

public struct OutboundPolicyError: Error, Sendable, Equatable, CustomStringConvertible {
    public var entry: String
    public var description: String { "'\(entry)' is not an address or a CIDR range" }
}
