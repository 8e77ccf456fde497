import Foundation

/// An IPv4 or IPv6 address or block: IAM's IpAddress conditions and aws:SourceIp, and the ranges outbound calls
/// may or may not reach (OutboundPolicy).
public struct CIDR: Sendable, Equatable, CustomStringConvertible {
    public var bytes: [UInt8]
    public var prefix: Int

    public init?(_ text: String) {
        let text = text.trimmingCharacters(in: .whitespaces)
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = Self.address(String(parts[0])) else { return nil }
        bytes = address
        if parts.count == 2 {
            guard let p = Int(parts[1]), (0...address.count * 8).contains(p) else { return nil }
            prefix = p
        } else {
            prefix = address.count * 8
        }
    }

    public func contains(_ other: [UInt8]) -> Bool {
        var candidate = other
        // An IPv4 client seen through an IPv6 socket (::ffff:a.b.c.d) still matches IPv4 blocks.
        if bytes.count == 4, candidate.count == 16, candidate.prefix(12) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] {
            candidate = Array(candidate.suffix(4))
        }
        guard candidate.count == bytes.count else { return false }
        for bit in 0..<prefix {
            let mask = UInt8(0x80 >> (bit % 8))
            if bytes[bit / 8] & mask != candidate[bit / 8] & mask { return false }
        }
        return true
    }

    public var description: String { "\(Self.format(bytes))/\(prefix)" }

    /// An address's bytes as text: dotted IPv4, or IPv6 groups in hex (uncompressed).
    public static func format(_ bytes: [UInt8]) -> String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        return stride(from: 0, to: bytes.count, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
            .joined(separator: ":")
    }

    /// An IPv4 or IPv6 address in text (IPv6 possibly in brackets, as in a URL), as bytes.
    public static func address(_ text: String) -> [UInt8]? {
        if text.hasPrefix("["), text.hasSuffix("]") { return address(String(text.dropFirst().dropLast())) }
        if text.contains(":") { return ipv6(text) }
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var out: [UInt8] = []
        for octet in octets {
            guard !octet.isEmpty, octet.count <= 3, let v = UInt8(octet) else { return nil }
            out.append(v)
        }
        return out
    }

    static func ipv6(_ text: String) -> [UInt8]? {
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt8]? {
            guard !part.isEmpty else { return [] }
            var out: [UInt8] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (i, piece) in pieces.enumerated() {
                if i == pieces.count - 1, piece.contains("."), let v4 = address(String(piece)) { out += v4; continue }
                guard !piece.isEmpty, piece.count <= 4, let v = UInt16(piece, radix: 16) else { return nil }
                out += [UInt8(v >> 8), UInt8(v & 0xff)]
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        if halves.count == 1 { return head.count == 16 ? head : nil }
        guard let tail = groups(halves[1]), head.count + tail.count < 16 else { return nil }
        return head + Array(repeating: 0, count: 16 - head.count - tail.count) + tail
    }
}
