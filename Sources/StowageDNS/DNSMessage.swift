import Foundation

/// The parts of a DNS query (RFC 1035) the agent's resolver needs: its id, flags and single question.
public struct DNSQuery: Sendable, Equatable {
    public var id: UInt16
    public var flags: UInt16
    /// The name asked for, lowercased, without the trailing dot.
    public var name: String
    public var type: UInt16
    public var qclass: UInt16
    /// The question section exactly as sent (echoed in the answer).
    public var question: [UInt8]

    public static let typeA: UInt16 = 1
    public static let typeSRV: UInt16 = 33
    public static let typeANY: UInt16 = 255
    public static let classIN: UInt16 = 1

    /// Reads a query; nil for anything that is not one standard query with exactly one question, so a
    /// malformed packet is dropped (or forwarded) rather than half-understood.
    public static func parse(_ bytes: [UInt8]) -> DNSQuery? {
        guard bytes.count >= 12, bytes.count <= 4096 else { return nil }
        func u16(_ i: Int) -> UInt16 { UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1]) }
        let flags = u16(2)
        guard flags & 0x8000 == 0, (flags >> 11) & 0xF == 0, u16(4) == 1, u16(6) == 0, u16(8) == 0 else { return nil }
        var i = 12
        var labels: [String] = []
        var total = 0
        while true {
            guard i < bytes.count else { return nil }
            let length = Int(bytes[i])
            i += 1
            if length == 0 { break }
            // Compression pointers and extended label types never appear in a question we answer.
            guard length <= 63, i + length <= bytes.count else { return nil }
            total += length + 1
            guard total <= 255 else { return nil }
            labels.append(String(decoding: bytes[i..<(i + length)], as: UTF8.self).lowercased())
            i += length
        }
        guard i + 4 <= bytes.count else { return nil }
        let type = u16(i), qclass = u16(i + 2)
        return DNSQuery(id: u16(0), flags: flags, name: labels.joined(separator: "."), type: type, qclass: qclass,
                        question: Array(bytes[12..<(i + 4)]))
    }
}

/// A resource record of an answer.
public enum DNSRecord: Sendable, Equatable {
    case a(name: String, ttl: UInt32, address: [UInt8])
    case srv(name: String, ttl: UInt32, priority: UInt16, weight: UInt16, port: UInt16, target: String)
}

/// An answer: its response code, records, and whether this resolver is the authority for the name.
public struct DNSAnswer: Sendable, Equatable {
    /// The response codes the zone gives: an answer (possibly empty), no such name, a class it does not serve.
    public enum Code: UInt16, Sendable { case noError = 0, nameError = 3, refused = 5 }
    public var code: Code
    public var answers: [DNSRecord]
    public var additional: [DNSRecord]
    public var authoritative: Bool

    public init(code: Code, answers: [DNSRecord] = [], additional: [DNSRecord] = [], authoritative: Bool = true) {
        self.code = code; self.answers = answers; self.additional = additional; self.authoritative = authoritative
    }

    /// The response to `query` on the wire: its id, the question echoed, QR set, RD copied, RA set.
    public func encode(for query: DNSQuery) -> [UInt8] {
        var out: [UInt8] = []
        func u16(_ v: UInt16) { out.append(UInt8(v >> 8)); out.append(UInt8(v & 0xFF)) }
        func u32(_ v: UInt32) { u16(UInt16(v >> 16)); u16(UInt16(v & 0xFFFF)) }
        func name(_ text: String) {
            for label in text.split(separator: ".") {
                let bytes = Array(label.utf8.prefix(63))
                out.append(UInt8(bytes.count)); out += bytes
            }
            out.append(0)
        }
        u16(query.id)
        var flags: UInt16 = 0x8000 | (query.flags & 0x0100) | 0x0080 | code.rawValue
        if authoritative { flags |= 0x0400 }
        u16(flags)
        u16(1); u16(UInt16(answers.count)); u16(0); u16(UInt16(additional.count))
        out += query.question
        for record in answers + additional {
            switch record {
            case .a(let owner, let ttl, let address):
                name(owner); u16(DNSQuery.typeA); u16(DNSQuery.classIN); u32(ttl); u16(4); out += address.prefix(4)
            case .srv(let owner, let ttl, let priority, let weight, let port, let target):
                name(owner); u16(DNSQuery.typeSRV); u16(DNSQuery.classIN); u32(ttl)
                let lengthAt = out.count
                u16(0)
                u16(priority); u16(weight); u16(port); name(target)
                let length = out.count - lengthAt - 2
                out[lengthAt] = UInt8(length >> 8); out[lengthAt + 1] = UInt8(length & 0xFF)
            }
        }
        return out
    }
}
