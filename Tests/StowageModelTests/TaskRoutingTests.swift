import Foundation
import StowageModel
import Testing

@Suite struct TaskRoutingTests {
    typealias Route = AgentProtocol.TaskRoute

    @Test func installsMissingMovesChangedAndRemovesOnlyItsOwn() {
        let kernel = [
            TaskRouting.KernelRoute(destination: "100.64.1.0/24", gateway: "10.0.0.11", ours: true),
            TaskRouting.KernelRoute(destination: "100.64.2.0/24", gateway: "10.0.0.99", ours: true),
            TaskRouting.KernelRoute(destination: "100.64.9.0/24", gateway: "10.0.0.19", ours: true),
            TaskRouting.KernelRoute(destination: "100.64.5.0/24", gateway: nil, ours: false),
            TaskRouting.KernelRoute(destination: "default", gateway: "10.0.0.1", ours: false),
        ]
        let wanted = [Route(subnet: "100.64.1.0/24", via: "10.0.0.11"), Route(subnet: "100.64.2.0/24", via: "10.0.0.12"),
                      Route(subnet: "100.64.3.0/24", via: "10.0.0.13"), Route(subnet: "100.64.5.0/24", via: "10.0.0.15"),
                      Route(subnet: "100.64.4.0/24", via: "10.0.0.10")]
        let plan = TaskRouting.plan(wanted: wanted, kernel: kernel, localAddresses: ["10.0.0.10", "127.0.0.1"])
        #expect(plan.replace == [Route(subnet: "100.64.2.0/24", via: "10.0.0.12"), Route(subnet: "100.64.3.0/24", via: "10.0.0.13")])
        #expect(plan.delete == ["100.64.9.0/24"])
        #expect(plan.skipped["100.64.5.0/24"] == "already reached directly")
        #expect(plan.skipped["100.64.4.0/24"] == "this host's own")
    }

    /// Values come from the control plane (a host address is tenant-written) and become `ip` arguments: only a /24 of
    /// the task range via an IPv4 literal that can be another host's.
    @Test(arguments: [Route(subnet: "0.0.0.0/0", via: "10.0.0.2"), Route(subnet: "10.0.0.0/24", via: "10.0.0.2"),
                      Route(subnet: "100.64.1.0/16", via: "10.0.0.2"), Route(subnet: "100.64.1.7/24", via: "10.0.0.2"),
                      Route(subnet: "100.64.1.0/24", via: "10.0.0.2 dev lo"), Route(subnet: "100.64.1.0/24", via: "::1"),
                      Route(subnet: "100.64.1.0/24 table 5", via: "10.0.0.2"), Route(subnet: "100.64.1.0/24", via: "-h"),
                      Route(subnet: "100.64.1.0/24", via: "127.0.0.1"), Route(subnet: "100.64.1.0/24", via: "0.0.0.0"),
                      Route(subnet: "100.64.1.0/24", via: "255.255.255.255"), Route(subnet: "100.64.1.0/24", via: "224.0.0.1"),
                      Route(subnet: "100.64.1.0/24", via: "169.254.169.254"), Route(subnet: "100.64.1.0/24", via: "100.64.0.2")])
    func refusesAnythingButATaskSubnetViaAnAddress(route: Route) {
        let plan = TaskRouting.plan(wanted: [route], kernel: [], localAddresses: [])
        #expect(plan.replace.isEmpty)
        #expect(plan.skipped[route.subnet] != nil)
    }

    @Test func readsIproute2JSON() {
        let all = Data(#"[{"dst":"default","gateway":"192.0.2.1","dev":"eth0"},{"dst":"100.64.7.0/24","gateway":"10.0.0.17","dev":"eth0","protocol":"201"},{"dst":"100.64.0.0/24","dev":"cni-podman1","protocol":"kernel","prefsrc":"100.64.0.1"}]"#.utf8)
        let ours = Data(#"[{"dst":"100.64.7.0/24","gateway":"10.0.0.17","dev":"eth0"}]"#.utf8)
        let kernel = TaskRouting.kernelRoutes(allJSON: all, oursJSON: ours)
        #expect(kernel.filter(\.ours).map(\.destination) == ["100.64.7.0/24"])
        #expect(Set(kernel.filter { !$0.ours }.map(\.destination)) == ["default", "100.64.0.0/24"])
        let addresses = TaskRouting.localAddresses(Data(#"[{"ifname":"lo","addr_info":[{"local":"127.0.0.1"}]},{"ifname":"eth0","addr_info":[{"local":"10.0.0.10"}]}]"#.utf8))
        #expect(addresses == ["127.0.0.1", "10.0.0.10"])
        #expect(TaskRouting.gateway(of: "100.64.3.0/24") == "100.64.3.1")
        #expect(TaskRouting.networkName(of: "100.64.3.0/24") == "stowage-task-100-64-3")
    }
}
