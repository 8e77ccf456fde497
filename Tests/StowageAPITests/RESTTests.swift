import Foundation
import Testing

@Suite struct RESTTests {
    @Test func clustersTaskDefinitionsAndInstancesOverREST() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let created = try await api.rest(.post, "/v1/clusters", json(["clusterName": "web"]), as: h.a)
            #expect(created.status == 201)
            #expect(created.object("cluster")["clusterName"] as? String == "web")
            let got = try await api.rest(.get, "/v1/clusters/web", as: h.a)
            #expect(got.status == 200 && got.object("cluster")["status"] as? String == "ACTIVE")
            let listed = try await api.rest(.get, "/v1/clusters?maxResults=10", as: h.a)
            #expect(listed.strings("clusterArns").count == 1)
            let patched = try await api.rest(.patch, "/v1/clusters/web", json(["settings": [["name": "containerInsights", "value": "enabled"]]]), as: h.a)
            #expect((patched.object("cluster")["settings"] as? [[String: Any]])?.first?["value"] as? String == "enabled")
            let missing = try await api.rest(.get, "/v1/clusters/nope", as: h.a)
            #expect(missing.status == 404 && missing.errorType == "ClusterNotFoundException")

            let td = try await api.rest(.post, "/v1/task-definitions", registerWeb, as: h.a)
            #expect(td.status == 201 && td.object("taskDefinition")["revision"] as? Int == 1)
            #expect(try await api.rest(.get, "/v1/task-definitions/web:1", as: h.a).status == 200)
            #expect(try await api.rest(.get, "/v1/task-definitions?familyPrefix=web", as: h.a).strings("taskDefinitionArns").count == 1)
            #expect(try await api.rest(.get, "/v1/task-definition-families", as: h.a).strings("families") == ["web"])
            let noTD = try await api.rest(.get, "/v1/task-definitions/nope", as: h.a)
            #expect(noTD.status == 404 && noTD.errorType == "ClientException")
            let activeDelete = try await api.rest(.delete, "/v1/task-definitions/web:1?delete=true", as: h.a)
            #expect(activeDelete.status == 400)
            #expect(try await api.rest(.delete, "/v1/task-definitions/web:1", as: h.a).object("taskDefinition")["status"] as? String == "INACTIVE")
            #expect(try await api.rest(.delete, "/v1/task-definitions/web:1?delete=true", as: h.a).object("taskDefinition")["status"] as? String == "DELETE_IN_PROGRESS")

            let instance = try await api.rest(.post, "/v1/clusters/web/container-instances", json(["totalResources": instanceResources]), as: h.a)
            #expect(instance.status == 201)
            let arn = try #require(instance.object("containerInstance")["containerInstanceArn"] as? String)
            let id = try #require(arn.components(separatedBy: "/").last)
            #expect(try await api.rest(.get, "/v1/clusters/web/container-instances", as: h.a).strings("containerInstanceArns") == [arn])
            #expect(try await api.rest(.get, "/v1/clusters/web/container-instances/\(id)", as: h.a).status == 200)
            let drained = try await api.rest(.patch, "/v1/clusters/web/container-instances/\(id)", json(["status": "DRAINING"]), as: h.a)
            #expect(drained.object("containerInstance")["status"] as? String == "DRAINING")
            let refused = try await api.rest(.delete, "/v1/clusters/web", as: h.a)
            #expect(refused.status == 409 && refused.errorType == "ClusterContainsContainerInstancesException")
            #expect(try await api.rest(.delete, "/v1/clusters/web/container-instances/\(id)", as: h.a).status == 200)
            let noInstance = try await api.rest(.get, "/v1/clusters/web/container-instances/\(id)", as: h.a)
            #expect(noInstance.status == 404)

            let clusterArn = "arn:aws:ecs:us-east-1:\(h.a.account):cluster/web"
            let encoded = clusterArn.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            #expect(try await api.rest(.post, "/v1/tags", json(["resourceArn": clusterArn, "tags": [["key": "k", "value": "v"]]]), as: h.a).status == 200)
            #expect(try await api.rest(.get, "/v1/tags?resourceArn=\(encoded)", as: h.a).array("tags").count == 1)
            #expect(try await api.rest(.delete, "/v1/tags?resourceArn=\(encoded)&tagKeys=k", as: h.a).status == 200)
            #expect(try await api.rest(.get, "/v1/tags?resourceArn=\(encoded)", as: h.a).array("tags").isEmpty)

            let deleted = try await api.rest(.delete, "/v1/clusters/web", as: h.a)
            #expect(deleted.status == 200 && deleted.object("cluster")["status"] as? String == "INACTIVE")
            #expect(try await api.rest(.get, "/v1/clusters/web", as: h.a).status == 404)
        }
    }
}

@Suite struct TenantIsolationTests {
    @Test func anotherAccountCanNeitherSeeNorChange() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let cluster = try await api.ecs("CreateCluster", json(["clusterName": "secret"]), as: h.a)
            let clusterArn = try #require(cluster.object("cluster")["clusterArn"] as? String)
            let td = try await api.ecs("RegisterTaskDefinition", registerWeb, as: h.a)
            let tdArn = try #require(td.object("taskDefinition")["taskDefinitionArn"] as? String)
            let instance = try await api.ecs("RegisterContainerInstance", json(["cluster": "secret", "totalResources": instanceResources]), as: h.a)
            let instanceArn = try #require(instance.object("containerInstance")["containerInstanceArn"] as? String)

            // By name, B sees only its own (empty) namespace.
            #expect(try await api.ecs("ListClusters", as: h.b).strings("clusterArns").isEmpty)
            let byName = try await api.ecs("DescribeClusters", json(["clusters": ["secret"]]), as: h.b)
            #expect(byName.array("clusters").isEmpty && byName.array("failures").count == 1)
            #expect(try await api.ecs("DescribeTaskDefinition", json(["taskDefinition": "web"]), as: h.b).status == 400)
            #expect(try await api.ecs("ListTaskDefinitions", as: h.b).strings("taskDefinitionArns").isEmpty)

            // By ARN, every door refuses with AccessDeniedException and reveals nothing.
            let denied: [(String, String)] = [
                ("DescribeClusters", json(["clusters": [clusterArn]])),
                ("DeleteCluster", json(["cluster": clusterArn])),
                ("UpdateCluster", json(["cluster": clusterArn, "settings": [["name": "containerInsights", "value": "enabled"]]])),
                ("DescribeTaskDefinition", json(["taskDefinition": tdArn])),
                ("DeregisterTaskDefinition", json(["taskDefinition": tdArn])),
                ("DescribeContainerInstances", json(["cluster": clusterArn, "containerInstances": [instanceArn]])),
                ("UpdateContainerInstancesState", json(["cluster": clusterArn, "containerInstances": [instanceArn], "status": "DRAINING"])),
                ("DeregisterContainerInstance", json(["cluster": clusterArn, "containerInstance": instanceArn])),
                ("ListContainerInstances", json(["cluster": clusterArn])),
                ("RegisterContainerInstance", json(["cluster": clusterArn, "totalResources": instanceResources])),
                ("TagResource", json(["resourceArn": clusterArn, "tags": [["key": "x", "value": "y"]]])),
                ("ListTagsForResource", json(["resourceArn": tdArn])),
                ("PutAttributes", json(["cluster": clusterArn, "attributes": [["name": "x", "value": "y", "targetId": instanceArn]]])),
            ]
            for (action, body) in denied {
                let answer = try await api.ecs(action, body, as: h.b)
                #expect(answer.errorType == "AccessDeniedException", "\(action) by another account: \(answer.json)")
                #expect(!answer.message.contains("secret\","), "no data of the other tenant in the message")
            }
            let rest = try await api.rest(.get, "/v1/clusters/\(clusterArn.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")", as: h.b)
            #expect(rest.status == 403 && rest.errorType == "AccessDeniedException")
            #expect(try await api.rest(.get, "/v1/clusters/secret", as: h.b).status == 404)
            #expect(try await api.rest(.delete, "/v1/task-definitions/\(tdArn.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")", as: h.b).status == 403)

            // A's resources are untouched.
            let after = try await api.ecs("DescribeClusters", json(["clusters": ["secret"], "include": ["TAGS"]]), as: h.a)
            #expect(after.array("clusters").first?["status"] as? String == "ACTIVE")
            #expect((after.array("clusters").first?["tags"] as? [[String: Any]])?.isEmpty == true)
            let instances = try await api.ecs("DescribeContainerInstances", json(["cluster": "secret", "containerInstances": [instanceArn]]), as: h.a)
            #expect(instances.array("containerInstances").first?["status"] as? String == "ACTIVE")
            #expect(try await api.ecs("DescribeTaskDefinition", json(["taskDefinition": tdArn]), as: h.a).object("taskDefinition")["status"] as? String == "ACTIVE")
        }
    }

    @Test func aPathNoRouteServesIsRefusedInTheRESTFormat() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let typo = try await api.rest(.get, "/v1/clusterz", as: h.a)
            #expect(typo.status == 404 && typo.errorType == "UnknownOperationException", "\(typo.status) \(typo.json)")
            #expect(typo.message.contains("GET /v1/clusterz"))
            let unsigned = try await api.send(.get, "/nowhere", as: h.a)
            #expect(unsigned.status == 404 && unsigned.errorType == "UnknownOperationException")
            #expect(try await api.rest(.get, "/v1/clusters", as: h.a).status == 200, "routed paths are untouched")
        }
    }
}
