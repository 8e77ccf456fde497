import Foundation
import StowageModel
import StowageScheduler
import Testing

/// Capacity provider strategies (base, then weight) and the placement requirements of Fargate launches: awsvpc,
/// subnets, runtimePlatform, the provider's own instances.
@Suite struct CapacityStrategyTests {
    static let strategy = [
        CapacityProviderStrategyItem(capacityProvider: "FARGATE", weight: 1, base: 2),
        CapacityProviderStrategyItem(capacityProvider: "FARGATE_SPOT", weight: 3),
    ]

    @Test func tenTasksSplitAsECSDocuments() {
        var counts: [String: Int] = [:]
        var order: [String] = []
        for _ in 0..<10 {
            let next = CapacityStrategy.order(Self.strategy, counts: counts)[0]
            order.append(next)
            counts[next, default: 0] += 1
        }
        // The base first, then the rest 1:3.
        #expect(Array(order.prefix(2)) == ["FARGATE", "FARGATE"])
        #expect(counts == ["FARGATE": 4, "FARGATE_SPOT": 6])
        // The others follow as fallbacks; weight 0 providers last, and only the base places on them.
        #expect(CapacityStrategy.order(Self.strategy, counts: ["FARGATE": 2]) == ["FARGATE_SPOT", "FARGATE"])
        let baseOnly = [CapacityProviderStrategyItem(capacityProvider: "A", weight: 0, base: 1), CapacityProviderStrategyItem(capacityProvider: "B", weight: 1)]
        #expect(CapacityStrategy.order(baseOnly, counts: [:]) == ["A", "B"])
        #expect(CapacityStrategy.order(baseOnly, counts: ["A": 1, "B": 5]) == ["B", "A"])
    }

    static func awsvpcDefinition(runtime: RuntimePlatform? = nil) -> TaskDefinition {
        var container = ContainerDefinition(name: "app", image: "busybox")
        container.portMappings = [PortMapping(containerPort: 80, hostPort: 80, protocol: "tcp")]
        var d = TaskDefinition()
        d.family = "web"
        d.networkMode = "awsvpc"
        d.cpu = "256"
        d.memory = "512"
        d.containerDefinitions = [container]
        d.runtimePlatform = runtime
        d.compatibilities = ["EC2", "EXTERNAL", "FARGATE"]
        return d
    }

    static func instance(_ id: String, _ attributes: [String: String], status: String = "ACTIVE") -> SnapshotInstance {
        SnapshotInstance(id: id, ec2InstanceId: "i-\(id)", status: status,
                         registeredResources: [Resource(name: "CPU", integer: 4096), Resource(name: "MEMORY", integer: 8192)],
                         attributes: attributes.sorted { $0.key < $1.key }.map { Attribute(name: $0.key, value: $0.value) })
    }

    static let now = Date(timeIntervalSince1970: 2_000_000)

    static func servicePass(_ instances: [SnapshotInstance], launch: TaskLaunch, desired: Int = 10, tasks: [SnapshotTask] = []) throws
        -> ClusterPlan
    {
        let service = SnapshotService(name: "web", desiredCount: desired,
                                      deployments: [SnapshotDeployment(id: "d1", status: "PRIMARY", family: "web", revision: 1)],
                                      tasks: tasks, launch: launch)
        let snapshot = ClusterSnapshot(account: "123456789012", cluster: "default", instances: instances, liveTasks: tasks,
                                       definitions: ["web:1": awsvpcDefinition()], service: service)
        var minted = 0
        return try ClusterPlanner.plan(snapshot, now: now) {
            minted += 1
            return "n\(minted)"
        }
    }

    static let subnet = [AgentProtocol.taskSubnetAttribute: "100.64.0.0/24"]

    static func onProvider(_ plan: ClusterPlan) -> [String: Int] {
        var counts: [String: Int] = [:]
        for binding in plan.bindings { counts[binding.launch?.capacityProviderName ?? "-", default: 0] += 1 }
        return counts
    }

    @Test func aServiceStrategyPlacesOnEachProvidersInstances() throws {
        let instances = [
            Self.instance("f1", Self.subnet.merging([AgentProtocol.capacityProviderAttribute: "FARGATE"]) { a, _ in a }),
            Self.instance("s1", Self.subnet.merging([AgentProtocol.capacityProviderAttribute: "FARGATE_SPOT"]) { a, _ in a }),
            Self.instance("plain", Self.subnet),
        ]
        let plan = try Self.servicePass(instances, launch: TaskLaunch(capacityProviderStrategy: Self.strategy))
        #expect(Self.onProvider(plan) == ["FARGATE": 4, "FARGATE_SPOT": 6])
        for binding in plan.bindings {
            #expect(binding.instanceId == (binding.launch?.capacityProviderName == "FARGATE" ? "f1" : "s1"))
            #expect(binding.launch?.launchType == "FARGATE")
            // awsvpc: no host ports.
            #expect(binding.containers.allSatisfy { ($0.networkBindings ?? []).isEmpty })
        }

        // Spot capacity drained: the spot share goes to FARGATE, the provider that can take it.
        var drained = instances
        drained[1].status = "DRAINING"
        let replaced = try Self.servicePass(drained, launch: TaskLaunch(capacityProviderStrategy: Self.strategy))
        #expect(Self.onProvider(replaced) == ["FARGATE": 10])

        // A service that already holds tasks: each new one goes to the provider furthest below its share.
        let held = (0..<6).map { i in
            SnapshotTask(id: "t\(i)", family: "web", revision: 1, service: "web", deploymentId: "d1", group: "service:web",
                         instanceId: "f1", lastStatus: "RUNNING", launch: TaskLaunch(capacityProviderName: "FARGATE"))
        }
        let topUp = try Self.servicePass(instances, launch: TaskLaunch(capacityProviderStrategy: Self.strategy), tasks: held)
        #expect(Self.onProvider(topUp) == ["FARGATE_SPOT": 4])
    }

    @Test func fargateLaunchTypeAwsvpcSubnetsAndRuntimePlatformAreRequirements() throws {
        let fargate = [AgentProtocol.capacityProviderAttribute: "FARGATE"]
        // No instance has a task subnet: the failure names what none had.
        let noSubnet = try Self.servicePass([Self.instance("f1", fargate)], launch: TaskLaunch(launchType: "FARGATE"), desired: 1)
        #expect(noSubnet.bindings.isEmpty)
        #expect(noSubnet.placement.failed["n1"] == "ATTRIBUTE:stowage.task-subnet")
        #expect(noSubnet.events.contains { $0.message.contains("is missing an attribute required by your task (ATTRIBUTE:stowage.task-subnet)") })

        // FARGATE goes only where the operator marked Fargate capacity.
        let instances = [Self.instance("plain", Self.subnet),
                         Self.instance("f1", Self.subnet.merging(fargate) { a, _ in a })]
        let placed = try Self.servicePass(instances, launch: TaskLaunch(launchType: "FARGATE"), desired: 3)
        #expect(placed.bindings.map(\.instanceId) == ["f1", "f1", "f1"])
        let nowhere = try Self.servicePass([Self.instance("plain", Self.subnet)], launch: TaskLaunch(launchType: "FARGATE"), desired: 1)
        #expect(nowhere.placement.failed["n1"] == "ATTRIBUTE:stowage.capacity-provider=FARGATE")

        // Subnets: instances in another subnet are out; one that declares none takes any; tasks spread over subnets.
        let grouped = [
            Self.instance("a1", Self.subnet.merging([AgentProtocol.subnetAttribute: "subnet-a"]) { a, _ in a }),
            Self.instance("a2", Self.subnet.merging([AgentProtocol.subnetAttribute: "subnet-a"]) { a, _ in a }),
            Self.instance("b1", Self.subnet.merging([AgentProtocol.subnetAttribute: "subnet-b"]) { a, _ in a }),
            Self.instance("c1", Self.subnet.merging([AgentProtocol.subnetAttribute: "subnet-c"]) { a, _ in a }),
        ]
        let network = NetworkConfiguration(awsvpcConfiguration: AwsVpcConfiguration(subnets: ["subnet-a", "subnet-b"]))
        let spread = try Self.servicePass(grouped, launch: TaskLaunch(networkConfiguration: network), desired: 4)
        let hosts = spread.bindings.map(\.instanceId)
        #expect(!hosts.contains("c1"))
        #expect(hosts.filter { $0 == "b1" }.count == 2 && hosts.filter { $0.hasPrefix("a") }.count == 2)
        #expect(AttributeRequirement(name: AgentProtocol.subnetAttribute, values: ["subnet-a"], absentAllowed: true).met(by: [:]))

        // A DAEMON service of launch type FARGATE runs only on the Fargate capacity.
        let daemon = SnapshotService(name: "web", desiredCount: 0, schedulingStrategy: "DAEMON",
                                     deployments: [SnapshotDeployment(id: "d1", status: "PRIMARY", family: "web", revision: 1)],
                                     launch: TaskLaunch(launchType: "FARGATE"))
        let daemonPlan = try ClusterPlanner.plan(ClusterSnapshot(account: "123456789012", cluster: "default", instances: instances,
                                                                 definitions: ["web:1": Self.awsvpcDefinition()], service: daemon), now: Self.now)
        #expect(daemonPlan.bindings.map(\.instanceId) == ["f1"] && daemonPlan.placement.failed.isEmpty)

        // runtimePlatform: the architecture is a requirement of the definition.
        var placer = Placer(hosts: [Self.instance("x", Self.subnet.merging(["ecs.cpu-architecture": "x86_64"]) { a, _ in a }).placementHost])
        let arm = TaskDemand(definition: Self.awsvpcDefinition(runtime: RuntimePlatform(cpuArchitecture: "ARM64")), overrides: nil,
                             group: "g", strategy: [.spreadInstance])
        #expect(placer.place(arm) == .failed("ATTRIBUTE:ecs.cpu-architecture=arm64"))
        let x86 = TaskDemand(definition: Self.awsvpcDefinition(runtime: RuntimePlatform(cpuArchitecture: "X86_64")), overrides: nil,
                             group: "g", strategy: [.spreadInstance])
        #expect(placer.place(x86).placement?.bindings == [])
    }
}
