import StowageModel
import Testing

/// Issue 23 item 10: a URL's host read as the C library reads it, so every spelling of a forbidden address is
/// refused when the URL is written.
@Suite struct OutboundLiteralTests {
    @Test func everySpellingOfAnAddressIsRead() {
        #expect(OutboundPolicy.literalAddress("127.0.0.1") == [127, 0, 0, 1])
        #expect(OutboundPolicy.literalAddress("2130706433") == [127, 0, 0, 1], "one decimal number")
        #expect(OutboundPolicy.literalAddress("0x7f000001") == [127, 0, 0, 1], "one hex number")
        #expect(OutboundPolicy.literalAddress("0177.0.0.1") == [127, 0, 0, 1], "octal parts")
        #expect(OutboundPolicy.literalAddress("127.1") == [127, 0, 0, 1], "the last part fills what remains")
        #expect(OutboundPolicy.literalAddress("0x7f.1") == [127, 0, 0, 1])
        #expect(OutboundPolicy.literalAddress("169.254.43518") == [169, 254, 169, 254])
        #expect(OutboundPolicy.literalAddress("[::1]") == Array(repeating: 0, count: 15) + [1])
        #expect(OutboundPolicy.literalAddress("fe80::1%eth0")?.first == 0xFE, "a zone is not part of the address")
        for name in ["example.com", "127.0.0.1.nip.io", "1.2.3.4.5", "256.1.1.1", "08.1.1.1", "+1.2.3.4", "", "1..2", "0x1g"] {
            #expect(OutboundPolicy.literalAddress(name) == nil, "\(name) is a name (or nothing), judged when called")
        }
    }

    @Test func urlsNamingForbiddenAddressesAreRefusedUnlessAllowed() throws {
        let policy = OutboundPolicy()
        for (url, range) in [("http://127.0.0.2/x", "127.0.0.0/8"), ("http://169.254.169.254/latest", "169.254.0.0/16"),
                             ("http://[::1]/", "0:0:0:0:0:0:0:1/128"), ("http://2130706433/", "127.0.0.0/8"),
                             ("http://[::ffff:127.0.0.1]:8080/", "127.0.0.0/8"), ("https://0x7f.1/", "127.0.0.0/8"),
                             ("http://10.0.0.1:9000/hook", "10.0.0.0/8")] {
            let refusal = try #require(policy.refusal(url: url), "\(url)")
            #expect(refusal.range.description == range)
            #expect(refusal.description.contains(url) && refusal.description.contains(range), "\(refusal)")
        }
        #expect(policy.refusal(url: "https://hooks.example.com/x") == nil, "names are judged when called")
        #expect(policy.refusal(url: "https://93.184.216.34/x") == nil)
        let allowed = OutboundPolicy(allowed: try OutboundPolicy.parseList("127.0.0.1/32").get())
        #expect(allowed.refusal(url: "http://127.0.0.1:9/x") == nil)
        #expect(allowed.refusal(url: "http://2130706433/") == nil, "the allowance holds for every spelling of its address")
        #expect(allowed.refusal(url: "http://127.0.0.2/") != nil)
    }
}
