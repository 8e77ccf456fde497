import Foundation
import Testing

@Suite struct TaskDefinitionTests {
    @Test func revisionsDescribeDeregisterAndDelete() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let first = try await api.ecs("RegisterTaskDefinition", registerWeb, as: h.a)
            #expect(first.status == 200)
            #expect(first.object("taskDefinition")["revision"] as? Int == 1)
            let second = try await api.ecs("RegisterTaskDefinition", registerWeb, as: h.a)
            #expect(second.object("taskDefinition")["revision"] as? Int == 2)
            #expect(second.object("taskDefinition")["registeredBy"] as? String == "arn:aws:iam::\(h.a.account):user/admin")

            let latest = try await api.ecs("DescribeTaskDefinition", json(["taskDefinition": "web"]), as: h.a)
            #expect(latest.object("taskDefinition")["revision"] as? Int == 2)
            let byRevision = try await api.ecs("DescribeTaskDefinition", json(["taskDefinition": "web:1"]), as: h.a)
            #expect(byRevision.object("taskDefinition")["revision"] as? Int == 1)
            let arn = "arn:aws:ecs:us-east-1:\(h.a.account):task-definition/web:1"
            #expect(try await api.ecs("DescribeTaskDefinition", json(["taskDefinition": arn]), as: h.a).status == 200)

            let deregistered = try await api.ecs("DeregisterTaskDefinition", json(["taskDefinition": "web:2"]), as: h.a)
            #expect(deregistered.object("taskDefinition")["status"] as? String == "INACTIVE")
            #expect(deregistered.object("taskDefinition")["deregisteredAt"] != nil)
            let afterDeregister = try await api.ecs("DescribeTaskDefinition", json(["taskDefinition": "web"]), as: h.a)
            #expect(afterDeregister.object("taskDefinition")["revision"] as? Int == 1, "a bare family names its latest ACTIVE revision")

            let active = try await api.ecs("ListTaskDefinitions", json(["familyPrefix": "web"]), as: h.a)
            #expect(active.strings("taskDefinitionArns") == [arn])
            let inactive = try await api.ecs("ListTaskDefinitions", json(["status": "INACTIVE"]), as: h.a)
            #expect(inactive.strings("taskDefinitionArns").count == 1)
            let desc = try await api.ecs("ListTaskDefinitions", json(["status": "ACTIVE", "sort": "DESC"]), as: h.a)
            #expect(desc.strings("taskDefinitionArns") == [arn])

            let families = try await api.ecs("ListTaskDefinitionFamilies", json(["familyPrefix": "we"]), as: h.a)
            #expect(families.strings("families") == ["web"])

            let deletion = try await api.ecs("DeleteTaskDefinitions", json(["taskDefinitions": ["web:1", "web:2", "web:9"]]), as: h.a)
            #expect(deletion.array("taskDefinitions").map { $0["revision"] as? Int } == [2])
            #expect(deletion.array("taskDefinitions").first?["status"] as? String == "DELETE_IN_PROGRESS")
            let reasons = deletion.array("failures").compactMap { $0["reason"] as? String }
            #expect(reasons.count == 2)
            #expect(reasons.contains { $0.contains("still in ACTIVE status") })
            #expect(reasons.contains { $0.contains("does not exist") })

            let third = try await api.ecs("RegisterTaskDefinition", registerWeb, as: h.a)
            #expect(third.object("taskDefinition")["revision"] as? Int == 3, "revisions are never reused")
        }
    }

    @Test func paginationAcrossFamilies() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            for family in ["a", "b"] {
                for _ in 0..<2 {
                    _ = try await api.ecs("RegisterTaskDefinition", json([
                        "family": family, "containerDefinitions": [["name": "x", "image": "busybox", "memory": 32]],
                    ]), as: h.a)
                }
            }
            var seen: [String] = []
            var token: String?
            repeat {
                var body: [String: Any] = ["maxResults": 3]
                if let token { body["nextToken"] = token }
                let page = try await api.ecs("ListTaskDefinitions", json(body), as: h.a)
                seen += page.strings("taskDefinitionArns").map { $0.components(separatedBy: "/").last ?? "" }
                token = page["nextToken"] as? String
            } while token != nil
            #expect(seen == ["a:1", "a:2", "b:1", "b:2"])
        }
    }

    @Test func invalidDefinitionsWriteNothing() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let cases: [(String, String)] = [
                (json(["family": "bad", "containerDefinitions": []]), "Container list cannot be empty."),
                (json(["family": "bad", "containerDefinitions": [["name": "x", "image": "busybox"]]]), "At least one of 'memory'"),
                (json(["family": "bad", "containerDefinitions": [["name": "x", "image": "b", "memory": 32, "portMappings": [["containerPort": 0]]]]]), "containerPort"),
                (json(["family": "bad", "containerDefinitions": [["name": "x", "image": "b", "memory": 32], ["name": "x", "image": "b", "memory": 32]]]), "Duplicate"),
                (json(["family": "bad", "containerDefinitions": [["name": "x", "image": "b", "memory": 32, "essential": false]]]), "essential"),
            ]
            for (body, fragment) in cases {
                let answer = try await api.ecs("RegisterTaskDefinition", body, as: h.a)
                #expect(answer.status == 400)
                #expect(answer.errorType == "ClientException")
                #expect(answer.message.contains(fragment), "\(answer.message) should mention \(fragment)")
            }
            let families = try await api.ecs("ListTaskDefinitionFamilies", json(["status": "ALL"]), as: h.a)
            #expect(families.strings("families").isEmpty)
            let good = try await api.ecs("RegisterTaskDefinition", json([
                "family": "bad", "containerDefinitions": [["name": "x", "image": "busybox", "memory": 32]],
            ]), as: h.a)
            #expect(good.object("taskDefinition")["revision"] as? Int == 1, "failed registrations consumed no revision")
        }
    }
}
