import Foundation
import NIOCore
import StowageModel

/// Service discovery on the host: the resolver containers use, fed with the tenant's Cloud Map names.
extension Agent {
    /// Binds the resolver where configured; on failure the agent runs without it and says why in its attributes
    /// (containers then keep the engine's resolver rather than point at nothing).
    func startResolver() async -> (DiscoveryResolver, NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>)? {
        guard let wanted = config.dnsAddress else { return nil }
        do {
            var address = wanted
            if wanted == "auto" {
                guard let gateway = await runtime.bridgeGateway() else {
                    throw DiscoveryError("the engine has no bridge network to listen on; give --dns-address")
                }
                address = gateway
            }
            let bound = try await bindResolver(at: address)
            resolverAddress = address
            return bound
        } catch {
            resolverProblem = "\(error)"
            logger.error("discovery resolver not started: containers keep the engine's resolver and Cloud Map names do not resolve in them",
                         metadata: ["address": "\(wanted)", "error": "\(error)"])
            return nil
        }
    }

    /// A resolver listening on one address, answering the engine's bridge, the task networks and the host itself.
    func bindResolver(at address: String) async throws -> (DiscoveryResolver, NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>) {
        let upstreamText = config.dnsUpstream
            ?? DiscoveryResolver.upstream(resolvConf: (try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)) ?? "")
        guard let upstreamText else { throw DiscoveryError("no upstream resolver: /etc/resolv.conf names none; give --dns-upstream") }
        let (host, port) = Self.hostPort(upstreamText, defaultPort: 53)
        // The containers on the engine's bridge, and the host itself asking this address (it sends from it).
        // awsvpc tasks ask from their own addresses, inside the task address range.
        let clients = await runtime.bridgeSubnets().compactMap(CIDR.init) + [CIDR(address), CIDR(AgentProtocol.taskAddressRange)].compactMap { $0 }
        let resolver = DiscoveryResolver(listen: try SocketAddress(ipAddress: address, port: 53),
                                         upstream: try SocketAddress(ipAddress: host, port: port), clients: clients, logger: logger)
        return (resolver, try await resolver.bind())
    }

    /// awsvpc tasks get a resolver on their own network's gateway: the engine's bridge (where the first one listens)
    /// may not exist on a host that runs only awsvpc tasks, and an address on no interface is routed away.
    func startTaskNetworkResolver() async -> (DiscoveryResolver, NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>)? {
        guard config.dnsAddress != nil, resolverAddress != nil, let network = taskNetwork else { return nil }
        do {
            let bound = try await bindResolver(at: network.gateway)
            taskResolverAddress = network.gateway
            return bound
        } catch {
            logger.error("discovery resolver for awsvpc tasks not started: Cloud Map names do not resolve in them",
                         metadata: ["address": "\(network.gateway)", "error": "\(error)"])
            return nil
        }
    }

    static func hostPort(_ text: String, defaultPort: Int) -> (String, Int) {
        if text.filter({ $0 == ":" }).count == 1, let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) {
            return (String(text[..<colon]), port)
        }
        return (text, defaultPort)
    }

    /// Fetches the tenant's names every refresh interval; while the server cannot be reached the last ones stay
    /// (static stability: names keep resolving to the tasks that keep running).
    func discoveryLoop(_ resolvers: [DiscoveryResolver]) async {
        guard let resolver = resolvers.first else { return }
        var lastCounters = resolver.snapshot
        var failing = false
        while !Task.isCancelled {
            do {
                let feed: ServiceDiscovery.DNSNames = try await server.get(
                    "/agent/v1/clusters/\(config.cluster)/container-instances/\(instanceId)/discovery")
                for each in resolvers { each.update(feed.names) }
                if failing { logger.info("discovery names fetched again") }
                failing = false
            } catch {
                if !failing { logger.warning("discovery names not fetched; answering the last ones", metadata: ["error": "\(error)"]) }
                failing = true
            }
            let counters = resolver.snapshot
            if counters.dropped > lastCounters.dropped || counters.upstreamFailures > lastCounters.upstreamFailures
                || counters.malformed > lastCounters.malformed || counters.refused > lastCounters.refused
                || counters.forged > lastCounters.forged {
                logger.warning("discovery resolver dropped queries", metadata: [
                    "dropped_over_limit": "\(counters.dropped)", "upstream_failures": "\(counters.upstreamFailures)",
                    "malformed": "\(counters.malformed)", "answered": "\(counters.answered)", "relayed": "\(counters.relayed)",
                    "refused_clients": "\(counters.refused)", "forged_replies": "\(counters.forged)"])
            }
            lastCounters = counters
            try? await Task.sleep(for: config.discoveryRefresh)
        }
    }
}

/// Why the resolver could not start, in words for the instance's attributes.
struct DiscoveryError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
