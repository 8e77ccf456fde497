import ArgumentParser
import Foundation
import StowageModel
import StowageStore
#if canImport(Glibc)
import Glibc
#endif

/// `--allow-target-cidr` on `stowage server` and `stowage lb`: the private ranges load balancer targets may name in
/// this installation. Both sides check (the server when a target is registered, `stowage lb` before HAProxy
/// hears of it), so give both the same list.
struct TargetPolicyOptions: ParsableArguments {
    @Option(name: .customLong("allow-target-cidr"), help: ArgumentHelp(
        "Address ranges ip targets may name although loopback, private or link-local (comma-separated CIDRs, repeatable).",
        discussion: "Also STOWAGE_ALLOW_TARGET_CIDR. Give the servers and `stowage lb` the same list."))
    var allowTargetCIDR: [String] = []

    func validate() throws { _ = try ranges() }

    func ranges() throws -> [CIDR] {
        let given = allowTargetCIDR + [Environment.values["STOWAGE_ALLOW_TARGET_CIDR"] ?? ""]
        var out: [CIDR] = []
        for text in given {
            switch OutboundPolicy.parseList(text) {
            case .success(let ranges): out += ranges
            case .failure(let error): throw ValidationError("--allow-target-cidr: \(error)")
            }
        }
        return out
    }

    /// The policy for a process that knows these control-plane endpoints.
    func policy(database: DatabaseConfig, listening: [(host: String, port: Int)]) throws -> TargetPolicy {
        TargetPolicy(outbound: OutboundPolicy(allowed: try ranges()),
                     controlPlane: ControlPlaneEndpoints.of(database: database, listening: listening))
    }
}

/// The control plane's own endpoints, which no load balancer target or health check may be pointed at: the
/// database, and the API listeners (a wildcard listener stands for every address of this host).
enum ControlPlaneEndpoints {
    static let api = "the control plane's API"

    static func of(database: DatabaseConfig, listening: [(host: String, port: Int)]) -> [TargetPolicy.Endpoint] {
        var out: [TargetPolicy.Endpoint] = []
        if database.socketDirectory == nil {
            for address in resolve(database.host) {
                out.append(.init(address: address, port: database.port, what: "the control plane's database"))
            }
        } else {
            // A database on a Unix socket may still listen on loopback at its port.
            out.append(.init(address: [127, 0, 0, 1], port: database.port, what: "the control plane's database"))
        }
        for (host, port) in listening {
            let addresses = ["0.0.0.0", "::", ""].contains(host) ? localAddresses() : resolve(host)
            for address in addresses { out.append(.init(address: address, port: port, what: api)) }
        }
        return out
    }

    /// The addresses a host name or literal stands for (nothing when it does not resolve now).
    static func resolve(_ host: String) -> [[UInt8]] {
        if let literal = CIDR.address(host) { return [literal] }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0 else { return [] }
        defer { freeaddrinfo(list) }
        var out: [[UInt8]] = []
        var node = list
        while let entry = node?.pointee {
            if let bytes = bytes(entry.ai_addr) { out.append(bytes) }
            node = entry.ai_next
        }
        return out
    }

    /// Every address of this host's interfaces.
    static func localAddresses() -> [[UInt8]] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return [[127, 0, 0, 1]] }
        defer { freeifaddrs(list) }
        var out: [[UInt8]] = []
        var node = list
        while let entry = node?.pointee {
            if let bytes = bytes(entry.ifa_addr) { out.append(bytes) }
            node = entry.ifa_next
        }
        return out
    }

    static func bytes(_ address: UnsafeMutablePointer<sockaddr>?) -> [UInt8]? {
        guard let address else { return nil }
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            return address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                var raw = pointer.pointee.sin_addr
                return withUnsafeBytes(of: &raw) { Array($0) }
            }
        case AF_INET6:
            return address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                var raw = pointer.pointee.sin6_addr
                return withUnsafeBytes(of: &raw) { Array($0) }
            }
        default: return nil
        }
    }
}
