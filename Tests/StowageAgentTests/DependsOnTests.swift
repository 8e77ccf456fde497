import Foundation
import Logging
import StowageModel
import Testing
@testable import StowageAgent

/// dependsOn conditions on a real runtime (host processes): a container waits for the one it depends on.
@Suite struct DependsOnTests {
    static let arn = "arn:aws:ecs:us-east-1:123456789012:task/c/0123456789abcdef0123456789abcdef"

    func agent(_ dir: String) -> Agent {
        // No server listens on port 9: reports fail and are kept, which these tests do not need.
        var server = ServerClient(endpoint: "http://127.0.0.1:9", accessKeyId: "AKIAEXAMPLE", secret: "secret", region: "us-east-1")
        server.requestTimeout = .milliseconds(200)
        return Agent(config: AgentConfig(cluster: "c", stateDirectory: dir), server: server,
                     runtime: ProcessRuntime(directory: dir + "/runtime"), logger: Logger(label: "test"))
    }

    func task(first: String, condition: String) -> AgentProtocol.AssignedTask {
        var setup = ContainerDefinition(name: "setup", image: "-")
        setup.command = ["/bin/sh", "-c", first]
        setup.essential = false
        var app = ContainerDefinition(name: "app", image: "-")
        app.command = ["/bin/sh", "-c", "exec sleep 30"]
        app.dependsOn = [ContainerDependency(containerName: "setup", condition: condition)]
        app.startTimeout = 5
        app.stopTimeout = 2
        var definition = TaskDefinition()
        definition.containerDefinitions = [setup, app]
        return AgentProtocol.AssignedTask(taskArn: Self.arn, family: "f", revision: 1, desiredStatus: "RUNNING", lastStatus: "PENDING",
                                          containers: [], taskDefinition: definition, overrides: nil)
    }

    @Test(arguments: ["COMPLETE", "SUCCESS"])
    func aContainerStartsOnceItsDependencyHasFinished(condition: String) async throws {
        let dir = NSTemporaryDirectory() + "stowage-depends-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let agent = agent(dir)
        await agent.track(task(first: "sleep 0.5; exit 0", condition: condition))
        await agent.startTask(Self.arn)
        let started = await agent.tasks[Self.arn]
        #expect(started?.status == .running, "the task runs: \(started?.stoppedReason ?? "")")
        #expect(started?.containers.first { $0.name == "setup" }?.status == "STOPPED")
        #expect(started?.containers.first { $0.name == "setup" }?.exitCode == 0)
        #expect(started?.containers.first { $0.name == "app" }?.status == "RUNNING")
        await agent.stopTask(Self.arn, reason: "test over", code: nil)
    }

    @Test func aFailedSuccessDependencyStopsTheTaskWithTheReason() async throws {
        let dir = NSTemporaryDirectory() + "stowage-depends-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let agent = agent(dir)
        await agent.track(task(first: "exit 3", condition: "SUCCESS"))
        await agent.startTask(Self.arn)
        let task = await agent.tasks[Self.arn]
        #expect(task?.status == .stopped, "stopped, kept until the server acknowledges it")
        let reason = task?.stoppedReason ?? ""
        #expect(reason.contains("setup exited 3"), "the reason says which dependency failed: \(reason)")
    }
}
