import Foundation

/// Routed task subnets: which kernel routes a host (an agent's, or `stowage lb`'s) must hold so that tasks on other
/// hosts are reached by their own addresses. Plain routes over the hosts' network, as flannel's host-gw does, with
/// no overlay: every packet keeps its addresses and any tool (ip, tcpdump, a router's table) shows where it goes.
///
/// The routes carry a protocol number of their own, so a host changes only the routes Stowage put there and never
/// an operator's, a connected subnet's or the default route.
public enum TaskRouting {
    /// The `proto` of the routes each installer owns (unassigned numbers in iproute2's rt_protos): an agent's and
    /// `stowage lb`'s differ, so on a host that runs both neither removes the other's (they want different sets: the
    /// agent its account's peers, the load balancer every account's).
    public static let agentProtocol = 201
    public static let balancerProtocol = 202

    /// Gateways a route may never go through: this host or nothing (loopback, unspecified), broadcast, multicast,
    /// reserved, link-local (the metadata address) and the task range itself. A host address is tenant-written.
    static let forbiddenGateways = ["0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4"].compactMap(CIDR.init)

    /// A route as the kernel lists it (`ip -j -4 route show`): destination, gateway, protocol.
    public struct KernelRoute: Sendable, Equatable {
        public var destination: String
        public var gateway: String?
        public var ours: Bool
        public init(destination: String, gateway: String?, ours: Bool) {
            self.destination = destination; self.gateway = gateway; self.ours = ours
        }
    }

    public struct Plan: Sendable, Equatable {
        /// Installed or pointed at a new host (`ip route replace`).
        public var replace: [AgentProtocol.TaskRoute] = []
        /// Ours and no longer wanted: the instance left, or its subnet is now local.
        public var delete: [String] = []
        /// Wanted but not installed, with why (a malformed value, a subnet this host already reaches directly).
        public var skipped: [String: String] = [:]
        public var isEmpty: Bool { replace.isEmpty && delete.isEmpty }
        public init() {}
    }

    /// What to change so the kernel holds exactly the wanted routes this host can use. A route is only ever to a
    /// /24 inside the task address range, via an IPv4 literal that is not this host's own: the values come from the
    /// control plane and go to `ip` as argv, so anything else is refused here, before a program sees it.
    public static func plan(wanted: [AgentProtocol.TaskRoute], kernel: [KernelRoute], localAddresses: Set<String>) -> Plan {
        var plan = Plan()
        let ours = Dictionary(kernel.filter(\.ours).map { ($0.destination, $0.gateway) }, uniquingKeysWith: { a, _ in a })
        let others = Set(kernel.filter { !$0.ours }.map(\.destination))
        var keep: Set<String> = []
        for route in wanted.sorted(by: { ($0.subnet, $0.via) < ($1.subnet, $1.via) }) {
            guard TaskNetwork.isSubnet(route.subnet) else {
                plan.skipped[route.subnet] = "not a /24 of \(AgentProtocol.taskAddressRange)"
                continue
            }
            guard let via = CIDR.address(route.via), via.count == 4, CIDR.format(via) == route.via else {
                plan.skipped[route.subnet] = "via \(route.via) is not an IPv4 address"
                continue
            }
            guard !forbiddenGateways.contains(where: { $0.contains(via) }), !TaskNetwork.inTaskRange(route.via) else {
                plan.skipped[route.subnet] = "via \(route.via) is not a host's address"
                continue
            }
            guard !keep.contains(route.subnet) else {
                plan.skipped[route.subnet] = "claimed by two hosts; the first kept"
                continue
            }
            if localAddresses.contains(route.via) || others.contains(route.subnet) {
                // This host's own tasks, or a subnet the kernel already reaches another way (a local task network).
                plan.skipped[route.subnet] = localAddresses.contains(route.via) ? "this host's own" : "already reached directly"
                continue
            }
            keep.insert(route.subnet)
            if ours[route.subnet] != .some(route.via) { plan.replace.append(route) }
        }
        plan.delete = ours.keys.filter { !keep.contains($0) }.sorted()
        return plan
    }

    /// Reads `ip -j -4 route show` output; `oursJSON` is the same listing filtered to the installer's own `proto`.
    public static func kernelRoutes(allJSON: Data, oursJSON: Data) -> [KernelRoute] {
        func destinations(_ data: Data) -> [(String, String?)] {
            guard let list = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else { return [] }
            return list.compactMap { entry in
                guard let dst = entry["dst"] as? String else { return nil }
                return (dst, entry["gateway"] as? String)
            }
        }
        let ours = destinations(oursJSON)
        let oursSet = Set(ours.map(\.0))
        return ours.map { KernelRoute(destination: $0.0, gateway: $0.1, ours: true) }
            + destinations(allJSON).filter { !oursSet.contains($0.0) }.map { KernelRoute(destination: $0.0, gateway: $0.1, ours: false) }
    }

    /// The addresses in `ip -j -4 addr show` output.
    public static func localAddresses(_ data: Data) -> Set<String> {
        guard let list = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else { return [] }
        return Set(list.flatMap { ($0["addr_info"] as? [[String: Any]] ?? []).compactMap { $0["local"] as? String } })
    }

    /// The gateway (first host) of a task subnet: the host's own address on its task network.
    public static func gateway(of subnet: String) -> String? {
        guard let cidr = CIDR(subnet), cidr.bytes.count == 4, cidr.prefix == 24 else { return nil }
        return CIDR.format(Array(cidr.bytes.prefix(3)) + [1])
    }

    /// The engine network name of a task subnet (`stowage-task-100-64-3`): one per subnet, so a host that moved to
    /// another subnet never reuses a network holding the old one's addresses.
    public static func networkName(of subnet: String) -> String? {
        guard let cidr = CIDR(subnet), cidr.bytes.count == 4, cidr.prefix == 24 else { return nil }
        return "stowage-task-" + cidr.bytes.prefix(3).map(String.init).joined(separator: "-")
    }
}
