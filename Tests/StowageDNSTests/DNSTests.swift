import Foundation
import StowageModel
import Testing

@testable import StowageDNS

/// A query as a stub resolver sends it (RD set, one question), built by hand so the parser is tested against bytes.
func query(_ name: String, type: UInt16, id: UInt16 = 0x1234, edns: Bool = false) -> [UInt8] {
    var out: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, edns ? 1 : 0]
    for label in name.split(separator: ".") { out.append(UInt8(label.utf8.count)); out += Array(label.utf8) }
    out += [0, UInt8(type >> 8), UInt8(type & 0xFF), 0, 1]
    if edns { out += [0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0] }
    return out
}

/// The answer section of a response, read back: (type, ttl, rdata) per record, after the header and question.
func records(_ bytes: [UInt8]) -> (code: UInt8, aa: Bool, answers: Int, additional: Int, rdata: [(UInt16, UInt32, [UInt8])]) {
    func u16(_ i: Int) -> UInt16 { UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1]) }
    var i = 12
    while bytes[i] != 0 { i += Int(bytes[i]) + 1 }
    i += 5
    var out: [(UInt16, UInt32, [UInt8])] = []
    for _ in 0..<(Int(u16(6)) + Int(u16(10))) {
        while bytes[i] != 0 { i += Int(bytes[i]) + 1 }
        i += 1
        let type = u16(i), ttl = UInt32(u16(i + 4)) << 16 | UInt32(u16(i + 6)), length = Int(u16(i + 8))
        out.append((type, ttl, Array(bytes[(i + 10)..<(i + 10 + length)])))
        i += 10 + length
    }
    return (bytes[3] & 0x0F, bytes[2] & 0x04 != 0, Int(u16(6)), Int(u16(10)), out)
}

@Suite struct DNSTests {
    let zone = DiscoveryZone([
        ServiceDiscovery.DNSName(namespace: "corp.internal", service: "api",
                                 records: [.init(type: "A", ttl: 10), .init(type: "SRV", ttl: 20)],
                                 instances: [.init(id: "0123abcd", ipv4: "10.0.0.1", port: 32768), .init(id: "4567ef", ipv4: "10.0.0.2", port: 32769)]),
        ServiceDiscovery.DNSName(namespace: "corp.internal", service: "idle", records: [.init(type: "A", ttl: 5)], instances: []),
    ])

    @Test func parsesOneQuestionAndRefusesWhatIsNotAQuery() throws {
        let q = try #require(DNSQuery.parse(query("API.Corp.Internal", type: 1, edns: true)))
        #expect(q.name == "api.corp.internal" && q.type == 1 && q.id == 0x1234)
        #expect(DNSQuery.parse(Array(query("a.b", type: 1).prefix(14))) == nil, "a cut-off question")
        var response = query("a.b", type: 1)
        response[2] |= 0x80
        #expect(DNSQuery.parse(response) == nil, "a response is not a query")
        var pointer = query("a.b", type: 1)
        pointer[12] = 0xC0
        #expect(DNSQuery.parse(pointer) == nil, "a compression pointer in the question")
        #expect(DNSQuery.parse([1, 2, 3]) == nil)
    }

    @Test func answersAAndSRVWithTheHealthyInstances() throws {
        let q = try #require(DNSQuery.parse(query("api.corp.internal", type: DNSQuery.typeA)))
        let a = records(try #require(zone.answer(q)).encode(for: q))
        #expect(a.code == 0 && a.aa && a.answers == 2)
        #expect(Set(a.rdata.map { $0.2 }) == [[10, 0, 0, 1], [10, 0, 0, 2]] && a.rdata.allSatisfy { $0.0 == 1 && $0.1 == 10 })

        let s = try #require(DNSQuery.parse(query("api.corp.internal", type: DNSQuery.typeSRV)))
        let srv = records(try #require(zone.answer(s)).encode(for: s))
        #expect(srv.answers == 2 && srv.additional == 2)
        let ports = srv.rdata.filter { $0.0 == 33 }.map { UInt16($0.2[4]) << 8 | UInt16($0.2[5]) }
        #expect(Set(ports) == [32768, 32769])
        #expect(srv.rdata.filter { $0.0 == 1 }.count == 2, "each SRV target's address rides along")

        let host = try #require(DNSQuery.parse(query("0123abcd.api.corp.internal", type: DNSQuery.typeA)))
        #expect(records(try #require(zone.answer(host)).encode(for: host)).rdata.map { $0.2 } == [[10, 0, 0, 1]])
    }

    @Test func namesUnderTheNamespaceThatMatchNothingAreNXDOMAINAndOthersAreNotOurs() throws {
        let missing = try #require(DNSQuery.parse(query("nope.corp.internal", type: 1)))
        #expect(zone.answer(missing)?.code == .nameError)
        let idle = try #require(DNSQuery.parse(query("idle.corp.internal", type: 1)))
        let empty = try #require(zone.answer(idle))
        #expect(empty.code == .noError && empty.answers.isEmpty, "a service with no healthy instance answers no address")
        let aaaa = try #require(DNSQuery.parse(query("api.corp.internal", type: 28)))
        #expect(zone.answer(aaaa)?.answers.isEmpty == true)
        #expect(zone.answer(try #require(DNSQuery.parse(query("example.com", type: 1)))) == nil)
        #expect(zone.answer(try #require(DNSQuery.parse(query("corp.internal.example.com", type: 1)))) == nil)
    }

    @Test func atMostEightAnswersAndLabelsAreSafe() throws {
        let many = DiscoveryZone([ServiceDiscovery.DNSName(namespace: "n", service: "s", records: [.init(type: "A", ttl: 1)],
                                                           instances: (1...20).map { .init(id: "id:\($0)", ipv4: "10.0.0.\($0)", port: nil) })])
        let q = try #require(DNSQuery.parse(query("s.n", type: 1)))
        #expect(try #require(many.answer(q)).answers.count == 8)
        #expect(DiscoveryZone.label("Web_1.a:b") == "web-1-a-b")
        #expect(DiscoveryZone.label(String(repeating: "x", count: 90)).count == 63)
    }
}
