import Foundation
import Logging
import NIOCore
import NIOPosix
import StowageDNS
import StowageModel
import Synchronization

/// The resolver the agent points its containers at: it answers the tenant's Cloud Map names from the last feed
/// it got (so names keep resolving while the control plane is away) and relays every other query to the host's
/// resolver. One agent serves one tenant, so a container can never resolve another tenant's names.
///
/// It answers only clients on its bridge subnet (the containers it serves, and the host asking its own address),
/// so it is neither a source of the tenant's names for the network nor an open relay; and it takes a relayed
/// reply only from the upstream it asked, to the query id it chose at random, so a forged reply needs to come
/// from that address and guess both the port and the id.
public final class DiscoveryResolver: Sendable {
    typealias Envelope = AddressedEnvelope<ByteBuffer>
    let listen: SocketAddress
    let upstream: SocketAddress
    /// Who may ask: the engine's bridge subnets and the listening address itself.
    let clients: [CIDR]
    let logger: Logger
    let zone = Mutex(DiscoveryZone([]))
    /// Relayed queries in flight; beyond the limit a query is dropped (the client retries) and counted.
    let inFlight = Mutex(0)
    let maxInFlight: Int
    let counters = Mutex(Counters())

    /// What the resolver did, for the agent's log: answered from the zone, relayed, dropped over the limit, failed upstream.
    public struct Counters: Sendable, Equatable {
        public var answered = 0
        public var relayed = 0
        public var dropped = 0
        public var upstreamFailures = 0
        public var malformed = 0
        /// Queries from addresses outside `clients`, dropped unanswered.
        public var refused = 0
        /// Relayed replies that did not come from the upstream or did not carry the query's id, ignored.
        public var forged = 0
    }

    public init(listen: SocketAddress, upstream: SocketAddress, clients: [CIDR], maxInFlight: Int = 256, logger: Logger) {
        self.listen = listen; self.upstream = upstream; self.clients = clients; self.maxInFlight = maxInFlight; self.logger = logger
    }

    /// Whether a query from this address is answered.
    func admits(_ address: SocketAddress) -> Bool {
        guard let text = address.ipAddress, let bytes = CIDR.address(text) else { return false }
        return clients.contains { $0.contains(bytes) }
    }

    public func update(_ names: [ServiceDiscovery.DNSName]) { zone.withLock { $0 = DiscoveryZone(names) } }
    public var snapshot: Counters { counters.withLock { $0 } }

    /// The first nameserver of a resolv.conf, with port 53.
    public static func upstream(resolvConf text: String) -> String? {
        for line in text.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.count >= 2, fields[0] == "nameserver" { return String(fields[1]) }
        }
        return nil
    }

    typealias Channel = NIOAsyncChannel<Envelope, Envelope>

    /// Binds the listening socket (IP_FREEBIND, so an address the engine's bridge takes later can be bound now).
    /// Never SO_REUSEADDR: a second agent on the same address (another tenant's) must fail to bind, not take
    /// over the first one's queries.
    public func bind() async throws -> NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>> {
        let freebind = ChannelOptions.Types.SocketOption(level: .init(rawValue: CInt(IPPROTO_IP)), name: .init(rawValue: 15))
        return try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(freebind, value: 1)
            .bind(to: listen) { channel in
                channel.eventLoop.makeCompletedFuture { try Channel(wrappingChannelSynchronously: channel) }
            }
    }

    /// Answers queries on the bound socket until cancelled.
    public func serve(_ channel: NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>) async throws {
        logger.info("discovery resolver listening", metadata: [
            "address": "\(listen)", "upstream": "\(upstream)", "clients": "\(clients.map(\.description).joined(separator: ","))"])
        try await channel.executeThenClose { inbound, outbound in
            try await withThrowingDiscardingTaskGroup { group in
                for try await envelope in inbound {
                    guard admits(envelope.remoteAddress) else {
                        counters.withLock { $0.refused += 1 }
                        continue
                    }
                    let bytes = Array(envelope.data.readableBytesView)
                    if let reply = localAnswer(bytes) {
                        if !reply.isEmpty {
                            try await outbound.write(Envelope(remoteAddress: envelope.remoteAddress, data: ByteBuffer(bytes: reply)))
                        }
                        continue
                    }
                    let admitted = inFlight.withLock { count -> Bool in
                        guard count < maxInFlight else { return false }
                        count += 1
                        return true
                    }
                    guard admitted else {
                        counters.withLock { $0.dropped += 1 }
                        continue
                    }
                    group.addTask {
                        defer { self.inFlight.withLock { $0 -= 1 } }
                        if let reply = await self.relay(bytes) {
                            try? await outbound.write(Envelope(remoteAddress: envelope.remoteAddress, data: ByteBuffer(bytes: reply)))
                        }
                    }
                }
            }
        }
    }

    /// The zone's answer for a query it owns; nil to relay it. A packet that is not a query gets nothing.
    func localAnswer(_ bytes: [UInt8]) -> [UInt8]? {
        guard let query = DNSQuery.parse(bytes) else {
            // Not one plain question: relay what has a header (EDNS cookies, odd clients), drop the rest.
            if bytes.count < 12 { counters.withLock { $0.malformed += 1 }; return [] }
            return nil
        }
        guard let answer = zone.withLock({ $0.answer(query) }) else { return nil }
        counters.withLock { $0.answered += 1 }
        return answer.encode(for: query)
    }

    /// Sends the query to the host's resolver from a fresh socket (a random port) under a random id, and returns
    /// the upstream's reply with the client's id put back, or nil after 2 s.
    func relay(_ bytes: [UInt8]) async -> [UInt8]? {
        guard bytes.count >= 12 else { return nil }
        let id = (UInt8.random(in: 0...255), UInt8.random(in: 0...255))
        var query = bytes
        query[0] = id.0
        query[1] = id.1
        do {
            let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(host: upstream.protocol == .inet6 ? "::" : "0.0.0.0", port: 0) { channel in
                    channel.eventLoop.makeCompletedFuture { try Channel(wrappingChannelSynchronously: channel) }
                }
            let reply = try await channel.executeThenClose { inbound, outbound -> [UInt8]? in
                try await outbound.write(Envelope(remoteAddress: upstream, data: ByteBuffer(bytes: query)))
                return try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
                    group.addTask {
                        for try await envelope in inbound {
                            var data = Array(envelope.data.readableBytesView)
                            // Only the reply to this query (its id) from the resolver asked (its address and port).
                            guard envelope.remoteAddress == self.upstream, data.count >= 12, data[0] == id.0, data[1] == id.1 else {
                                self.counters.withLock { $0.forged += 1 }
                                continue
                            }
                            data[0] = bytes[0]
                            data[1] = bytes[1]
                            return data
                        }
                        return nil
                    }
                    group.addTask {
                        try await Task.sleep(for: .seconds(2))
                        return nil
                    }
                    let first = try await group.next() ?? nil
                    group.cancelAll()
                    return first
                }
            }
            counters.withLock { reply == nil ? ($0.upstreamFailures += 1) : ($0.relayed += 1) }
            return reply
        } catch {
            counters.withLock { $0.upstreamFailures += 1 }
            return nil
        }
    }
}
