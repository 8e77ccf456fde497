import Foundation
import StowageModel
import Testing

@Suite struct FargateRulesTests {
    func container(_ name: String = "app") -> ContainerDefinition {
        var c = ContainerDefinition(name: name, image: "busybox")
        c.portMappings = [PortMapping(containerPort: 80)]
        return c
    }

    func fargate(cpu: String? = "256", memory: String? = "512", network: String? = "awsvpc",
                 _ containers: [ContainerDefinition]? = nil) -> RegisterTaskDefinitionRequest {
        var r = RegisterTaskDefinitionRequest(family: "web", containerDefinitions: containers ?? [container()])
        r.requiresCompatibilities = ["FARGATE"]
        r.cpu = cpu
        r.memory = memory
        r.networkMode = network
        return r
    }

    func refusal(_ request: RegisterTaskDefinitionRequest) -> String? {
        do { _ = try TaskDefinitionRules.validate(request); return nil } catch { return error.message }
    }

    @Test func aFargateDefinitionIsAcceptedAndSaysSo() throws {
        var r = fargate(cpu: "1 vCPU", memory: "2 GB")
        r.runtimePlatform = RuntimePlatform(cpuArchitecture: "X86_64", operatingSystemFamily: "LINUX")
        let d = try TaskDefinitionRules.validate(r)
        #expect(d.compatibilities == ["EC2", "EXTERNAL", "FARGATE"])
        #expect(d.cpu == "1024" && d.memory == "2048")
        #expect(d.containerDefinitions?.first?.portMappings?.first?.hostPort == 80)
        // Without FARGATE asked, a bridge definition is not Fargate-compatible and is not told so.
        var bridge = RegisterTaskDefinitionRequest(family: "b", containerDefinitions: [container()])
        bridge.memory = "512"
        #expect(try TaskDefinitionRules.validate(bridge).compatibilities == ["EC2", "EXTERNAL"])
    }

    @Test func everyValidCombinationPassesAndItsNeighboursDoNot() {
        for (cpu, memories) in FargateRules.combinations {
            for memory in memories { #expect(refusal(fargate(cpu: String(cpu), memory: String(memory))) == nil, "\(cpu)/\(memory)") }
            #expect(refusal(fargate(cpu: String(cpu), memory: String((memories.last ?? 0) + 1024)))?.hasPrefix("No Fargate configuration exists") == true)
        }
        #expect(FargateRules.combinations[8192]?.contains(20_480) == true)
        #expect(FargateRules.combinations[8192]?.contains(17_408) == false)
        #expect(refusal(fargate(cpu: "256", memory: "4096")) ==
            "No Fargate configuration exists for given values: 256 CPU, 4096 memory. See the Amazon ECS documentation for the valid values.")
    }

    @Test func fargateRulesInECSsWords() {
        #expect(refusal(fargate(cpu: nil)) == "Fargate requires that 'cpu' be defined at the task level.")
        var noMemory = container()
        noMemory.memory = 128
        #expect(refusal(fargate(memory: nil, [noMemory])) == "Fargate requires that 'memory' be defined at the task level.")
        #expect(refusal(fargate(network: "bridge")) == "Fargate only supports network mode 'awsvpc'.")
        var privileged = container()
        privileged.privileged = true
        #expect(refusal(fargate([privileged]))?.contains("do not support privileged containers") == true)
        var device = container()
        device.linuxParameters = LinuxParameters()
        device.linuxParameters?.devices = [Device(hostPath: "/dev/fuse")]
        #expect(refusal(fargate([device]))?.contains("do not support devices") == true)
        var hostPath = fargate()
        hostPath.volumes = [Volume(name: "v", host: HostVolumeProperties(sourcePath: "/srv"))]
        #expect(refusal(hostPath) == "host.sourcePath should not be set for volumes in Fargate.")
        var scratch = fargate()
        scratch.volumes = [Volume(name: "v", host: HostVolumeProperties(sourcePath: nil))]
        #expect(refusal(scratch) == nil)
        var constrained = fargate()
        constrained.placementConstraints = [PlacementConstraint(type: "memberOf", expression: "attribute:a == b")]
        #expect(refusal(constrained)?.contains("placement constraints") == true)
        var staticPort = container()
        staticPort.portMappings = [PortMapping(containerPort: 80, hostPort: 8080)]
        #expect(refusal(fargate([staticPort]))?.contains("hostPort must equal containerPort") == true)
    }

    @Test func runtimePlatformIsCheckedAndBecomesAttributes() {
        var windows = fargate()
        windows.runtimePlatform = RuntimePlatform(operatingSystemFamily: "WINDOWS_SERVER_2022_CORE")
        #expect(refusal(windows) == "runtimePlatform.operatingSystemFamily WINDOWS_SERVER_2022_CORE is refused: Stowage's hosts run Linux containers only.")
        var sparc = fargate()
        sparc.runtimePlatform = RuntimePlatform(cpuArchitecture: "SPARC")
        #expect(refusal(sparc)?.contains("X86_64 or ARM64") == true)
        let arm = RuntimePlatform(cpuArchitecture: "ARM64", operatingSystemFamily: "LINUX").requiredAttributes
        #expect(arm.map(\.name) == ["ecs.cpu-architecture", "ecs.os-type"] && arm.map(\.value) == ["arm64", "linux"])
    }

    @Test func platformVersions() {
        #expect(FargateRules.platformVersion(nil) == "1.4.0")
        #expect(FargateRules.platformVersion("LATEST") == "1.4.0")
        #expect(FargateRules.platformVersion("1.4.0") == "1.4.0")
        #expect(FargateRules.platformVersion("1.3.0") == nil)
    }

    @Test func membersTheRulesNeedAreHonoured() throws {
        let body = Data(#"{"family": "f", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "runtimePlatform": {"cpuArchitecture": "X86_64"}, "containerDefinitions": []}"#.utf8)
        try MemberSupport.check(body, shape: "RegisterTaskDefinitionRequest")
        let storage = Data(#"{"family": "f", "ephemeralStorage": {"sizeInGiB": 30}}"#.utf8)
        #expect(throws: APIError.self) { try MemberSupport.check(storage, shape: "RegisterTaskDefinitionRequest") }
    }
}

@Suite struct LaunchRulesTests {
    static var fargate: TaskDefinition {
        var d = TaskDefinition()
        d.networkMode = "awsvpc"
        d.compatibilities = ["EC2", "EXTERNAL", "FARGATE"]
        return d
    }

    func refusal(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch let e as APIError { return e.message } catch { return "\(error)" }
    }

    @Test func launchTypesVersionsAndNetworks() throws {
        let launch = try LaunchRequest(launchType: "FARGATE", platformVersion: "LATEST").checked(Self.fargate)
        #expect(launch.launchType == "FARGATE" && launch.platformVersion == "1.4.0" && launch.shownLaunchType == "FARGATE")
        #expect(try LaunchRequest().checked(Self.fargate).shownLaunchType == "EC2")
        #expect(refusal { _ = try LaunchRequest(launchType: "FARGATE").checked(TaskDefinition()) } == "Task definition does not support launch_type FARGATE.")
        #expect(refusal { _ = try LaunchRequest(launchType: "EC2", platformVersion: "1.4.0").checked(Self.fargate) }?
            .contains("must be null when specifying an EC2 launch type") == true)
        #expect(refusal { _ = try LaunchRequest(launchType: "MANAGED_INSTANCES").checked(Self.fargate) }?.contains("is refused") == true)
        let strategy = [CapacityProviderStrategyItem(capacityProvider: "FARGATE", weight: 1)]
        #expect(refusal { _ = try LaunchRequest(launchType: "FARGATE", capacityProviderStrategy: strategy).checked(Self.fargate) }?
            .hasPrefix("Specifying both a launch type and capacity provider strategy") == true)

        func network(_ vpc: AwsVpcConfiguration) -> LaunchRequest { LaunchRequest(networkConfiguration: NetworkConfiguration(awsvpcConfiguration: vpc)) }
        let vpc = try network(AwsVpcConfiguration(subnets: ["subnet-a", "subnet-b"])).checked(Self.fargate)
        #expect(vpc.subnets == ["subnet-a", "subnet-b"] && vpc.networkConfiguration?.awsvpcConfiguration?.assignPublicIp == "DISABLED")
        #expect(refusal { _ = try network(AwsVpcConfiguration(subnets: ["subnet-a"])).checked(TaskDefinition()) } ==
            "Network Configuration is not valid for the given networkMode of this task definition.")
        #expect(refusal { _ = try network(AwsVpcConfiguration(subnets: [])).checked(Self.fargate) } == "subnets can not be empty.")
        #expect(refusal { _ = try network(AwsVpcConfiguration(subnets: (0..<17).map { "subnet-\($0)" })).checked(Self.fargate) } ==
            "subnets can have at most 16 items.")
        #expect(refusal { _ = try network(AwsVpcConfiguration(subnets: ["subnet-a"], securityGroups: ["sg-1"])).checked(Self.fargate) }?
            .contains("securityGroups is refused") == true)
        #expect(refusal { _ = try network(AwsVpcConfiguration(subnets: ["subnet-a"], assignPublicIp: "ENABLED")).checked(Self.fargate) }?
            .contains("assignPublicIp ENABLED is refused") == true)
    }

    @Test func strategies() {
        func item(_ name: String, weight: Int? = nil, base: Int? = nil) -> CapacityProviderStrategyItem {
            CapacityProviderStrategyItem(capacityProvider: name, weight: weight, base: base)
        }
        #expect(refusal { try LaunchRules.checkStrategy([item("FARGATE", weight: 1, base: 2), item("FARGATE_SPOT", weight: 3)]) } == nil)
        #expect(refusal { try LaunchRules.checkStrategy([item("FARGATE", base: 1), item("FARGATE_SPOT", base: 1)]) }?.hasPrefix("Only one capacity provider") == true)
        #expect(refusal { try LaunchRules.checkStrategy([item("FARGATE", weight: 1001)]) }?.contains("between 0 and 1000") == true)
        #expect(refusal { try LaunchRules.checkStrategy([item("FARGATE", base: 100_001)]) }?.contains("between 0 and 100000") == true)
        #expect(refusal { try LaunchRules.checkStrategy([item("FARGATE", weight: 1), item("pool", weight: 1)]) }?.contains("cannot contain a mix") == true)
        #expect(refusal { try LaunchRules.checkStrategy([item("pool", weight: 1), item("pool", weight: 2)]) }?.contains("repeated") == true)
    }
}
