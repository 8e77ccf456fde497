import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a host name resolves to, for decisions made on addresses rather than on spellings (whether a name stays on
/// this machine, say): `localhost.example.com` is not loopback because it starts with `localhost`.
public enum HostAddresses {
    public struct Unresolved: Error, CustomStringConvertible {
        public var host: String
        public var reason: String
        public var description: String { "\(host) does not resolve (\(reason))" }
    }

    /// Every address `getaddrinfo` gives for the host (an address literal gives itself), as 4 or 16 bytes.
    public static func resolve(_ host: String) async throws -> [[UInt8]] {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                var hints = addrinfo()
                hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
                var list: UnsafeMutablePointer<addrinfo>?
                let code = getaddrinfo(bare, nil, &hints, &list)
                guard code == 0 else {
                    continuation.resume(throwing: Unresolved(host: host, reason: String(cString: gai_strerror(code))))
                    return
                }
                defer { freeaddrinfo(list) }
                var out: [[UInt8]] = []
                var node = list
                while let entry = node?.pointee {
                    if entry.ai_family == AF_INET, let address = entry.ai_addr {
                        address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                            var raw = pointer.pointee.sin_addr
                            out.append(withUnsafeBytes(of: &raw) { Array($0) })
                        }
                    } else if entry.ai_family == AF_INET6, let address = entry.ai_addr {
                        address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                            var raw = pointer.pointee.sin6_addr
                            out.append(withUnsafeBytes(of: &raw) { Array($0) })
                        }
                    }
                    node = entry.ai_next
                }
                continuation.resume(returning: out)
            }
        }
    }

    /// 127.0.0.0/8, ::1, and IPv4 loopback written as IPv4-mapped IPv6.
    public static func isLoopback(_ address: [UInt8]) -> Bool {
        if address.count == 4 { return address[0] == 127 }
        guard address.count == 16 else { return false }
        if address[0..<15].allSatisfy({ $0 == 0 }), address[15] == 1 { return true }
        return address[0..<10].allSatisfy { $0 == 0 } && address[10] == 0xFF && address[11] == 0xFF && address[12] == 127
    }

    /// An address as a URL host: dotted IPv4, or IPv6 in brackets.
    public static func urlHost(_ address: [UInt8]) -> String {
        if address.count == 4 { return address.map(String.init).joined(separator: ".") }
        var raw = in6_addr()
        withUnsafeMutableBytes(of: &raw) { $0.copyBytes(from: address.prefix(16)) }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count)) != nil else { return "[::1]" }
        return "[" + String(decoding: text.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self) + "]"
    }

    /// The address to call a host at when every address it resolves to is loopback (so plain HTTP never leaves
    /// the machine), as a URL host; nil when it resolves elsewhere, partly elsewhere, or not at all. Calling the
    /// address returned, not the name again, keeps a second answer from moving the call off the machine.
    public static func loopback(_ host: String) async -> String? {
        guard let addresses = try? await resolve(host), let first = addresses.first, addresses.allSatisfy(isLoopback) else { return nil }
        return urlHost(first)
    }
}
