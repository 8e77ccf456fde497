import Foundation
import Testing

/// Service helpers over the ECS door.
extension Harness.Client {
    func service(_ cluster: String, _ name: String, as tenant: Tenant) async throws -> [String: Any] {
        try await ecs("DescribeServices", json(["cluster": cluster, "services": [name]]), as: tenant).array("services").first ?? [:]
    }

    func tasks(_ cluster: String, service: String, as tenant: Tenant) async throws -> [[String: Any]] {
        let arns = try await ecs("ListTasks", json(["cluster": cluster, "serviceName": service]), as: tenant).strings("taskArns")
        guard !arns.isEmpty else { return [] }
        return try await ecs("DescribeTasks", json(["cluster": cluster, "tasks": arns]), as: tenant).array("tasks")
    }

    func instances(_ cluster: String, count: Int, memory: Int = 4096, as tenant: Tenant) async throws -> [String] {
        var arns: [String] = []
        for i in 0..<count {
            let r = try await ecs("RegisterContainerInstance", instanceBody(cluster: cluster, cpu: 4096, memory: memory, zone: ["a", "b"][i % 2]), as: tenant)
            let arn = r.object("containerInstance")["containerInstanceArn"] as? String ?? ""
            arns.append(arn)
            InstanceKeys.shared.remember(arn, r, tenant: tenant)
        }
        return arns
    }
}

func deployments(_ service: [String: Any]) -> [[String: Any]] { service["deployments"] as? [[String: Any]] ?? [] }
func events(_ service: [String: Any]) -> [String] { (service["events"] as? [[String: Any]] ?? []).compactMap { $0["message"] as? String } }

@Suite struct ServiceTests {
    @Test func serviceReachesSteadyStateRollsOutAndDeletes() async throws {
        let h = try await Harness.make(freshDatabase: true)
        try await h.runWithWorker { api in
            _ = try await api.ecs("CreateCluster", json(["clusterName": "svc"]), as: h.a)
            let hosts = try await api.instances("svc", count: 2, as: h.a)
            let agent = FakeAgent(api: api, tenant: h.a, cluster: "svc")
            _ = try await api.ecs("RegisterTaskDefinition", taskDefinitionBody("web", memory: 64), as: h.a)
            _ = try await api.ecs("RegisterTaskDefinition", taskDefinitionBody("web", memory: 64), as: h.a)
            let created = try await api.ecs("CreateService", json([
                "cluster": "svc", "serviceName": "web", "taskDefinition": "web:1", "desiredCount": 3,
            ]), as: h.a)
            #expect(created.status == 200)
            #expect(created.object("service")["status"] as? String == "ACTIVE")
            #expect(deployments(created.object("service")).first?["rolloutState"] as? String == "IN_PROGRESS")

            #expect(try await eventually {
                try await agent.step(hosts)
                let s = try await api.service("svc", "web", as: h.a)
                return s["runningCount"] as? Int == 3 && deployments(s).first?["rolloutState"] as? String == "COMPLETED"
            })
            #expect(events(try await api.service("svc", "web", as: h.a)).contains("(service web) has reached a steady state."))

            // Rolling update to web:2 at 100/200: never more than 6 running, never fewer than 3 healthy.
            _ = try await api.ecs("UpdateService", json(["cluster": "svc", "service": "web", "taskDefinition": "web:2"]), as: h.a)
            var maxRunning = 0
            #expect(try await eventually(30) {
                try await agent.step(hosts)
                let tasks = try await api.tasks("svc", service: "web", as: h.a)
                let live = tasks.filter { $0["lastStatus"] as? String != "STOPPED" }
                maxRunning = max(maxRunning, live.count)
                let s = try await api.service("svc", "web", as: h.a)
                let d = deployments(s)
                return d.count == 1 && (d.first?["taskDefinition"] as? String)?.hasSuffix("web:2") == true
                    && d.first?["rolloutState"] as? String == "COMPLETED" && s["runningCount"] as? Int == 3
            })
            #expect(maxRunning <= 6, "maximumPercent 200 holds: saw \(maxRunning)")
            let running = try await api.tasks("svc", service: "web", as: h.a).filter { $0["lastStatus"] as? String == "RUNNING" }
            #expect(running.count == 3 && running.allSatisfy { ($0["taskDefinitionArn"] as? String)?.hasSuffix("web:2") == true })

            let refused = try await api.ecs("DeleteService", json(["cluster": "svc", "service": "web"]), as: h.a)
            #expect(refused.errorType == "InvalidParameterException")
            let busy = try await api.ecs("DeleteCluster", json(["cluster": "svc"]), as: h.a)
            #expect(busy.errorType == "ClusterContainsServicesException")

            _ = try await api.ecs("UpdateService", json(["cluster": "svc", "service": "web", "desiredCount": 1]), as: h.a)
            #expect(try await eventually {
                try await agent.step(hosts)
                return try await api.service("svc", "web", as: h.a)["runningCount"] as? Int == 1
            })
            let deleting = try await api.ecs("DeleteService", json(["cluster": "svc", "service": "web", "force": true]), as: h.a)
            #expect(deleting.object("service")["status"] as? String == "DRAINING")
            #expect(try await eventually {
                try await agent.step(hosts)
                return try await api.service("svc", "web", as: h.a)["status"] as? String == "INACTIVE"
            })
            #expect(try await api.ecs("ListServices", json(["cluster": "svc"]), as: h.a).strings("serviceArns").isEmpty)
        }
    }

    @Test func circuitBreakerRollsBackAFailingDeployment() async throws {
        let h = try await Harness.make(freshDatabase: true)
        try await h.runWithWorker { api in
            _ = try await api.ecs("CreateCluster", json(["clusterName": "cb"]), as: h.a)
            let hosts = try await api.instances("cb", count: 2, as: h.a)
            var agent = FakeAgent(api: api, tenant: h.a, cluster: "cb")
            _ = try await api.ecs("RegisterTaskDefinition", taskDefinitionBody("good", memory: 64), as: h.a)
            _ = try await api.ecs("RegisterTaskDefinition", taskDefinitionBody("bad", memory: 64), as: h.a)
            _ = try await api.ecs("CreateService", json([
                "cluster": "cb", "serviceName": "web", "taskDefinition": "good", "desiredCount": 2,
                "deploymentConfiguration": ["deploymentCircuitBreaker": ["enable": true, "rollback": true]],
            ]), as: h.a)
            #expect(try await eventually {
                try await agent.step(hosts)
                return deployments(try await api.service("cb", "web", as: h.a)).first?["rolloutState"] as? String == "COMPLETED"
            })
            agent.failing = ["bad"]
            _ = try await api.ecs("UpdateService", json(["cluster": "cb", "service": "web", "taskDefinition": "bad"]), as: h.a)
            let localAgent = agent
            #expect(try await eventually(40) {
                try await localAgent.step(hosts)
                let s = try await api.service("cb", "web", as: h.a)
                let primary = deployments(s).first { $0["status"] as? String == "PRIMARY" }
                return (primary?["taskDefinition"] as? String)?.hasSuffix("good:1") == true
                    && primary?["rolloutState"] as? String == "COMPLETED" && s["runningCount"] as? Int == 2
            })
            let log = events(try await api.service("cb", "web", as: h.a))
            #expect(log.contains { $0.contains("deployment failed") })
            #expect(log.contains { $0.contains("rolling back to good:1") })
        }
    }

    @Test func unplaceableTasksAreExplainedAndPlacedWhenCapacityArrives() async throws {
        let h = try await Harness.make(freshDatabase: true)
        try await h.runWithWorker { api in
            _ = try await api.ecs("CreateCluster", json(["clusterName": "tight"]), as: h.a)
            _ = try await api.instances("tight", count: 1, memory: 256, as: h.a)
            _ = try await api.ecs("RegisterTaskDefinition", taskDefinitionBody("web", memory: 200), as: h.a)
            _ = try await api.ecs("CreateService", json(["cluster": "tight", "serviceName": "web", "taskDefinition": "web", "desiredCount": 2]), as: h.a)
            #expect(try await eventually {
                events(try await api.service("tight", "web", as: h.a)).contains { $0.contains("unable to place a task") && $0.contains("insufficient memory") }
            })
            let placedBefore = try await api.tasks("tight", service: "web", as: h.a).filter { $0["containerInstanceArn"] != nil }
            #expect(placedBefore.count == 1)
            _ = try await api.instances("tight", count: 1, memory: 256, as: h.a)
            #expect(try await eventually {
                try await api.tasks("tight", service: "web", as: h.a).filter { $0["containerInstanceArn"] != nil }.count == 2
            })
        }
    }

    @Test func daemonServicesFollowInstances() async throws {
        let h = try await Harness.make(freshDatabase: true)
        try await h.runWithWorker { api in
            _ = try await api.ecs("CreateCluster", json(["clusterName": "daemon"]), as: h.a)
            let hosts = try await api.instances("daemon", count: 2, as: h.a)
            _ = try await api.ecs("RegisterTaskDefinition", taskDefinitionBody("log", memory: 32, hostPort: nil), as: h.a)
            let created = try await api.ecs("CreateService", json(["cluster": "daemon", "serviceName": "log", "taskDefinition": "log",
                                                                   "schedulingStrategy": "DAEMON"]), as: h.a)
            #expect(created.object("service")["schedulingStrategy"] as? String == "DAEMON")
            #expect(try await eventually {
                let tasks = try await api.tasks("daemon", service: "log", as: h.a)
                return Set(tasks.compactMap { $0["containerInstanceArn"] as? String }) == Set(hosts) && tasks.count == 2
            })
            let third = try await api.instances("daemon", count: 1, as: h.a)
            #expect(try await eventually {
                let tasks = try await api.tasks("daemon", service: "log", as: h.a)
                return Set(tasks.compactMap { $0["containerInstanceArn"] as? String }) == Set(hosts + third)
            })
            #expect(try await api.service("daemon", "log", as: h.a)["desiredCount"] as? Int == 3)
            let withCount = try await api.ecs("CreateService", json(["cluster": "daemon", "serviceName": "x", "taskDefinition": "log",
                                                                     "schedulingStrategy": "DAEMON", "desiredCount": 2]), as: h.a)
            #expect(withCount.errorType == "InvalidParameterException")
        }
    }

    @Test func agentReportsApplyOnceAndOnlyForTheirOwnTasks() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            _ = try await api.ecs("CreateCluster", json(["clusterName": "rep"]), as: h.a)
            let hosts = try await api.instances("rep", count: 2, memory: 1024, as: h.a)
            _ = try await api.ecs("RegisterTaskDefinition", taskDefinitionBody("web", memory: 600), as: h.a)
            let run = try await api.ecs("RunTask", json(["cluster": "rep", "taskDefinition": "web", "count": 2]), as: h.a)
            let tasks = run.array("tasks")
            let onFirst = tasks.first { $0["containerInstanceArn"] as? String == hosts[0] }?["taskArn"] as? String ?? ""
            let onSecond = tasks.first { $0["containerInstanceArn"] as? String == hosts[1] }?["taskArn"] as? String ?? ""
            let first = hosts[0].components(separatedBy: "/").last ?? ""
            let path = "/agent/v1/clusters/rep/container-instances/\(first)/state"
            let host = try #require(InstanceKeys.shared[hosts[0]], "registration gave the instance its own credential")
            let other = try #require(InstanceKeys.shared[hosts[1]])
            // Only the instance's own credential speaks for it: not the tenant's administrator, not another host.
            let asAdmin = try await api.rest(.post, path, json(["sequence": 9, "tasks": [["taskArn": onFirst, "lastStatus": "RUNNING"]]]), as: h.a)
            #expect(asAdmin.status == 403 && asAdmin.errorType == "AccessDeniedException", "\(asAdmin.json)")
            let asOtherHost = try await api.rest(.post, path, json(["sequence": 9, "tasks": [["taskArn": onFirst, "lastStatus": "RUNNING"]]]), as: other)
            #expect(asOtherHost.status == 403 && asOtherHost.errorType == "AccessDeniedException", "\(asOtherHost.json)")

            let foreign = try await api.rest(.post, path, json(["sequence": 10, "tasks": [["taskArn": onSecond, "lastStatus": "RUNNING"]]]), as: host)
            // One bad entry never refuses a whole report (that would block every later report of the host):
            // it is set aside and named with why, and nothing of it applies.
            #expect(foreign.status == 200 && (foreign["ignored"] as? [String: String])?[onSecond]?.contains("not assigned") == true)
            let unknown = try await api.rest(.post, path, json(["sequence": 11, "tasks": [["taskArn": "feedbeef", "lastStatus": "RUNNING"]]]), as: host)
            #expect(unknown.status == 200 && (unknown["ignored"] as? [String: String])?["feedbeef"] != nil)
            let malformed = try await api.rest(.post, path, json(["sequence": 12, "tasks": [["taskArn": onFirst, "lastStatus": "DANCING"]]]), as: host)
            #expect(malformed.status == 200 && (malformed["ignored"] as? [String: String])?[onFirst]?.contains("not a task status") == true)
            let untouched = try await api.ecs("DescribeTasks", json(["cluster": "rep", "tasks": [onFirst, onSecond]]), as: h.a)
            #expect(untouched.array("tasks").allSatisfy { $0["lastStatus"] as? String != "RUNNING" }, "ignored entries changed nothing")
            let otherTenant = try await api.rest(.post, "/agent/v1/clusters/arn:aws:ecs:us-east-1:\(h.a.account):cluster%2Frep/container-instances/\(first)/state",
                                                 json(["sequence": 13, "tasks": [] as [Any]]), as: h.b)
            #expect(otherTenant.status == 403 || otherTenant.status == 404)

            let ok = try await api.rest(.post, path, json(["sequence": 20, "tasks": [["taskArn": onFirst, "lastStatus": "RUNNING", "healthStatus": "HEALTHY"]]]), as: host)
            #expect(ok.status == 200 && ok["accepted"] as? Bool == true)
            let stale = try await api.rest(.post, path, json(["sequence": 15, "tasks": [["taskArn": onFirst, "lastStatus": "STOPPED"]]]), as: host)
            #expect(stale["accepted"] as? Bool == false, "an older report does not apply")
            let backwards = try await api.rest(.post, path, json(["sequence": 21, "tasks": [["taskArn": onFirst, "lastStatus": "PENDING"]]]), as: host)
            #expect(backwards["accepted"] as? Bool == true)
            let task = try await api.ecs("DescribeTasks", json(["cluster": "rep", "tasks": [onFirst]]), as: h.a).array("tasks").first ?? [:]
            #expect(task["lastStatus"] as? String == "RUNNING", "status never moves backwards")
            #expect(task["healthStatus"] as? String == "HEALTHY")
            #expect(task["startedAt"] != nil)

            let desired = try await api.rest(.get, "/agent/v1/clusters/rep/container-instances/\(first)/tasks", as: host)
            #expect(desired.array("tasks").map { $0["taskArn"] as? String } == [onFirst])
            let peek = try await api.rest(.get, "/agent/v1/clusters/rep/container-instances/\(first)/tasks", as: h.b)
            #expect(peek.status == 403, "another tenant's key is no instance's credential")
        }
    }

    /// A host's reported image digest is pinned for the deployment's other hosts (they pull name@digest), so only
    /// `sha256:` and 64 lower-case hex digits is taken; anything else sets the entry aside by name and records nothing.
    @Test func reportedImageDigestsMustBeSha256() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            _ = try await api.ecs("CreateCluster", json(["clusterName": "digests"]), as: h.a)
            let hosts = try await api.instances("digests", count: 1, as: h.a)
            _ = try await api.ecs("RegisterTaskDefinition", taskDefinitionBody("web", memory: 64), as: h.a)
            let taskArn = try await api.ecs("RunTask", json(["cluster": "digests", "taskDefinition": "web"]), as: h.a)
                .array("tasks").first?["taskArn"] as? String ?? ""
            let host = try #require(InstanceKeys.shared[hosts[0]])
            let path = "/agent/v1/clusters/digests/container-instances/\(hosts[0].components(separatedBy: "/").last ?? "")/state"
            let good = "sha256:" + String(repeating: "0123456789abcdef", count: 4)
            func report(_ digest: String, _ sequence: Int64) async throws -> Answer {
                try await api.rest(.post, path, json(["sequence": sequence, "tasks": [["taskArn": taskArn, "lastStatus": "RUNNING",
                    "containers": [["name": "app", "imageDigest": digest]]]]]), as: host)
            }
            for (i, bad) in ["latest", "sha256:abc", good.uppercased(), "sha256:" + String(repeating: "ab", count: 32) + "\nx",
                             "sha512:" + String(repeating: "0", count: 128), String(good.dropLast()) + "g"].enumerated() {
                let answer = try await report(bad, Int64(10 + i))
                #expect(answer.status == 200 && (answer["ignored"] as? [String: String])?[taskArn]?.contains("imageDigest of container app") == true,
                        "\(bad): \(answer.json)")
            }
            let untouched = try await api.ecs("DescribeTasks", json(["cluster": "digests", "tasks": [taskArn]]), as: h.a).array("tasks").first ?? [:]
            #expect(untouched["lastStatus"] as? String != "RUNNING", "a set-aside entry changed nothing")
            #expect((untouched["containers"] as? [[String: Any]])?.first?["imageDigest"] == nil)

            let accepted = try await report(good, 20)
            #expect(accepted.status == 200 && accepted["ignored"] == nil, "\(accepted.json)")
            let task = try await api.ecs("DescribeTasks", json(["cluster": "digests", "tasks": [taskArn]]), as: h.a).array("tasks").first ?? [:]
            #expect((task["containers"] as? [[String: Any]])?.first?["imageDigest"] as? String == good)
        }
    }
}
