import StowageTLS
import Testing

/// Whether a host stays on this machine is decided by what it resolves to, not by how it is spelled.
@Suite struct HostAddressesTests {
    @Test func loopbackIsWhatTheNameResolvesTo() async {
        #expect(await HostAddresses.loopback("127.0.0.1") == "127.0.0.1")
        #expect(await HostAddresses.loopback("127.9.9.9") == "127.9.9.9")
        #expect(await HostAddresses.loopback("localhost") != nil)
        #expect(await HostAddresses.loopback("[::1]") == "[::1]")
        #expect(await HostAddresses.loopback("10.0.0.1") == nil)
        #expect(await HostAddresses.loopback("localhost.evil.invalid") == nil, "a name that starts with localhost is not this machine")
        #expect(HostAddresses.isLoopback([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 127, 0, 0, 1]))
        #expect(!HostAddresses.isLoopback([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 10, 0, 0, 1]))
    }
}
