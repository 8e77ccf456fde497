import Foundation
import StowageIAM
import StowageModel
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
}
