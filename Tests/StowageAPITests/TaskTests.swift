import Foundation
import Testing

func instanceBody(cluster: String, cpu: Int = 1024, memory: Int = 1024, zone: String = "a") -> String {
    json(["cluster": cluster, "totalResources": [
        ["name": "CPU", "type": "INTEGER", "integerValue": cpu],
        ["name": "MEMORY", "type": "INTEGER", "integerValue": memory],
        ["name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22"]],
    ], "attributes": [["name": "zone", "value": zone]]])
}

func taskDefinitionBody(_ family: String, memory: Int = 128, hostPort: Int? = 0) -> String {
    var mapping: [String: Any] = ["containerPort": 80]
    if let hostPort { mapping["hostPort"] = hostPort }
    return json(["family": family, "containerDefinitions": [
        ["name": "app", "image": "busybox", "memory": memory, "portMappings": [mapping]],
    ]])
}

@Suite struct TaskTests {
    @Test func runTaskPlacesOrReportsWhyNot() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            _ = try await api.ecs("CreateCluster", json(["clusterName": "run"]), as: h.a)
            var instances: [String] = []
            for zone in ["a", "b"] {
                let r = try await api.ecs("RegisterContainerInstance", instanceBody(cluster: "run", zone: zone), as: h.a)
                instances.append(r.object("containerInstance")["containerInstanceArn"] as? String ?? "")
            }
            _ = try await api.ecs("RegisterTaskDefinition", taskDefinitionBody("big", memory: 600), as: h.a)
            let run = try await api.ecs("RunTask", json(["cluster": "run", "taskDefinition": "big", "count": 3, "startedBy": "test"]), as: h.a)
            #expect(run.status == 200)
            #expect(run.array("tasks").count == 2)
            #expect(run.array("failures").map { $0["reason"] as? String } == ["RESOURCE:MEMORY"])
            let hosts = Set(run.array("tasks").compactMap { $0["containerInstanceArn"] as? String })
            #expect(hosts == Set(instances), "one 600 MiB task per 1024 MiB instance")
            for task in run.array("tasks") {
                #expect(task["lastStatus"] as? String == "PENDING" && task["desiredStatus"] as? String == "RUNNING")
                let binding = ((task["containers"] as? [[String: Any]])?.first?["networkBindings"] as? [[String: Any]])?.first
                let port = binding?["hostPort"] as? Int ?? 0
                #expect((49153...65535).contains(port), "a dynamic host port from the ephemeral range")
            }
            let listed = try await api.ecs("ListTasks", json(["cluster": "run", "startedBy": "test"]), as: h.a)
            #expect(listed.strings("taskArns").count == 2)
            let described = try await api.ecs("DescribeTasks", json(["cluster": "run", "tasks": listed.strings("taskArns") + ["nope"]]), as: h.a)
            #expect(described.array("tasks").count == 2 && described.array("failures").count == 1)

            let taskArn = listed.strings("taskArns")[0]
            let stopped = try await api.ecs("StopTask", json(["cluster": "run", "task": taskArn, "reason": "done here"]), as: h.a)
            #expect(stopped.object("task")["desiredStatus"] as? String == "STOPPED")
            #expect(stopped.object("task")["stoppedReason"] as? String == "done here")
            #expect(stopped.object("task")["stopCode"] as? String == "UserInitiated")
            #expect(try await api.ecs("ListTasks", json(["cluster": "run", "desiredStatus": "STOPPED"]), as: h.a).strings("taskArns") == [taskArn])
        }
    }

    @Test func dynamicPortsNeverCollideOnOneInstance() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            _ = try await api.ecs("CreateCluster", json(["clusterName": "ports"]), as: h.a)
            _ = try await api.ecs("RegisterContainerInstance", instanceBody(cluster: "ports", cpu: 4096, memory: 4096), as: h.a)
            _ = try await api.ecs("RegisterTaskDefinition", taskDefinitionBody("web", memory: 64), as: h.a)
            _ = try await api.ecs("RegisterTaskDefinition", taskDefinitionBody("fixed", memory: 64, hostPort: 8080), as: h.a)
            var ports = Set<Int>()
            for _ in 0..<3 {
                let run = try await api.ecs("RunTask", json(["cluster": "ports", "taskDefinition": "web", "count": 4]), as: h.a)
                for task in run.array("tasks") {
                    let binding = ((task["containers"] as? [[String: Any]])?.first?["networkBindings"] as? [[String: Any]])?.first
                    let fresh = ports.insert(binding?["hostPort"] as? Int ?? -1).inserted
                    #expect(fresh)
                }
            }
            #expect(ports.count == 12)
            #expect(try await api.ecs("RunTask", json(["cluster": "ports", "taskDefinition": "fixed"]), as: h.a).array("tasks").count == 1)
            let clash = try await api.ecs("RunTask", json(["cluster": "ports", "taskDefinition": "fixed"]), as: h.a)
            #expect(clash.array("failures").first?["reason"] as? String == "RESOURCE:PORTS")
        }
    }

    @Test func constraintsStrategiesAndIdempotency() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            _ = try await api.ecs("CreateCluster", json(["clusterName": "rules"]), as: h.a)
            for zone in ["a", "b", "b"] {
                _ = try await api.ecs("RegisterContainerInstance", instanceBody(cluster: "rules", cpu: 4096, memory: 4096, zone: zone), as: h.a)
            }
            _ = try await api.ecs("RegisterTaskDefinition", taskDefinitionBody("web", memory: 64, hostPort: nil), as: h.a)
            let inB = try await api.ecs("RunTask", json([
                "cluster": "rules", "taskDefinition": "web", "count": 4,
                "placementConstraints": [["type": "memberOf", "expression": "attribute:zone == b"]],
            ]), as: h.a)
            #expect(inB.array("tasks").count == 4)
            let bInstances = try await api.ecs("ListContainerInstances", json(["cluster": "rules", "filter": "attribute:zone == b"]), as: h.a)
            #expect(bInstances.strings("containerInstanceArns").count == 2)
            #expect(Set(inB.array("tasks").compactMap { $0["containerInstanceArn"] as? String }).isSubset(of: Set(bInstances.strings("containerInstanceArns"))))

            let distinct = try await api.ecs("RunTask", json([
                "cluster": "rules", "taskDefinition": "web", "count": 4, "group": "singletons",
                "placementConstraints": [["type": "distinctInstance"]],
            ]), as: h.a)
            #expect(distinct.array("tasks").count == 3)
            #expect(distinct.array("failures").map { $0["reason"] as? String } == ["DistinctInstance"])

            let bad = try await api.ecs("RunTask", json([
                "cluster": "rules", "taskDefinition": "web",
                "placementConstraints": [["type": "memberOf", "expression": "attribute:zone in [a, b"]],
            ]), as: h.a)
            #expect(bad.errorType == "InvalidParameterException" && bad.message.contains("Invalid constraint expression"))
            let badFilter = try await api.ecs("ListContainerInstances", json(["cluster": "rules", "filter": "zone == a"]), as: h.a)
            #expect(badFilter.errorType == "InvalidParameterException")

            let first = try await api.ecs("RunTask", json(["cluster": "rules", "taskDefinition": "web", "count": 2, "clientToken": "abc"]), as: h.a)
            let again = try await api.ecs("RunTask", json(["cluster": "rules", "taskDefinition": "web", "count": 2, "clientToken": "abc"]), as: h.a)
            #expect(Set(first.array("tasks").compactMap { $0["taskArn"] as? String }) == Set(again.array("tasks").compactMap { $0["taskArn"] as? String }))
            #expect(try await api.ecs("ListTasks", json(["cluster": "rules"]), as: h.a).strings("taskArns").count == 4 + 3 + 2)
        }
    }

    @Test func badTaskRequestsWriteNothing() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            _ = try await api.ecs("CreateCluster", json(["clusterName": "bad"]), as: h.a)
            let instance = try await api.ecs("RegisterContainerInstance", instanceBody(cluster: "bad"), as: h.a)
            let instanceArn = instance.object("containerInstance")["containerInstanceArn"] as? String ?? ""
            _ = try await api.ecs("RegisterTaskDefinition", taskDefinitionBody("web"), as: h.a)
            _ = try await api.ecs("RegisterTaskDefinition", taskDefinitionBody("old"), as: h.a)
            _ = try await api.ecs("DeregisterTaskDefinition", json(["taskDefinition": "old:1"]), as: h.a)
            let cases: [(String, String, String)] = [
                ("RunTask", json(["cluster": "bad", "taskDefinition": "web", "count": 11]), "InvalidParameterException"),
                ("RunTask", json(["cluster": "bad", "taskDefinition": "ghost"]), "ClientException"),
                ("RunTask", json(["cluster": "bad", "taskDefinition": "old:1"]), "ClientException"),
                ("RunTask", json(["cluster": "ghost", "taskDefinition": "web"]), "ClusterNotFoundException"),
                ("RunTask", json(["cluster": "bad", "taskDefinition": "web", "placementStrategy": [["type": "binpack", "field": "disk"]]]), "InvalidParameterException"),
                ("RunTask", json(["cluster": "bad", "taskDefinition": "web", "overrides": ["containerOverrides": [["name": "ghost"]]]]), "InvalidParameterException"),
                ("StopTask", json(["cluster": "bad", "task": "0123"]), "InvalidParameterException"),
                ("ListTasks", json(["cluster": "bad", "desiredStatus": "DONE"]), "InvalidParameterException"),
            ]
            for (action, body, type) in cases {
                let answer = try await api.ecs(action, body, as: h.a)
                #expect(answer.status == 400 && answer.errorType == type, "\(action) \(body): \(answer.json)")
            }
            _ = try await api.ecs("UpdateContainerInstancesState", json(["cluster": "bad", "containerInstances": [instanceArn], "status": "DRAINING"]), as: h.a)
            let draining = try await api.ecs("StartTask", json(["cluster": "bad", "taskDefinition": "web", "containerInstances": [instanceArn]]), as: h.a)
            #expect(draining.errorType == "InvalidParameterException" && draining.message.contains("DRAINING"))
            let foreign = try await api.ecs("StartTask", json(["cluster": "bad", "taskDefinition": "web", "containerInstances": [instanceArn]]), as: h.b)
            #expect(foreign.errorType == "AccessDeniedException")
            #expect(try await api.ecs("ListTasks", json(["cluster": "bad", "desiredStatus": "RUNNING"]), as: h.a).strings("taskArns").isEmpty)
            #expect(try await api.ecs("ListTasks", json(["cluster": "bad", "desiredStatus": "STOPPED"]), as: h.a).strings("taskArns").isEmpty)
        }
    }

    @Test func startTaskTargetsAnInstance() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            _ = try await api.ecs("CreateCluster", json(["clusterName": "start"]), as: h.a)
            var arns: [String] = []
            for _ in 0..<2 {
                arns.append(try await api.ecs("RegisterContainerInstance", instanceBody(cluster: "start"), as: h.a)
                    .object("containerInstance")["containerInstanceArn"] as? String ?? "")
            }
            _ = try await api.ecs("RegisterTaskDefinition", taskDefinitionBody("web", memory: 600), as: h.a)
            let started = try await api.ecs("StartTask", json(["cluster": "start", "taskDefinition": "web", "containerInstances": [arns[1]]]), as: h.a)
            #expect(started.array("tasks").first?["containerInstanceArn"] as? String == arns[1])
            let full = try await api.ecs("StartTask", json(["cluster": "start", "taskDefinition": "web", "containerInstances": [arns[1]]]), as: h.a)
            #expect(full.array("failures").first?["reason"] as? String == "RESOURCE:MEMORY")
            #expect(full.array("failures").first?["arn"] as? String == arns[1])
            let instance = try await api.ecs("DescribeContainerInstances", json(["cluster": "start", "containerInstances": [arns[1]]]), as: h.a)
            let described = instance.array("containerInstances").first ?? [:]
            #expect(described["pendingTasksCount"] as? Int == 1)
            let memory = (described["remainingResources"] as? [[String: Any]])?.first { $0["name"] as? String == "MEMORY" }
            #expect(memory?["integerValue"] as? Int == 1024 - 600)
            let refused = try await api.ecs("DeregisterContainerInstance", json(["cluster": "start", "containerInstance": arns[1]]), as: h.a)
            #expect(refused.errorType == "InvalidParameterException" && refused.message.contains("running tasks"))
            let cluster = try await api.ecs("DeleteCluster", json(["cluster": "start"]), as: h.a)
            #expect(cluster.errorType == "ClusterContainsTasksException")
        }
    }
}
