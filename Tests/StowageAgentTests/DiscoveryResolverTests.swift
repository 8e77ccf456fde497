import Foundation
import Logging
import NIOCore
import StowageModel
import Testing
@testable import StowageAgent

/// Issue 23 item 10: the agent's resolver answers only its bridge's clients and takes relayed replies only from
/// the upstream it asked, with real UDP sockets on loopback (127.0.0.2 plays a container, 127.0.0.3 a stranger).
@Suite struct DiscoveryResolverTests {
    /// How long a datagram that must arrive may take: a bound, not a wait (the receive returns on arrival). Generous,
    /// because the whole Swift suite runs in parallel on two cores; the checks that nothing arrives keep their own
    /// short bounds.
    static let arrival: Double = 15
    static func query(id: UInt16, name: String) -> [UInt8] {
        var bytes: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        for label in name.split(separator: ".") { bytes.append(UInt8(label.utf8.count)); bytes += Array(label.utf8) }
        return bytes + [0, 0, 1, 0, 1]
    }

    /// The upstream's answer to `query` (same id and question) with one A record.
    static func reply(to query: [UInt8], address: [UInt8]) -> [UInt8] {
        var bytes = Array(query.prefix(2)) + [0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]
        bytes += query.dropFirst(12)
        return bytes + [0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4] + address
    }

    /// A resolver serving on 127.0.0.1 (a port the kernel picks) that relays to `upstream` and answers `clients`;
    /// `body` gets it and its port, and it stops when `body` returns.
    static func withResolver(upstream: UDPSocket, clients: String, _ body: (DiscoveryResolver, UInt16) async throws -> Void) async throws {
        let resolver = DiscoveryResolver(listen: try SocketAddress(ipAddress: "127.0.0.1", port: 0),
                                         upstream: try SocketAddress(ipAddress: "127.0.0.1", port: Int(upstream.port)),
                                         clients: [CIDR(clients)].compactMap { $0 }, logger: Logger(label: "test.resolver"))
        let channel = try await resolver.bind()
        let port = try #require(channel.channel.localAddress?.port)
        let serving = Task { try await resolver.serve(channel) }
        defer { serving.cancel(); channel.channel.close(promise: nil) }
        try await body(resolver, UInt16(port))
    }

    @Test func strangersGetNothingAndOnlyTheAskedUpstreamIsBelieved() async throws {
        let upstream = try UDPSocket(host: "127.0.0.1")
        let impostor = try UDPSocket(host: "127.0.0.1")
        try await Self.withResolver(upstream: upstream, clients: "127.0.0.2/32") { resolver, port in
            // A container's query is relayed; a reply from another port arrives first and is ignored.
            let container = try UDPSocket(host: "127.0.0.2")
            container.send(Self.query(id: 0x1234, name: "example.test"), to: "127.0.0.1", port: port)
            let relayed = try #require(await upstream.receive(timeout: Self.arrival), "the resolver relays the container's query")
            #expect(relayed.host == "127.0.0.1")
            impostor.send(Self.reply(to: relayed.bytes, address: [6, 6, 6, 6]), to: relayed.host, port: relayed.port)
            try await Task.sleep(for: .milliseconds(200))
            upstream.send(Self.reply(to: relayed.bytes, address: [192, 0, 2, 1]), to: relayed.host, port: relayed.port)
            let answer = try #require(await container.receive(timeout: Self.arrival), "the container gets an answer")
            #expect(Array(answer.bytes.prefix(2)) == [0x12, 0x34], "with its own query id back")
            #expect(Array(answer.bytes.suffix(4)) == [192, 0, 2, 1], "the upstream's answer, not the impostor's")
            #expect(resolver.snapshot.forged == 1 && resolver.snapshot.relayed == 1, "\(resolver.snapshot)")

            // A client outside the bridge subnet gets nothing, and nothing is relayed for it.
            let stranger = try UDPSocket(host: "127.0.0.3")
            stranger.send(Self.query(id: 0x4321, name: "example.test"), to: "127.0.0.1", port: port)
            #expect(await stranger.receive(timeout: 0.5) == nil)
            #expect(await upstream.receive(timeout: 0.3) == nil, "not relayed either")
            #expect(resolver.snapshot.refused == 1)
        }
    }

    @Test func theRelayedIdIsNotTheClients() async throws {
        let upstream = try UDPSocket(host: "127.0.0.1")
        try await Self.withResolver(upstream: upstream, clients: "127.0.0.0/8") { _, port in
            let client = try UDPSocket(host: "127.0.0.2")
            var ids: Set<[UInt8]> = []
            for _ in 0..<4 {
                client.send(Self.query(id: 0x0101, name: "example.test"), to: "127.0.0.1", port: port)
                let relayed = try #require(await upstream.receive(timeout: Self.arrival))
                ids.insert(Array(relayed.bytes.prefix(2)))
                upstream.send(Self.reply(to: relayed.bytes, address: [192, 0, 2, 1]), to: relayed.host, port: relayed.port)
                let answer = try #require(await client.receive(timeout: Self.arrival))
                #expect(Array(answer.bytes.prefix(2)) == [0x01, 0x01])
            }
            #expect(ids.count > 1, "each relay picks its own id (four equal ids in a row: 1 in 2^48)")
        }
    }
}
