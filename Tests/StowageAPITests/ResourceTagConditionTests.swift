import Foundation
import StowageModel
import Testing

/// `aws:ResourceTag/…` conditions read the named resource's tags from the database before the policy is judged
/// (StowageUseCases.ResourceTags): these drive that read through the real doors, for ECS and ELB resources.
@Suite struct ResourceTagConditionTests {
    @Test func aTagConditionAllowsOnlyTheResourcesThatCarryTheTag() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            for (name, env) in [("dev-c", "dev"), ("prod-c", "prod")] {
                let created = try await api.ecs("CreateCluster", json(["clusterName": name, "tags": [["key": "env", "value": env]]]), as: h.a)
                #expect(created.status == 200)
            }
            let devGroup = try await api.elb("CreateTargetGroup", ["Name": "dev-tg", "Protocol": "HTTP", "Port": "80",
                                                                   "Tags.member.1.Key": "env", "Tags.member.1.Value": "dev"], as: h.a)
            let prodGroup = try await api.elb("CreateTargetGroup", ["Name": "prod-tg", "Protocol": "HTTP", "Port": "80",
                                                                    "Tags.member.1.Key": "env", "Tags.member.1.Value": "prod"], as: h.a)
            let devArn = try #require(devGroup["TargetGroups.member.TargetGroupArn"], "\(devGroup.message)")
            let prodArn = try #require(prodGroup["TargetGroups.member.TargetGroupArn"], "\(prodGroup.message)")

            _ = try await api.iam("CreateUser", ["UserName": "dev-only"], as: h.a)
            let onlyDev = IAMDoorTests.policy([["Effect": "Allow", "Action": ["ecs:DeleteCluster", "elasticloadbalancing:DeleteTargetGroup"],
                                                "Resource": "*", "Condition": ["StringEquals": ["aws:ResourceTag/env": "dev"]]]])
            #expect(try await api.iam("PutUserPolicy", ["UserName": "dev-only", "PolicyName": "dev", "PolicyDocument": onlyDev], as: h.a).status == 200)
            let dev = try IAMDoorTests.tenant(try await api.iam("CreateAccessKey", ["UserName": "dev-only"], as: h.a), account: h.a.account)

            let prod = try await api.ecs("DeleteCluster", json(["cluster": "prod-c"]), as: dev)
            #expect(prod.errorType == "AccessDeniedException", "the prod cluster does not carry env=dev")
            let prodTG = try await api.elb("DeleteTargetGroup", ["TargetGroupArn": prodArn], as: dev)
            #expect(prodTG.errorCode == "AccessDeniedException")
            let described = try await api.ecs("DescribeClusters", json(["clusters": ["prod-c"]]), as: h.a)
            #expect(described.array("clusters").first?["status"] as? String == "ACTIVE", "nothing was deleted")
            #expect(try await api.elb("DescribeTargetGroups", ["Names.member.1": "prod-tg"], as: h.a).status == 200)

            #expect(try await api.ecs("DeleteCluster", json(["cluster": "dev-c"]), as: dev).status == 200)
            #expect(try await api.elb("DeleteTargetGroup", ["TargetGroupArn": devArn], as: dev).status == 200)

            // Another account's cluster of the same name and tag lends it nothing: tags are read in the caller's
            // own account only, where no such cluster is left.
            _ = try await api.ecs("CreateCluster", json(["clusterName": "dev-c", "tags": [["key": "env", "value": "dev"]]]), as: h.b)
            let foreign = "arn:aws:ecs:us-east-1:\(h.b.account):cluster/dev-c"
            let across = try await api.ecs("DeleteCluster", json(["cluster": foreign]), as: dev)
            #expect(across.status == 400, "\(across.message)")
            let theirs = try await api.ecs("DescribeClusters", json(["clusters": ["dev-c"]]), as: h.b)
            #expect(theirs.array("clusters").first?["status"] as? String == "ACTIVE", "the other account's cluster is untouched")
        }
    }
}
