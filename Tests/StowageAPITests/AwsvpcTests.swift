import Foundation
import Logging
import StowageIAM
import StowageModel
import StowageStore
import StowageUseCases
import Testing

/// awsvpc on the server: task subnets given at registration, task addresses taken from reports only inside the
/// reporting instance's own subnet, ENI attachments in DescribeTasks, and the agents' routes.
@Suite struct AwsvpcTests {
    struct Host {
        var arn: String
        var id: String
        var subnet: String?
        var key: Tenant
        var attributes: [String: String]
    }

    static func register(_ api: Harness.Client, _ tenant: Tenant, cluster: String, ec2: String, awsvpc: Bool = true,
                         address: String? = nil, extra: [[String: Any]] = [], as caller: Tenant? = nil) async throws -> (Answer, Host?) {
        var attributes: [[String: Any]] = extra
        if awsvpc { attributes.append(["name": AgentProtocol.awsvpcCapability]) }
        if let address { attributes.append(["name": AgentProtocol.hostAddressAttribute, "value": address]) }
        let answer = try await api.ecs("RegisterContainerInstance", json([
            "cluster": cluster, "totalResources": instanceResources, "instanceIdentityDocument": json(["instanceId": ec2]),
            "attributes": attributes, "versionInfo": ["agentVersion": "1.0"],
        ]), as: caller ?? tenant)
        guard answer.status == 200 else { return (answer, nil) }
        let instance = answer.object("containerInstance")
        let arn = instance["containerInstanceArn"] as? String ?? ""
        var named: [String: String] = [:]
        for a in instance["attributes"] as? [[String: Any]] ?? [] { named[a["name"] as? String ?? ""] = a["value"] as? String ?? "" }
        InstanceKeys.shared.remember(arn, answer, tenant: tenant)
        let key = InstanceKeys.shared[arn] ?? tenant
        return (answer, Host(arn: arn, id: arn.components(separatedBy: "/").last ?? "", subnet: named[AgentProtocol.taskSubnetAttribute],
                             key: key, attributes: named))
    }

    /// On a database of its own, so "lowest free" is exact: the pool is platform-wide.
    @Test func taskSubnetsAreUniqueKeptOnReregistrationFreedOnDeregistrationAndReserved() async throws {
        let h = try await Harness.make(freshDatabase: true)
        try await h.run { api in
            _ = try await api.ecs("CreateCluster", json(["clusterName": "vpc"]), as: h.a)
            _ = try await api.ecs("CreateCluster", json(["clusterName": "vpc"]), as: h.b)
            let (_, first) = try await Self.register(api, h.a, cluster: "vpc", ec2: "i-vpc1")
            let (_, second) = try await Self.register(api, h.b, cluster: "vpc", ec2: "i-vpc2")
            let (_, plain) = try await Self.register(api, h.a, cluster: "vpc", ec2: "i-vpc3", awsvpc: false)
            let one = try #require(first), two = try #require(second)
            #expect(one.subnet == "100.64.0.0/24" && two.subnet == "100.64.1.0/24", "the lowest free /24, across accounts: \(one.subnet ?? "-") \(two.subnet ?? "-")")
            #expect(plain?.subnet == nil, "an instance without \(AgentProtocol.awsvpcCapability) holds no task subnet")

            // Eight registrations at once: eight different subnets.
            let raced = try await withThrowingTaskGroup(of: String?.self) { group in
                for n in 0..<8 {
                    group.addTask { try await Self.register(api, n % 2 == 0 ? h.a : h.b, cluster: "vpc", ec2: "i-race\(n)").1?.subnet }
                }
                var all: [String?] = []
                for try await s in group { all.append(s) }
                return all
            }
            #expect(raced.compactMap { $0 }.count == 8 && Set(raced.compactMap { $0 }).count == 8, "\(raced)")
            #expect(!raced.contains(one.subnet) && !raced.contains(two.subnet))

            let again = try await Self.register(api, h.a, cluster: "vpc", ec2: "i-vpc1", as: one.key).1
            #expect(again?.arn == one.arn && again?.subnet == one.subnet, "re-registration keeps the subnet")

            // Reserved: by name, nothing changed.
            let claimed = try await api.ecs("RegisterContainerInstance", json([
                "cluster": "vpc", "totalResources": instanceResources, "instanceIdentityDocument": json(["instanceId": "i-vpc9"]),
                "attributes": [["name": AgentProtocol.taskSubnetAttribute, "value": "100.64.1.0/24"]],
            ]), as: h.a)
            #expect(claimed.errorType == "InvalidParameterException" && claimed.message.contains(AgentProtocol.taskSubnetAttribute), "\(claimed.json)")
            let listed = try await api.ecs("ListContainerInstances", json(["cluster": "vpc"]), as: h.a).strings("containerInstanceArns")
            #expect(listed.count == 6, "the refused registration wrote nothing: \(listed.count)")
            for action in ["PutAttributes", "DeleteAttributes"] {
                let put = try await api.ecs(action, json(["cluster": "vpc", "attributes": [
                    ["name": AgentProtocol.taskSubnetAttribute, "value": "100.64.9.0/24", "targetId": one.arn]]]), as: h.a)
                #expect(put.errorType == "InvalidParameterException" && put.message.contains(AgentProtocol.taskSubnetAttribute), "\(action): \(put.json)")
            }
            let attributes = try await api.ecs("ListAttributes", json(["cluster": "vpc", "targetType": "container-instance",
                                                                       "attributeName": AgentProtocol.taskSubnetAttribute]), as: h.a)
            #expect(attributes.array("attributes").first { $0["targetId"] as? String == one.arn }?["value"] as? String == one.subnet)

            // Deregistration frees: the next awsvpc instance takes the lowest free again.
            let gone = try await api.ecs("DeregisterContainerInstance", json(["cluster": "vpc", "containerInstance": one.arn]), as: h.a)
            #expect(gone.status == 200)
            let next = try await Self.register(api, h.b, cluster: "vpc", ec2: "i-vpc10").1
            #expect(next?.subnet == "100.64.0.0/24", "the freed subnet is the lowest free: \(next?.subnet ?? "-")")
        }
    }

    static var awsvpcDefinition: [String: Any] { [
        "family": "vpcweb", "networkMode": "awsvpc",
        "containerDefinitions": [["name": "web", "image": "busybox", "memory": 32, "portMappings": [["containerPort": 8080]]],
                                 ["name": "side", "image": "busybox", "memory": 32]],
    ] }

    static func report(_ api: Harness.Client, cluster: String, _ host: Host, _ entries: [[String: Any]]) async throws -> Answer {
        try await api.rest(.post, "/agent/v1/clusters/\(cluster)/container-instances/\(host.id)/state",
                           json(["sequence": FakeAgent.sequence.next(), "tasks": entries]), as: host.key)
    }

    static func address(_ subnet: String?, _ last: Int) -> String {
        (subnet ?? "").replacingOccurrences(of: ".0/24", with: ".\(last)")
    }

    /// An agent speaks for its own host only: an address outside its own task subnet is set aside with the whole
    /// entry; one inside is stored and DescribeTasks shows it as ECS shows an ENI.
    @Test func reportedAddressesStayInTheirSubnetAndShowAsAnENI() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            _ = try await api.ecs("CreateCluster", json(["clusterName": "eni"]), as: h.a)
            let stamp = UUID().uuidString.prefix(8)
            let first = try #require(try await Self.register(api, h.a, cluster: "eni", ec2: "i-eni1-\(stamp)").1)
            let registered = try await api.ecs("RegisterTaskDefinition", json(Self.awsvpcDefinition), as: h.a)
            #expect(registered.status == 200, "\(registered.json)")
            let run = try await api.ecs("RunTask", json(["cluster": "eni", "taskDefinition": "vpcweb"]), as: h.a)
            let task = try #require(run.array("tasks").first, "\(run.json)")
            let taskArn = task["taskArn"] as? String ?? ""
            #expect(task["containerInstanceArn"] as? String == first.arn)
            let second = try #require(try await Self.register(api, h.a, cluster: "eni", ec2: "i-eni2-\(stamp)").1)

            // Another host's subnet, and a literal that is not one address: set aside, nothing stored.
            for wrong in [Self.address(second.subnet, 7), "100.64.0.7/24", "::ffff:" + Self.address(first.subnet, 7)] {
                let answer = try await Self.report(api, cluster: "eni", first, [["taskArn": taskArn, "lastStatus": "RUNNING", "privateIPv4Address": wrong]])
                #expect(answer.status == 200 && (answer.object("ignored")[taskArn] as? String)?.contains("task subnet") == true, "\(wrong): \(answer.json)")
            }
            let before = try await api.ecs("DescribeTasks", json(["cluster": "eni", "tasks": [taskArn]]), as: h.a).array("tasks").first
            #expect(before?["lastStatus"] as? String != "RUNNING", "the ignored entry changed nothing")
            let pending = (before?["attachments"] as? [[String: Any]])?.first
            #expect(pending?["type"] as? String == "ElasticNetworkInterface")
            #expect(((pending?["details"] as? [[String: Any]]) ?? []).allSatisfy { $0["name"] as? String != "privateIPv4Address" })

            let mine = Self.address(first.subnet, 7)
            let answer = try await Self.report(api, cluster: "eni", first, [["taskArn": taskArn, "lastStatus": "RUNNING", "privateIPv4Address": mine]])
            #expect(answer.status == 200 && answer["ignored"] == nil, "\(answer.json)")
            let described = try await api.ecs("DescribeTasks", json(["cluster": "eni", "tasks": [taskArn]]), as: h.a).array("tasks").first
            #expect(described?["lastStatus"] as? String == "RUNNING")
            let attachments = described?["attachments"] as? [[String: Any]] ?? []
            #expect(attachments.count == 1)
            let eni = attachments.first ?? [:]
            let attachmentId = eni["id"] as? String ?? ""
            #expect(attachmentId.count == 36 && eni["type"] as? String == "ElasticNetworkInterface" && eni["status"] as? String == "ATTACHED")
            var details: [String: String] = [:]
            for pair in eni["details"] as? [[String: Any]] ?? [] { details[pair["name"] as? String ?? ""] = pair["value"] as? String }
            #expect(details["privateIPv4Address"] == mine)
            #expect(details["privateDnsName"] == "ip-" + mine.replacingOccurrences(of: ".", with: "-") + ".ec2.internal")
            #expect(details["subnetId"] == "subnet-" + first.id, "an instance without ecs.subnet-id is a subnet of its own")
            #expect(details["networkInterfaceId"]?.hasPrefix("eni-") == true && details["networkInterfaceId"]?.count == 21)
            #expect(details["macAddress"] == nil, "not known, so not shown")
            for container in described?["containers"] as? [[String: Any]] ?? [] {
                let interfaces = container["networkInterfaces"] as? [[String: Any]] ?? []
                #expect(interfaces.count == 1 && interfaces.first?["attachmentId"] as? String == attachmentId
                        && interfaces.first?["privateIpv4Address"] as? String == mine, "\(container)")
            }
            let again = try await api.ecs("DescribeTasks", json(["cluster": "eni", "tasks": [taskArn]]), as: h.a).array("tasks").first
            #expect((again?["attachments"] as? [[String: Any]])?.first?["id"] as? String == attachmentId, "the attachment id is stable")

            // A task that named subnets, on a host that declares none: the first subnet it named.
            let named = try await api.ecs("RunTask", json(["cluster": "eni", "taskDefinition": "vpcweb", "networkConfiguration": [
                "awsvpcConfiguration": ["subnets": ["subnet-0abc", "subnet-0def"]]]]), as: h.a)
            let namedArn = try #require(named.array("tasks").first?["taskArn"] as? String, "\(named.json)")
            let shown = try await api.ecs("DescribeTasks", json(["cluster": "eni", "tasks": [namedArn]]), as: h.a).array("tasks").first
            let pairs = ((shown?["attachments"] as? [[String: Any]])?.first?["details"] as? [[String: Any]]) ?? []
            #expect(pairs.first { $0["name"] as? String == "subnetId" }?["value"] as? String == "subnet-0abc", "\(pairs)")
        }
    }

    /// An agent's routes name the task subnets of its account's other live hosts, never another account's; the load
    /// balancer's name every account's.
    @Test func routesNameTheAccountsOtherHostsOnly() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            for (tenant, cluster) in [(h.a, "r1"), (h.a, "r2"), (h.b, "r1")] {
                _ = try await api.ecs("CreateCluster", json(["clusterName": cluster]), as: tenant)
            }
            let stamp = UUID().uuidString.prefix(8)
            let one = try #require(try await Self.register(api, h.a, cluster: "r1", ec2: "i-r1-\(stamp)", address: "192.0.2.1").1)
            let two = try #require(try await Self.register(api, h.a, cluster: "r1", ec2: "i-r2-\(stamp)", address: "192.0.2.2").1)
            let three = try #require(try await Self.register(api, h.a, cluster: "r2", ec2: "i-r3-\(stamp)", address: "192.0.2.3").1)
            let silent = try #require(try await Self.register(api, h.a, cluster: "r1", ec2: "i-r4-\(stamp)").1)
            let gone = try #require(try await Self.register(api, h.a, cluster: "r1", ec2: "i-r5-\(stamp)", address: "192.0.2.5").1)
            let other = try #require(try await Self.register(api, h.b, cluster: "r1", ec2: "i-r9-\(stamp)", address: "192.0.2.9").1)
            _ = try await api.ecs("UpdateContainerInstancesState", json(["cluster": "r1", "containerInstances": [two.arn], "status": "DRAINING"]), as: h.a)
            _ = try await api.ecs("DeregisterContainerInstance", json(["cluster": "r1", "containerInstance": gone.arn]), as: h.a)

            let routes = try await Self.routes(api, cluster: "r1", one)
            #expect(routes == [AgentProtocol.TaskRoute(subnet: two.subnet ?? "", via: "192.0.2.2"),
                               AgentProtocol.TaskRoute(subnet: three.subnet ?? "", via: "192.0.2.3")].sorted { $0.via < $1.via },
                    "its account's other live hosts with an address, in any cluster; not itself, not another account's: \(routes)")
            #expect(try await Self.routes(api, cluster: "r1", other) == [], "the other account sees none of these")
            #expect(!routes.contains { $0.subnet == silent.subnet }, "a host that said no address is not routed to")

            let denied = try await api.rest(.get, "/agent/v1/clusters/r1/container-instances/\(one.id)/routes", as: other.key)
            #expect(denied.errorType == "AccessDeniedException", "an instance asks for its own routes only: \(denied.json)")
            let user = try await api.rest(.get, "/agent/v1/clusters/r1/container-instances/\(one.id)/routes", as: h.a)
            #expect(user.errorType == "AccessDeniedException", "a user's key is not an instance's: \(user.json)")

            var logger = Logger(label: "test")
            logger.logLevel = .warning
            let all = try await LoadBalancerFleet(database: h.backend.database, logger: logger).taskRoutes()
            for host in [one, two, three, other] {
                #expect(all.contains { $0.subnet == host.subnet && $0.via == host.attributes[AgentProtocol.hostAddressAttribute] })
            }
            #expect(!all.contains { $0.subnet == gone.subnet && $0.via == "192.0.2.5" }, "a deregistered instance routes nothing")
        }
    }

    static func routes(_ api: Harness.Client, cluster: String, _ host: Host) async throws -> [AgentProtocol.TaskRoute] {
        let (status, _, body) = try await api.exchange(.get, "/agent/v1/clusters/\(cluster)/container-instances/\(host.id)/routes", body: "",
                                                       as: host.key, headers: [:], service: "ecs")
        #expect(status == 200, "\(String(decoding: body, as: UTF8.self))")
        return try JSONDecoder().decode([AgentProtocol.TaskRoute].self, from: body).sorted { $0.via < $1.via }
    }

    /// awsvpc services take ip target groups only (ECS's words); a tenant's own task address may be an ip target, but
    /// an address of the task range that is not one of its tasks (another tenant's) is refused; serviceRegistries.port
    /// is taken for awsvpc and still refused for bridge.
    @Test func awsvpcTargetsAndRegistriesFollowECSRules() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            _ = try await api.ecs("CreateCluster", json(["clusterName": "lbv"]), as: h.a)
            let host = try #require(try await Self.register(api, h.a, cluster: "lbv", ec2: "i-lbv-\(UUID().uuidString.prefix(8))").1)
            _ = try await api.ecs("RegisterTaskDefinition", json(Self.awsvpcDefinition), as: h.a)
            _ = try await api.ecs("RegisterTaskDefinition", json(["family": "bridgeweb", "containerDefinitions": [
                ["name": "web", "image": "busybox", "memory": 32, "portMappings": [["containerPort": 8080]]]]]), as: h.a)
            let instanceGroup = try #require(try await api.elb("CreateTargetGroup", ["Name": "inst", "Protocol": "HTTP", "Port": "80"], as: h.a)[
                "TargetGroups.member.TargetGroupArn"])
            let ipGroup = try #require(try await api.elb("CreateTargetGroup", ["Name": "ips", "Protocol": "HTTP", "Port": "80", "TargetType": "ip"],
                                                         as: h.a)["TargetGroups.member.TargetGroupArn"])
            let refused = try await api.ecs("CreateService", json([
                "cluster": "lbv", "serviceName": "web", "taskDefinition": "vpcweb", "desiredCount": 0,
                "loadBalancers": [["targetGroupArn": instanceGroup, "containerName": "web", "containerPort": 8080]],
            ]), as: h.a)
            #expect(refused.errorType == "InvalidParameterException"
                    && refused.message.contains("has target type instance, which is incompatible with the awsvpc network mode"), "\(refused.json)")
            #expect(try await api.ecs("ListServices", json(["cluster": "lbv"]), as: h.a).strings("serviceArns").isEmpty, "nothing written")
            let taken = try await api.ecs("CreateService", json([
                "cluster": "lbv", "serviceName": "web", "taskDefinition": "vpcweb", "desiredCount": 0,
                "loadBalancers": [["targetGroupArn": ipGroup, "containerName": "web", "containerPort": 8080]],
            ]), as: h.a)
            #expect(taken.status == 200, "\(taken.json)")

            // A running awsvpc task of the account, at its reported address.
            let taskArn = try #require(try await api.ecs("RunTask", json(["cluster": "lbv", "taskDefinition": "vpcweb"]), as: h.a)
                .array("tasks").first?["taskArn"] as? String)
            let address = Self.address(host.subnet, 9)
            let reported = try await Self.report(api, cluster: "lbv", host, [["taskArn": taskArn, "lastStatus": "RUNNING", "privateIPv4Address": address]])
            #expect(reported.status == 200 && reported["ignored"] == nil, "\(reported.json)")

            let theirs = try #require(try await api.elb("CreateTargetGroup", ["Name": "theirs", "Protocol": "HTTP", "Port": "80", "TargetType": "ip"],
                                                        as: h.b)["TargetGroups.member.TargetGroupArn"])
            for stranger in [address, "100.127.255.9"] {
                let attack = try await api.elb("RegisterTargets", ["TargetGroupArn": theirs, "Targets.member.1.Id": stranger, "Targets.member.1.Port": "8080"],
                                               as: h.b)
                #expect(attack.errorCode == "InvalidTarget" && attack.message.contains("not the address of one of this account's running tasks"),
                        "\(stranger): \(attack.errorCode ?? "none") \(attack.message)")
            }
            #expect(try await api.elb("DescribeTargetHealth", ["TargetGroupArn": theirs], as: h.b).list("TargetHealthDescriptions").isEmpty,
                    "nothing registered")
            let own = try await api.elb("RegisterTargets", ["TargetGroupArn": ipGroup, "Targets.member.1.Id": address, "Targets.member.1.Port": "8080"],
                                        as: h.a)
            #expect(own.status == 200, "its own task's address: \(own.errorCode ?? "") \(own.message)")
            let health = try await api.elb("DescribeTargetHealth", ["TargetGroupArn": ipGroup], as: h.a).list("TargetHealthDescriptions")
            #expect(health.map { "\($0.first("Target.Id")?.text ?? ""):\($0.first("Target.Port")?.text ?? "")" } == ["\(address):8080"])

            // Its task stops and another takes the address: the load balancer no longer treats the target as a task's.
            var logger = Logger(label: "test")
            logger.logLevel = .warning
            let fleet = LoadBalancerFleet(database: h.backend.database, logger: logger)
            #expect(try await fleet.read().targets.first { $0.address == address }?.taskId != nil)
            _ = try await api.ecs("StopTask", json(["cluster": "lbv", "task": taskArn]), as: h.a)
            _ = try await Self.report(api, cluster: "lbv", host, [["taskArn": taskArn, "lastStatus": "STOPPED"]])
            let nextArn = try #require(try await api.ecs("RunTask", json(["cluster": "lbv", "taskDefinition": "vpcweb"]), as: h.a)
                .array("tasks").first?["taskArn"] as? String)
            _ = try await Self.report(api, cluster: "lbv", host, [["taskArn": nextArn, "lastStatus": "RUNNING", "privateIPv4Address": address]])
            #expect(try await fleet.read().targets.first { $0.address == address }.map { $0.taskId == nil } == true,
                    "a target left behind is an address in shared space again, which the target policy refuses")

            // serviceRegistries.port: awsvpc only.
            let ns = try #require(try await api.cloudMap("CreatePrivateDnsNamespace", ["Name": "lbv.internal", "Vpc": "vpc-stowage"], as: h.a)["OperationId"]
                as? String)
            let operation = try await api.cloudMap("GetOperation", ["OperationId": ns], as: h.a).object("Operation")
            let namespace = try #require((operation["Targets"] as? [String: Any])?["NAMESPACE"] as? String)
            let registry = try #require(try await api.cloudMap("CreateService", ["Name": "api", "NamespaceId": namespace, "DnsConfig": [
                "DnsRecords": [["Type": "A", "TTL": 10], ["Type": "SRV", "TTL": 10]]]], as: h.a).object("Service")["Arn"] as? String)
            let bridge = try await api.ecs("CreateService", json([
                "cluster": "lbv", "serviceName": "bapi", "taskDefinition": "bridgeweb", "desiredCount": 0,
                "serviceRegistries": [["registryArn": registry, "port": 8080]]]), as: h.a)
            #expect(bridge.errorType == "InvalidParameterException" && bridge.message.contains("serviceRegistries.port is for awsvpc tasks"), "\(bridge.json)")
            let vpc = try await api.ecs("CreateService", json([
                "cluster": "lbv", "serviceName": "vapi", "taskDefinition": "vpcweb", "desiredCount": 0,
                "serviceRegistries": [["registryArn": registry, "port": 8080]]]), as: h.a)
            #expect(vpc.status == 200 && (vpc.object("service")["serviceRegistries"] as? [[String: Any]])?.first?["port"] as? Int == 8080, "\(vpc.json)")
        }
    }

    /// The attacks of the second review: a tenant deregisters its host (its task rows stay RUNNING) so that its
    /// subnet, and with it the addresses its tasks held, passes to another tenant's next host; and a tenant takes the
    /// whole shared range. Neither works: a task on a released subnet claims no address, and an account holds at most
    /// its share (beyond, its hosts register without awsvpc and say why).
    @Test func aDeregisteredHostsTasksClaimNoAddressAndNoAccountTakesTheRange() async throws {
        let h = try await Harness.make(freshDatabase: true)
        try await h.run { api in
            for tenant in [h.a, h.b] {
                _ = try await api.ecs("CreateCluster", json(["clusterName": "zz"]), as: tenant)
                _ = try await api.ecs("RegisterTaskDefinition", json(Self.awsvpcDefinition), as: tenant)
            }
            let attacker = try #require(try await Self.register(api, h.a, cluster: "zz", ec2: "i-zz1").1)
            let zombie = try #require(try await api.ecs("RunTask", json(["cluster": "zz", "taskDefinition": "vpcweb"]), as: h.a)
                .array("tasks").first?["taskArn"] as? String)
            let address = Self.address(attacker.subnet, 2)
            _ = try await Self.report(api, cluster: "zz", attacker, [["taskArn": zombie, "lastStatus": "RUNNING", "privateIPv4Address": address]])
            let gone = try await api.ecs("DeregisterContainerInstance", json(["cluster": "zz", "containerInstance": attacker.arn, "force": true]), as: h.a)
            #expect(gone.status == 200, "\(gone.json)")

            let victim = try #require(try await Self.register(api, h.b, cluster: "zz", ec2: "i-zz2").1)
            #expect(victim.subnet == attacker.subnet, "the released subnet is the next host's: \(victim.subnet ?? "-")")
            let theirs = try #require(try await api.ecs("RunTask", json(["cluster": "zz", "taskDefinition": "vpcweb"]), as: h.b)
                .array("tasks").first?["taskArn"] as? String)
            _ = try await Self.report(api, cluster: "zz", victim, [["taskArn": theirs, "lastStatus": "RUNNING", "privateIPv4Address": address]])

            let group = try #require(try await api.elb("CreateTargetGroup", ["Name": "zz", "Protocol": "HTTP", "Port": "80", "TargetType": "ip"],
                                                       as: h.a)["TargetGroups.member.TargetGroupArn"])
            let attack = try await api.elb("RegisterTargets", ["TargetGroupArn": group, "Targets.member.1.Id": address, "Targets.member.1.Port": "8080"],
                                           as: h.a)
            #expect(attack.errorCode == "InvalidTarget", "the zombie task claims nothing: \(attack.errorCode ?? "accepted") \(attack.message)")
            #expect(try await api.elb("DescribeTargetHealth", ["TargetGroupArn": group], as: h.a).list("TargetHealthDescriptions").isEmpty)
            var logger = Logger(label: "test")
            logger.logLevel = .warning
            let holders = try await h.backend.database.withConnection { conn in
                try await TaskAddressStore(logger: logger).holders(conn, addresses: [address])
            }
            #expect(holders[address] == theirs.components(separatedBy: "/").last, "only the victim's task holds the address: \(holders)")

            // The range: an account at its share registers its next host without awsvpc, and says why.
            try await h.backend.database.withConnection { conn in
                // Standing in for 1,024 registrations: the account's share, taken.
                try await conn.query("""
                    INSERT INTO task_subnets (subnet_index, account_id, cluster_name, instance_id)
                    SELECT 100 + i, \(h.a.account), 'zz', 'filler-' || i FROM generate_series(0, \(TaskNetwork.subnetsPerAccount - 1)) i
                    """, logger: logger)
            }
            let (answer, capped) = try await Self.register(api, h.a, cluster: "zz", ec2: "i-zz3")
            #expect(answer.status == 200, "\(answer.json)")
            #expect(capped?.subnet == nil && capped?.attributes[AgentProtocol.awsvpcCapability] == nil, "\(capped?.attributes ?? [:])")
            #expect(capped?.attributes[TaskNetwork.unavailableAttribute]?.contains("its limit") == true, "\(capped?.attributes ?? [:])")
            let other = try await Self.register(api, h.b, cluster: "zz", ec2: "i-zz4").1
            #expect(other?.subnet != nil, "another account still gets one")
        }
    }
}
