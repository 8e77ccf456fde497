import Foundation

/// Which addresses the control plane may call on a tenant's behalf (alarm webhooks): never its own network
/// (loopback, private, link-local, the cloud metadata address) unless the operator allows a range, so a
/// tenant cannot use Stowage to reach what only Stowage can reach (server-side request forgery).
public struct OutboundPolicy: Sendable, Equatable {
    /// Ranges that are never called unless allowed: this host, private networks, link-local (with the
    /// 169.254.169.254 metadata service), carrier-grade NAT, multicast, reserved and unspecified addresses.
    public static let forbidden: [CIDR] = [
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
        "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4",
        "::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8",
    ].compactMap(CIDR.init)

    /// Ranges the operator allows despite `forbidden` (`--webhook-allow`).
    public var allowed: [CIDR]

    public init(allowed: [CIDR] = []) { self.allowed = allowed }

    /// Parses a comma-separated list of ranges; the failure names the first entry that is not one.
    public static func parseList(_ text: String) -> Result<[CIDR], OutboundPolicyError> {
        var ranges: [CIDR] = []
        for item in text.split(separator: ",") where !item.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let range = CIDR(String(item)) else { return .failure(OutboundPolicyError(entry: String(item))) }
            ranges.append(range)
        }
        return .success(ranges)
    }

    /// Nil when the address may be called; otherwise the forbidden range it falls in.
    public func refusal(_ address: [UInt8]) -> CIDR? {
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
}

public struct OutboundPolicyError: Error, Sendable, Equatable, CustomStringConvertible {
    public var entry: String
    public var description: String { "'\(entry)' is not an address or a CIDR range" }
}
