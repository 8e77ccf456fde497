import Foundation
import StowageModel
import Testing

@Suite struct ClusterTests {
    @Test func lifecycleThroughTheECSDoor() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let created = try await api.ecs("CreateCluster", json(["clusterName": "prod", "tags": [["key": "team", "value": "core"]]]), as: h.a)
            #expect(created.status == 200)
            let arn = created.object("cluster")["clusterArn"] as? String
            #expect(arn == "arn:aws:ecs:us-east-1:\(h.a.account):cluster/prod")
            #expect(created.object("cluster")["status"] as? String == "ACTIVE")

            let again = try await api.ecs("CreateCluster", json(["clusterName": "prod"]), as: h.a)
            #expect(again.object("cluster")["clusterArn"] as? String == arn, "CreateCluster is idempotent on name")
            #expect((again.object("cluster")["tags"] as? [[String: Any]])?.count == 1, "a repeated create leaves the cluster unchanged")

            let described = try await api.ecs("DescribeClusters", json(["clusters": ["prod", "ghost"], "include": ["TAGS"]]), as: h.a)
            #expect(described.array("clusters").count == 1)
            #expect(described.array("failures").first?["reason"] as? String == "MISSING")
            #expect(described.array("failures").first?["arn"] as? String == "arn:aws:ecs:us-east-1:\(h.a.account):cluster/ghost")
            #expect((described.array("clusters").first?["tags"] as? [[String: Any]])?.first?["key"] as? String == "team")
            let withoutTags = try await api.ecs("DescribeClusters", json(["clusters": ["prod"]]), as: h.a)
            #expect(withoutTags.array("clusters").first?["tags"] == nil, "tags come only with include TAGS")

            let updated = try await api.ecs("UpdateClusterSettings", json(["cluster": "prod", "settings": [["name": "containerInsights", "value": "enabled"]]]), as: h.a)
            #expect((updated.object("cluster")["settings"] as? [[String: Any]])?.first?["value"] as? String == "enabled")

            let deleted = try await api.ecs("DeleteCluster", json(["cluster": "prod"]), as: h.a)
            #expect(deleted.object("cluster")["status"] as? String == "INACTIVE")
            #expect(try await api.ecs("ListClusters", as: h.a).strings("clusterArns").isEmpty)
            let inactive = try await api.ecs("DescribeClusters", json(["clusters": ["prod"]]), as: h.a)
            #expect(inactive.array("clusters").first?["status"] as? String == "INACTIVE")
            let missing = try await api.ecs("DeleteCluster", json(["cluster": "prod"]), as: h.a)
            #expect(missing.status == 400 && missing.errorType == "ClusterNotFoundException")

            let revived = try await api.ecs("CreateCluster", json(["clusterName": "prod"]), as: h.a)
            #expect(revived.object("cluster")["status"] as? String == "ACTIVE")
        }
    }

    @Test func listPaginates() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            for name in ["c1", "c2", "c3"] { _ = try await api.ecs("CreateCluster", json(["clusterName": name]), as: h.a) }
            let first = try await api.ecs("ListClusters", json(["maxResults": 2]), as: h.a)
            #expect(first.strings("clusterArns").map { $0.components(separatedBy: "/").last ?? "" } == ["c1", "c2"])
            let token = try #require(first["nextToken"] as? String)
            let second = try await api.ecs("ListClusters", json(["maxResults": 2, "nextToken": token]), as: h.a)
            #expect(second.strings("clusterArns").map { $0.components(separatedBy: "/").last ?? "" } == ["c3"])
            #expect(second["nextToken"] == nil)
            let bad = try await api.ecs("ListClusters", json(["maxResults": 101]), as: h.a)
            #expect(bad.status == 400 && bad.errorType == "InvalidParameterException")
        }
    }

    @Test func deleteRefusesAClusterWithInstances() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            _ = try await api.ecs("CreateCluster", json(["clusterName": "busy"]), as: h.a)
            let registered = try await api.ecs("RegisterContainerInstance", json(["cluster": "busy", "totalResources": instanceResources]), as: h.a)
            let instanceArn = try #require(registered.object("containerInstance")["containerInstanceArn"] as? String)
            let refused = try await api.ecs("DeleteCluster", json(["cluster": "busy"]), as: h.a)
            #expect(refused.status == 400 && refused.errorType == "ClusterContainsContainerInstancesException")
            let still = try await api.ecs("DescribeClusters", json(["clusters": ["busy"]]), as: h.a)
            #expect(still.array("clusters").first?["status"] as? String == "ACTIVE")
            #expect(still.array("clusters").first?["registeredContainerInstancesCount"] as? Int == 1)
            _ = try await api.ecs("DeregisterContainerInstance", json(["cluster": "busy", "containerInstance": instanceArn]), as: h.a)
            #expect(try await api.ecs("DeleteCluster", json(["cluster": "busy"]), as: h.a).status == 200)
        }
    }

    @Test func tagsOnClustersTaskDefinitionsAndInstances() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let cluster = try await api.ecs("CreateCluster", json(["clusterName": "tagged"]), as: h.a)
            let clusterArn = try #require(cluster.object("cluster")["clusterArn"] as? String)
            let td = try await api.ecs("RegisterTaskDefinition", registerWeb, as: h.a)
            let tdArn = try #require(td.object("taskDefinition")["taskDefinitionArn"] as? String)
            let instance = try await api.ecs("RegisterContainerInstance", json(["cluster": "tagged", "totalResources": instanceResources]), as: h.a)
            let instanceArn = try #require(instance.object("containerInstance")["containerInstanceArn"] as? String)
            for arn in [clusterArn, tdArn, instanceArn] {
                #expect(try await api.ecs("TagResource", json(["resourceArn": arn, "tags": [["key": "a", "value": "1"], ["key": "b", "value": "2"]]]), as: h.a).status == 200)
                _ = try await api.ecs("TagResource", json(["resourceArn": arn, "tags": [["key": "a", "value": "3"]]]), as: h.a)
                _ = try await api.ecs("UntagResource", json(["resourceArn": arn, "tagKeys": ["b"]]), as: h.a)
                let listed = try await api.ecs("ListTagsForResource", json(["resourceArn": arn]), as: h.a)
                #expect(listed.array("tags").count == 1)
                #expect(listed.array("tags").first?["value"] as? String == "3")
            }
            let reserved = try await api.ecs("TagResource", json(["resourceArn": clusterArn, "tags": [["key": "aws:x", "value": "1"]]]), as: h.a)
            #expect(reserved.errorType == "InvalidParameterException")
        }
    }
}
