import Foundation
import StowageModel
import Testing

@testable import StowageScheduler

@Suite struct TargetSyncTests {
    let now = Date(timeIntervalSince1970: 2_000_000)
    let web = LoadBalancerBinding(targetGroupId: "tg1", targetGroupArn: "arn:tg1", targetType: "instance", containerName: "web",
                                  containerPort: 80, deregistrationDelay: 30)
    let api = LoadBalancerBinding(targetGroupId: "tg2", targetGroupArn: "arn:tg2", targetType: "ip", containerName: "web",
                                  containerPort: 8080, deregistrationDelay: 5)

    func task(_ arn: String, serving: Bool = true, host: String = "i-1", address: String = "10.0.0.1", port: Int = 32768) -> TaskEndpoint {
        TaskEndpoint(taskId: arn, serving: serving, ec2InstanceId: host, hostAddress: address,
                     bindings: [.init(containerName: "web", containerPort: 80, hostPort: port), .init(containerName: "web", containerPort: 8080, hostPort: port + 1)])
    }

    @Test func servingTasksAreRegisteredInEveryGroupOnce() {
        let plan = TargetSync.plan(bindings: [web, api], tasks: [task("t1"), task("t2", host: "i-2", address: "10.0.0.2"), task("t3", serving: false)],
                                   registered: [RegisteredTarget(targetGroupId: "tg1", targetId: "i-1", port: 32768, taskId: "t1", state: .healthy)],
                                   now: now)
        #expect(plan.register.map { "\($0.targetGroupId) \($0.targetId):\($0.port) \($0.taskId)" } == [
            "tg2 10.0.0.1:32769 t1", "tg1 i-2:32768 t2", "tg2 10.0.0.2:32769 t2",
        ], "instance groups name the host, ip groups its address; what is registered stays; a task not serving is not added")
        #expect(plan.register.first?.address == "10.0.0.1")
        #expect(plan.deregister.isEmpty)
    }

    /// An awsvpc task is its own target: its address and the container port itself (it has no host port), in ip
    /// groups; its Cloud Map instance carries the same address and the registry's port.
    @Test func awsvpcTasksAreTargetsAndRecordsAtTheirOwnAddress() {
        let vpc = TaskEndpoint(taskId: "t1", serving: true, ec2InstanceId: "i-1", hostAddress: "10.0.0.1", bindings: [], taskAddress: "100.64.3.7")
        let waiting = TaskEndpoint(taskId: "t2", serving: true, ec2InstanceId: "i-1", hostAddress: "10.0.0.1", bindings: [])
        let plan = TargetSync.plan(bindings: [web, api], tasks: [vpc], registered: [], now: now)
        #expect(plan.register.map { "\($0.targetGroupId) \($0.targetId):\($0.port) \($0.address)" } == ["tg2 100.64.3.7:8080 100.64.3.7"],
                "the ip group gets the task address and container port; the instance group cannot name a task")
        #expect(TargetSync.plan(bindings: [api], tasks: [waiting], registered: [], now: now).register.isEmpty,
                "a bridge-style endpoint without a binding for the port is not registered")

        let byPort = ServiceRegistryBinding(serviceId: "srv-1", containerName: nil, containerPort: nil, port: 9090)
        let byContainer = ServiceRegistryBinding(serviceId: "srv-2", containerName: "web", containerPort: 8080)
        let records = ServiceRegistrySync.plan(bindings: [byPort, byContainer],
                                               tasks: [ServiceRegistryTask(endpoint: vpc, healthy: true, attributes: [:])], registered: [])
        #expect(records.put.map { "\($0.serviceId) \($0.attributes["AWS_INSTANCE_IPV4"] ?? "-"):\($0.attributes["AWS_INSTANCE_PORT"] ?? "-")" }
                == ["srv-1 100.64.3.7:9090", "srv-2 100.64.3.7:8080"])
    }

    @Test func tasksThatStopServingDrainForTheirGroupsDelay() {
        let registered = [RegisteredTarget(targetGroupId: "tg1", targetId: "i-1", port: 32768, taskId: "t1", state: .healthy),
                          RegisteredTarget(targetGroupId: "tg2", targetId: "10.0.0.1", port: 32769, taskId: "t1", state: .healthy),
                          RegisteredTarget(targetGroupId: "tg1", targetId: "i-9", port: 80, taskId: nil, state: .healthy),
                          RegisteredTarget(targetGroupId: "tg1", targetId: "i-3", port: 1, taskId: "gone", state: .draining)]
        let plan = TargetSync.plan(bindings: [web, api], tasks: [task("t1", serving: false)], registered: registered, now: now)
        #expect(plan.register.isEmpty)
        #expect(plan.deregister == [.init(targetGroupId: "tg1", targetId: "i-1", port: 32768, until: now.addingTimeInterval(30)),
                                    .init(targetGroupId: "tg2", targetId: "10.0.0.1", port: 32769, until: now.addingTimeInterval(5))],
                "targets registered by hand and ones already draining are left alone")
        #expect(TargetSync.drainDelay(taskId: "t1", bindings: [web, api], registered: registered) == 30, "the longest delay")
        #expect(TargetSync.drainDelay(taskId: "t7", bindings: [web, api], registered: registered) == 0)
    }

    @Test func aTaskIsReadyWhenEveryGroupHasItHealthyAndUnhealthyOnlyAfterTheGracePeriod() {
        func standing(_ states: [ELB.TargetState], started: TimeInterval, grace: TimeInterval = 60) -> (Bool, String?) {
            let registered = zip([web, api], states).map { RegisteredTarget(targetGroupId: $0.targetGroupId, targetId: "x", port: 1, taskId: "t1", state: $1) }
            let s = TargetSync.standing(taskId: "t1", bindings: [web, api], registered: registered, startedAt: now.addingTimeInterval(-started),
                                        grace: grace, now: now)
            return (s.ready, s.unhealthy)
        }
        #expect(standing([.healthy, .healthy], started: 10) == (true, nil))
        #expect(standing([.healthy, .initial], started: 10) == (false, nil), "not ready until every group says healthy")
        #expect(standing([.healthy], started: 10) == (false, nil), "a group it is not registered in yet")
        #expect(standing([.healthy, .unhealthy], started: 10) == (false, nil), "within the grace period")
        #expect(standing([.healthy, .unhealthy], started: 61) == (false, "Task failed ELB health checks in (target-group arn:tg2)"))
        #expect(TargetSync.standing(taskId: "t1", bindings: [], registered: [], startedAt: nil, grace: 0, now: now) == (true, nil))
    }

    @Test func aTargetThePolicyRefusedIsSaidInTheServicesEvents() {
        let refused = RegisteredTarget(targetGroupId: "tg1", targetId: "i-1", port: 32768, taskId: "t1", state: .unused,
                                       reason: "Target.IpUnusable", description: "10.9.9.9 is inside 10.0.0.0/8")
        let checking = RegisteredTarget(targetGroupId: "tg2", targetId: "10.0.0.5", port: 32768, taskId: "t2", state: .initial)
        let events = TargetSync.refusals(service: "web", bindings: [web, api], registered: [refused, checking])
        #expect(events == ["(service web) cannot route to (task t1): its target i-1:32768 in (target-group arn:tg1) is refused: 10.9.9.9 is inside 10.0.0.0/8."])
        #expect(TargetSync.refusals(service: "web", bindings: [web], registered: [checking]).isEmpty)
    }
}

@Suite struct RegistrySyncTests {
    let binding = ServiceRegistryBinding(serviceId: "srv-1", containerName: "web", containerPort: 80)

    func candidate(_ id: String, serving: Bool = true, healthy: Bool = true, port: Int = 32768) -> ServiceRegistryTask {
        ServiceRegistryTask(endpoint: TaskEndpoint(taskId: id, serving: serving, ec2InstanceId: "i-1", hostAddress: "10.0.0.1",
                                            bindings: [.init(containerName: "web", containerPort: 80, hostPort: port)]),
                     healthy: healthy, attributes: ["ECS_SERVICE_NAME": "web"])
    }

    @Test func servingTasksBecomeInstancesWithTheirAddressPortAndHealth() {
        let plan = ServiceRegistrySync.plan(bindings: [binding], tasks: [candidate("t1"), candidate("t2", healthy: false, port: 32769), candidate("t3", serving: false)],
                                     registered: [])
        #expect(plan.put.map(\.instanceId) == ["t1", "t2"])
        #expect(plan.put[0].attributes == ["AWS_INSTANCE_IPV4": "10.0.0.1", "AWS_INSTANCE_PORT": "32768", "ECS_SERVICE_NAME": "web"])
        #expect(plan.put.map(\.health) == ["HEALTHY", "UNHEALTHY"])
        #expect(plan.remove.isEmpty)
    }

    @Test func unchangedInstancesAreLeftAndStoppedTasksRemovedButHandRegisteredOnesKept() {
        let first = ServiceRegistrySync.plan(bindings: [binding], tasks: [candidate("t1")], registered: [])
        let registered = first.put + [RegisteredInstance(serviceId: "srv-1", instanceId: "t9", attributes: [:], health: "HEALTHY", taskId: "t9"),
                                      RegisteredInstance(serviceId: "srv-1", instanceId: "by-hand", attributes: [:], health: "HEALTHY", taskId: nil)]
        let again = ServiceRegistrySync.plan(bindings: [binding], tasks: [candidate("t1")], registered: registered)
        #expect(again.put.isEmpty)
        #expect(again.remove.map(\.instanceId) == ["t9"])
        let sick = ServiceRegistrySync.plan(bindings: [binding], tasks: [candidate("t1", healthy: false)], registered: registered)
        #expect(sick.put.map(\.health) == ["UNHEALTHY"])
    }
}
