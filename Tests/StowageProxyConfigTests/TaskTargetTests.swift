import Foundation
import StowageModel
import Testing

@testable import StowageProxyConfig

/// awsvpc tasks as load balancer targets: the task range is shared address space the target policy forbids, except
/// for a target registered for a task; the control plane's own endpoints stay refused even then.
@Suite struct TaskTargetTests {
    let policy = TargetPolicy(controlPlane: [.init(address: [100, 64, 3, 1], port: 8080, what: "the control plane's API")])

    @Test func taskTargetsInTheTaskRangeAreCheckedAndServedAtTheirAddress() throws {
        #expect(policy.refusal(address: "100.64.3.7", ports: [8080]) != nil, "not a task's target: shared address space stays forbidden")
        #expect(policy.refusal(address: "100.64.3.7", ports: [8080], task: true) == nil)
        #expect(policy.refusal(address: "10.0.0.7", ports: [8080], task: true) != nil, "only the task range is opened for tasks")
        #expect(policy.refusal(address: "100.64.3.1", ports: [8080], task: true)?.contains("control plane") == true)

        var health = ELB.HealthCheck()
        health.intervalSeconds = 5
        let task = ProxySnapshot.Target(id: "100.64.3.7", port: 8080, address: "100.64.3.7", draining: false, task: true)
        let stranger = ProxySnapshot.Target(id: "100.64.9.9", port: 8080, address: "100.64.9.9", draining: false)
        let snapshot = ProxySnapshot(listeners: [], groups: [.init(id: "g1", port: 80, health: health, attributes: .init(), targets: [task, stranger])])
        let plan = TargetPlan.plan(snapshot, observed: [], registeredAt: [:], now: Date(timeIntervalSince1970: 0), policy: policy)
        #expect(plan.commands.first?.hasPrefix("add server tg_g1/\(task.serverName) 100.64.3.7:8080 check") == true, "\(plan.commands)")
        #expect(plan.updates.contains { $0.targetId == "100.64.9.9" && $0.state == .unused && $0.reason == "Target.IpUnusable" })
    }

    @Test func taskSubnetsAndAddresses() {
        #expect(TaskNetwork.subnet(index: 0) == "100.64.0.0/24" && TaskNetwork.subnet(index: 16_383) == "100.127.255.0/24")
        #expect(TaskNetwork.subnet(index: 16_384) == nil && TaskNetwork.subnet(index: -1) == nil)
        #expect(TaskNetwork.isSubnet("100.65.2.0/24") && !TaskNetwork.isSubnet("100.65.2.0/23") && !TaskNetwork.isSubnet("10.0.0.0/24"))
        #expect(TaskNetwork.isTaskAddress("100.64.3.7", in: "100.64.3.0/24"))
        for wrong in ["100.64.4.7", "100.64.3.1", "100.64.3.255", "100.64.3.0", "100.64.3.07", "100.64.3.7/32", "::ffff:100.64.3.7"] {
            #expect(!TaskNetwork.isTaskAddress(wrong, in: "100.64.3.0/24"), "\(wrong)")
        }
        #expect(TaskNetwork.attachmentId(taskId: "a") == TaskNetwork.attachmentId(taskId: "a") && TaskNetwork.attachmentId(taskId: "a") != TaskNetwork.attachmentId(taskId: "b"))
        #expect(TaskNetwork.privateDnsName("100.64.3.7") == "ip-100-64-3-7.ec2.internal")
    }
}
