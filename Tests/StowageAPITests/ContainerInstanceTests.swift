import Foundation
import StowageIAM
import Testing

@Suite struct ContainerInstanceTests {
    @Test func registerDescribeDrainAttributesDeregister() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            _ = try await api.ecs("CreateCluster", json(["clusterName": "hosts"]), as: h.a)
            let doc = json(["instanceId": "i-0123456789abcdef0"])
            let registered = try await api.ecs("RegisterContainerInstance", json([
                "cluster": "hosts", "totalResources": instanceResources, "instanceIdentityDocument": doc,
                "attributes": [["name": "zone", "value": "a"]], "versionInfo": ["agentVersion": "1.0"],
            ]), as: h.a)
            #expect(registered.status == 200)
            let instance = registered.object("containerInstance")
            let arn = try #require(instance["containerInstanceArn"] as? String)
            #expect(arn.hasPrefix("arn:aws:ecs:us-east-1:\(h.a.account):container-instance/hosts/"))
            #expect(instance["ec2InstanceId"] as? String == "i-0123456789abcdef0")
            #expect(instance["status"] as? String == "ACTIVE")
            #expect(instance["agentConnected"] as? Bool == true)
            #expect((instance["registeredResources"] as? [[String: Any]])?.count == 3)

            let credentials = registered.object("instanceCredentials")
            let own = Tenant(account: h.a.account, key: NewAccessKey(accountId: h.a.account, userName: "",
                                                                     accessKeyId: credentials["accessKeyId"] as? String ?? "",
                                                                     secretAccessKey: credentials["secretAccessKey"] as? String ?? ""))
            #expect(own.key.accessKeyId.hasPrefix("AIIA"), "registration gives the instance a credential of its own")
            let claimed = try await api.ecs("RegisterContainerInstance", json([
                "cluster": "hosts", "totalResources": instanceResources, "instanceIdentityDocument": doc,
            ]), as: h.a)
            #expect(claimed.status == 400 && claimed.errorType == "AccessDeniedException",
                    "an instance holding its own credential is registered again only with it: \(claimed.json)")
            let again = try await api.ecs("RegisterContainerInstance", json([
                "cluster": "hosts", "totalResources": instanceResources, "instanceIdentityDocument": doc,
            ]), as: own)
            #expect(again.object("containerInstance")["containerInstanceArn"] as? String == arn, "the same host re-registers as itself")
            let renewed = again.object("instanceCredentials")["accessKeyId"] as? String
            #expect(renewed != nil && renewed != own.key.accessKeyId, "each registration issues a new credential")
            let stillWorks = try await api.rest(.get, "/agent/v1/clusters/hosts/container-instances/\(arn.components(separatedBy: "/").last ?? "")/tasks",
                                                as: own)
            #expect(stillWorks.status == 200, "the replaced credential keeps working for its grace period: \(stillWorks.json)")

            let id = try #require(arn.components(separatedBy: "/").last)
            let described = try await api.ecs("DescribeContainerInstances", json(["cluster": "hosts", "containerInstances": [id, "nope"]]), as: h.a)
            #expect(described.array("containerInstances").count == 1)
            #expect(described.array("failures").count == 1)

            let drained = try await api.ecs("UpdateContainerInstancesState", json(["cluster": "hosts", "containerInstances": [arn], "status": "DRAINING"]), as: h.a)
            #expect(drained.array("containerInstances").first?["status"] as? String == "DRAINING")
            #expect(try await api.ecs("ListContainerInstances", json(["cluster": "hosts", "status": "ACTIVE"]), as: h.a).strings("containerInstanceArns").isEmpty)
            #expect(try await api.ecs("ListContainerInstances", json(["cluster": "hosts", "status": "DRAINING"]), as: h.a).strings("containerInstanceArns") == [arn])
            #expect(try await api.ecs("ListContainerInstances", json(["cluster": "hosts"]), as: h.a).strings("containerInstanceArns") == [arn])

            let put = try await api.ecs("PutAttributes", json(["cluster": "hosts", "attributes": [["name": "stack", "value": "blue", "targetId": arn]]]), as: h.a)
            #expect(put.status == 200)
            let listed = try await api.ecs("ListAttributes", json(["cluster": "hosts", "targetType": "container-instance", "attributeName": "stack"]), as: h.a)
            #expect(listed.array("attributes").map { $0["value"] as? String } == ["blue"])
            #expect(listed.array("attributes").first?["targetId"] as? String == arn)
            _ = try await api.ecs("DeleteAttributes", json(["cluster": "hosts", "attributes": [["name": "stack", "targetId": arn]]]), as: h.a)
            let afterDelete = try await api.ecs("ListAttributes", json(["cluster": "hosts", "targetType": "container-instance"]), as: h.a)
            #expect(afterDelete.array("attributes").map { $0["name"] as? String } == ["zone"])
            let noTarget = try await api.ecs("PutAttributes", json(["cluster": "hosts", "attributes": [["name": "x", "value": "y"]]]), as: h.a)
            #expect(noTarget.errorType == "TargetNotFoundException")

            let gone = try await api.ecs("DeregisterContainerInstance", json(["cluster": "hosts", "containerInstance": id]), as: h.a)
            #expect(gone.object("containerInstance")["status"] as? String == "INACTIVE")
            #expect(try await api.ecs("ListContainerInstances", json(["cluster": "hosts"]), as: h.a).strings("containerInstanceArns").isEmpty)
            let twice = try await api.ecs("DeregisterContainerInstance", json(["cluster": "hosts", "containerInstance": id]), as: h.a)
            #expect(twice.status == 400 && twice.errorType == "InvalidParameterException")
        }
    }

    /// A fleet registers at once: registrations share the cluster row instead of queueing on it, and two that
    /// race on one EC2 instance id still end as one instance (the loser finds the winner's row), never a 500.
    @Test func concurrentRegistrationsAllLandAndTwinsBecomeOne() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            _ = try await api.ecs("CreateCluster", json(["clusterName": "fleet"]), as: h.a)
            let statuses = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for n in 0..<24 {
                    // Eight distinct hosts, each registering three times at once.
                    let doc = json(["instanceId": "i-fleet\(n % 8)"])
                    group.addTask {
                        let answer = try await api.ecs("RegisterContainerInstance", json([
                            "cluster": "fleet", "totalResources": instanceResources, "instanceIdentityDocument": doc,
                            "versionInfo": ["agentVersion": "1.0"],
                        ]), as: h.a)
                        return (answer.status, answer.object("containerInstance")["containerInstanceArn"] as? String)
                    }
                }
                var all: [(Int, String?)] = []
                for try await answer in group { all.append(answer) }
                return all
            }
            // The first registration of each host wins and is given the instance's credential; its twins then meet an
            // instance held by that credential and are refused (never a 500, never a second instance).
            #expect(statuses.filter { $0.0 == 200 }.count == 8 && statuses.filter { $0.0 == 400 }.count == 16, "\(statuses.map(\.0))")
            #expect(Set(statuses.compactMap(\.1)).count == 8, "one instance per EC2 id")
            let listed = try await api.ecs("ListContainerInstances", json(["cluster": "fleet"]), as: h.a).strings("containerInstanceArns")
            #expect(listed.count == 8)
        }
    }

    @Test func registrationNeedsAnActiveClusterAndValidResources() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let noCluster = try await api.ecs("RegisterContainerInstance", json(["cluster": "ghost", "totalResources": instanceResources]), as: h.a)
            #expect(noCluster.errorType == "ClusterNotFoundException")
            _ = try await api.ecs("CreateCluster", json(["clusterName": "c"]), as: h.a)
            let noCPU = try await api.ecs("RegisterContainerInstance", json(["cluster": "c", "totalResources": [["name": "MEMORY", "type": "INTEGER", "integerValue": 1]]]), as: h.a)
            #expect(noCPU.errorType == "InvalidParameterException" && noCPU.message.contains("CPU"))
            let badPort = try await api.ecs("RegisterContainerInstance", json(["cluster": "c", "totalResources": instanceResources + [["name": "PORTS_UDP", "type": "STRINGSET", "stringSetValue": ["http"]]]]), as: h.a)
            #expect(badPort.errorType == "InvalidParameterException")
            #expect(try await api.ecs("ListContainerInstances", json(["cluster": "c"]), as: h.a).strings("containerInstanceArns").isEmpty)
        }
    }
}
