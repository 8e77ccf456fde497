import StowageModel
import Testing

@Suite struct OutboundPolicyTests {
    func refused(_ text: String, _ policy: OutboundPolicy = OutboundPolicy()) -> String? {
        guard let address = CIDR.address(text) else { Issue.record("\(text) does not parse"); return nil }
        return policy.refusal(address)?.description
    }

    @Test func theControlPlanesOwnNetworksAreRefused() {
        #expect(refused("127.0.0.1") == "127.0.0.0/8")
        #expect(refused("10.1.2.3") == "10.0.0.0/8")
        #expect(refused("172.31.255.255") == "172.16.0.0/12")
        #expect(refused("192.168.0.10") == "192.168.0.0/16")
        #expect(refused("169.254.169.254") == "169.254.0.0/16", "the cloud metadata service")
        #expect(refused("100.64.0.1") == "100.64.0.0/10")
        #expect(refused("0.0.0.0") == "0.0.0.0/8")
        #expect(refused("::1") == "0:0:0:0:0:0:0:1/128")
        #expect(refused("fd00:ec2::254") == "fc00:0:0:0:0:0:0:0/7", "the IPv6 metadata service")
        #expect(refused("fe80::1") != nil)
        #expect(refused("::ffff:127.0.0.1") == "127.0.0.0/8", "IPv4-mapped IPv6 is judged as IPv4")
        #expect(refused("64:ff9b::a9fe:a9fe") == "169.254.0.0/16", "NAT64 is judged as IPv4")
    }

    @Test func publicAddressesPass() {
        #expect(refused("93.184.216.34") == nil)
        #expect(refused("172.32.0.1") == nil, "just outside 172.16.0.0/12")
        #expect(refused("2606:2800:220:1:248:1893:25c8:1946") == nil)
    }

    @Test func theOperatorMayAllowARange() throws {
        let ranges = try OutboundPolicy.parseList("127.0.0.1/32, 10.0.0.0/8").get()
        let policy = OutboundPolicy(allowed: ranges)
        #expect(refused("127.0.0.1", policy) == nil)
        #expect(refused("127.0.0.2", policy) == "127.0.0.0/8", "only the allowed address, not its whole range")
        #expect(refused("10.9.9.9", policy) == nil)
        #expect(refused("192.168.1.1", policy) != nil)
        #expect(throws: OutboundPolicyError.self) { try OutboundPolicy.parseList("10.0.0.0/8,bogus").get() }
        #expect(throws: OutboundPolicyError.self) { try OutboundPolicy.parseList("10.0.0.0/33").get() }
    }
}
