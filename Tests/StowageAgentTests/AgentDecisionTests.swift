import Foundation
import Logging
import StowageModel
import Synchronization
import Testing
@testable import StowageAgent

/// The agent's decisions, pure (desired set, tracked tasks, now -> what to do), and the actor driven through
/// them with a fake runtime and a clock the test moves.
@Suite struct AgentDecisionTests {
    func assignment(_ id: String, _ desired: String = "RUNNING") -> AgentProtocol.AssignedTask {
        AgentProtocol.AssignedTask(taskArn: "arn:aws:ecs:us-east-1:123456789012:task/c/\(id)", family: "f", revision: 1,
                                   desiredStatus: desired, lastStatus: "PENDING", containers: [], taskDefinition: TaskDefinition(),
                                   overrides: nil)
    }

    func arn(_ id: String) -> String { "arn:aws:ecs:us-east-1:123456789012:task/c/\(id)" }

    @Test func convergeStartsNewStopsAskedDiscardsForgottenAndReportsUnknownStops() {
        let tracked: [String: AgentDecisions.Tracked] = [
            arn("running"): .init(status: .running, stopRequested: false, busy: false),
            arn("stopping"): .init(status: .running, stopRequested: true, busy: true),
            arn("to-stop"): .init(status: .running, stopRequested: false, busy: false),
            arn("forgotten"): .init(status: .running, stopRequested: false, busy: false),
            arn("forgotten-busy"): .init(status: .activating, stopRequested: false, busy: true),
        ]
        let desired = [assignment("running"), assignment("new"), assignment("stopping", "STOPPED"), assignment("to-stop", "STOPPED"),
                       assignment("never-here", "STOPPED"), assignment("new")]
        let decision = AgentDecisions.converge(desired: desired, tracked: tracked)
        #expect(decision.start == [arn("new")], "a repeated assignment starts once")
        #expect(decision.stop == [arn("to-stop")], "a stop already requested is not requested again")
        #expect(decision.discard == [arn("forgotten")], "a busy task is left to finish what it does")
        #expect(decision.reportStopped == [arn("never-here")])
        #expect(AgentDecisions.converge(desired: desired.filter { $0.taskArn != arn("new") }, tracked: tracked).start.isEmpty)
    }

    @Test func dependencyConditions() {
        var other = LocalContainer(definition: ContainerDefinition(name: "db", image: "x"), bindings: [])
        other.status = "RUNNING"
        #expect(AgentDecisions.dependency("START", on: other) == .met)
        #expect(AgentDecisions.dependency("COMPLETE", on: other) == .waiting)
        #expect(AgentDecisions.dependency("SUCCESS", on: other) == .waiting)
        #expect(AgentDecisions.dependency("HEALTHY", on: other) == .waiting)
        other.status = "STOPPED"
        other.exitCode = 2
        #expect(AgentDecisions.dependency("COMPLETE", on: other) == .met)
        #expect(AgentDecisions.dependency("SUCCESS", on: other) == .failed("dependency db exited 2"))
        #expect(AgentDecisions.dependency("HEALTHY", on: other) == .failed("dependency db stopped before it was HEALTHY"))
        other.exitCode = 0
        #expect(AgentDecisions.dependency("SUCCESS", on: other) == .met)
    }

    @Test func healthChecksFollowIntervalStartPeriodAndRetries() {
        var definition = ContainerDefinition(name: "web", image: "x")
        definition.healthCheck = HealthCheck(command: ["CMD", "true"], interval: 10, retries: 2, startPeriod: 30)
        var container = LocalContainer(definition: definition, bindings: [])
        let t0 = Date(timeIntervalSince1970: 1_000_000)
        container.status = "RUNNING"
        container.startedAt = t0
        #expect(AgentDecisions.checkDue(container, now: t0))
        container = AgentDecisions.afterCheck(container, passed: false, now: t0.addingTimeInterval(5))
        #expect(container.failures == 0 && container.health == "UNKNOWN", "failures in the start period do not count")
        #expect(!AgentDecisions.checkDue(container, now: t0.addingTimeInterval(14)), "the interval is respected")
        container = AgentDecisions.afterCheck(container, passed: false, now: t0.addingTimeInterval(31))
        #expect(container.failures == 1 && container.health == "UNKNOWN")
        container = AgentDecisions.afterCheck(container, passed: false, now: t0.addingTimeInterval(41))
        #expect(container.health == "UNHEALTHY")
        #expect(AgentDecisions.taskHealth([container]) == "UNHEALTHY")
        container = AgentDecisions.afterCheck(container, passed: true, now: t0.addingTimeInterval(51))
        #expect(container.health == "HEALTHY" && container.failures == 0)
        #expect(AgentDecisions.taskHealth([container]) == "HEALTHY")
        #expect(AgentDecisions.taskHealth([LocalContainer(definition: ContainerDefinition(name: "x", image: "y"), bindings: [])]) == "UNKNOWN")
    }

    @Test func theAgentChecksHealthOnTheInjectedClock() async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 2_000_000))
        let runtime = FakeRuntime()
        var config = AgentConfig(cluster: "c", stateDirectory: NSTemporaryDirectory() + "stowage-fake-\(UUID().uuidString)")
        config.clock = clock
        var server = ServerClient(endpoint: "http://127.0.0.1:9", accessKeyId: "AKIAEXAMPLE", secret: "s", region: "us-east-1", clock: clock)
        server.requestTimeout = .milliseconds(200)
        let agent = Agent(config: config, server: server, runtime: runtime, logger: Logger(label: "test"))
        var web = ContainerDefinition(name: "web", image: "x")
        web.healthCheck = HealthCheck(command: ["CMD", "probe"], interval: 30, retries: 1)
        var definition = TaskDefinition()
        definition.containerDefinitions = [web]
        var task = assignment("h")
        task.taskDefinition = definition
        await agent.track(task)
        await agent.startTask(task.taskArn)
        #expect(await agent.tasks[task.taskArn]?.status == .running)
        #expect(runtime.checks == 0)
        await agent.checkHealth(task.taskArn)
        var health = await agent.tasks[task.taskArn]?.health
        #expect(runtime.checks == 1 && health == "HEALTHY")
        runtime.failChecks()
        clock.advance(10)
        await agent.checkHealth(task.taskArn)
        #expect(runtime.checks == 1, "not due for another 20 s on the agent's clock")
        clock.advance(25)
        await agent.checkHealth(task.taskArn)
        health = await agent.tasks[task.taskArn]?.health
        #expect(runtime.checks == 2 && health == "UNHEALTHY")
    }
}

final class ManualClock: WallClock, Sendable {
    private let time: Mutex<Date>
    init(_ start: Date) { time = Mutex(start) }
    func now() -> Date { time.withLock { $0 } }
    func advance(_ seconds: TimeInterval) { time.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

/// An in-memory engine: containers run until stopped; health checks pass until told to fail.
final class FakeRuntime: ContainerRuntime, Sendable {
    private struct State {
        var running: [String: Bool] = [:]
        var checks = 0
        var failing = false
    }

    private let state = Mutex(State())
    let kind = "fake"
    let hasImages = false
    var checks: Int { state.withLock { $0.checks } }
    func failChecks() { state.withLock { $0.failing = true } }

    func ping() async -> Bool { true }
    func create(_ spec: ContainerSpec) async throws -> String {
        let id = UUID().uuidString
        state.withLock { $0.running[id] = false }
        return id
    }
    func start(_ id: String) async throws { state.withLock { $0.running[id] = true } }
    func stop(_ id: String, timeout: Int) async throws { state.withLock { $0.running[id] = false } }
    func remove(_ id: String) async throws { _ = state.withLock { $0.running.removeValue(forKey: id) } }
    func inspect(_ id: String) async throws -> ContainerStatus? {
        state.withLock { s in s.running[id].map { ContainerStatus(running: $0, exitCode: $0 ? nil : 0) } }
    }
    func list(label: String) async throws -> [ListedContainer] { [] }
    func exec(_ id: String, command: [String], timeout: Duration) async throws -> Int {
        state.withLock { s in
            s.checks += 1
            return s.failing ? 1 : 0
        }
    }
    func logs(_ id: String, since: Int64?) async throws -> [LogLine] { [] }
    func stats(_ id: String) async throws -> ContainerStats? { nil }
    func volumeExists(_ name: String) async throws -> Bool { false }
    func createVolume(_ name: String, driver: String, options: [String: String], labels: [String: String]) async throws {}
    func removeVolumes(label: String) async throws {}
    func image(_ reference: String) async throws -> ImageInfo? { ImageInfo(id: reference) }
    func pull(_ reference: String, auth: String?) async throws {}
    func images() async throws -> [ImageInfo] { [] }
    func removeImage(_ id: String) async throws -> Bool { false }
    func imageStorePath() async -> String? { nil }
}
