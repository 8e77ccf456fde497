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

/// Where a load balancer may send a tenant's requests and health checks. Every target's address is the tenant's
/// word (an `ip` target's own, or the address an instance of the tenant's registered), so each passes the outbound
/// policy (no loopback, unspecified, link-local with the metadata address, private ranges unless the operator allows
/// them with `--allow-target-cidr`), and no target may point a request or a check at one of the control plane's own
/// endpoints (its API listeners, its database), whatever the operator allows.
public struct TargetPolicy: Sendable, Equatable {
    public struct Endpoint: Sendable, Equatable {
        public var address: [UInt8]
        public var port: Int
        /// What listens there, for the refusal ("the control plane's database").
        public var what: String
        public init(address: [UInt8], port: Int, what: String) { self.address = address; self.port = port; self.what = what }
    }

    public var outbound: OutboundPolicy
    public var controlPlane: [Endpoint]

    public init(outbound: OutboundPolicy = OutboundPolicy(), controlPlane: [Endpoint] = []) {
        self.outbound = outbound
        self.controlPlane = controlPlane
    }

    /// The policy with more of the control plane's endpoints (other servers' listeners, as they announced them).
    public func adding(_ endpoints: [Endpoint]) -> TargetPolicy {
        var policy = self
        policy.controlPlane += endpoints
        return policy
    }

    /// Nil when traffic and checks may go to `address` on `ports`; otherwise why not, naming the address. A `task`
    /// target (registered for one of the tenant's own awsvpc tasks) may be in the task range, which the outbound
    /// policy otherwise forbids as shared address space; the control plane's endpoints stay refused whatever.
    public func refusal(address text: String, ports: [Int], task: Bool = false) -> String? {
        guard let address = CIDR.address(text) else { return "'\(text)' is not an IPv4 or IPv6 address" }
        let shown = CIDR.format(address)
        let taskRange = task && address.count == 4 && (CIDR(AgentProtocol.taskAddressRange)?.contains(address) ?? false)
        if !taskRange, let range = outbound.refusal(address) {
            return "\(shown) is inside \(range), which targets may not reach unless the operator allows it (--allow-target-cidr)"
        }
        for endpoint in controlPlane where Self.same(endpoint.address, address) && ports.contains(endpoint.port) {
            return "\(shown):\(endpoint.port) is \(endpoint.what)"
        }
        return nil
    }

    /// Two addresses are the same host, IPv4 also when written as IPv4-mapped IPv6; any loopback is any other, and
    /// the unspecified address (0.0.0.0, ::) is this host too.
    static func same(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        func normal(_ x: [UInt8]) -> [UInt8] {
            if x.count == 16, x[0..<10].allSatisfy({ $0 == 0 }), x[10] == 0xFF, x[11] == 0xFF { return Array(x[12...]) }
            return x
        }
        let (x, y) = (normal(a), normal(b))
        let loopback = [CIDR("127.0.0.0/8"), CIDR("::1/128"), CIDR("0.0.0.0/8"), CIDR("::/128")].compactMap { $0 }
        if loopback.contains(where: { $0.contains(x) }), loopback.contains(where: { $0.contains(y) }) { return true }
        return x == y
    }
}
