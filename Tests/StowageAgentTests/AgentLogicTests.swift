import Foundation
import StowageModel
import NIOCore
import Testing
@testable import StowageAgent

@Suite struct AgentLogicTests {
    @Test func theLogBufferIsBoundedAndCountsWhatItDrops() {
        var state = TelemetryState()
        let a = TelemetryState.LogKey(task: "t1", group: "g", stream: "s1")
        let b = TelemetryState.LogKey(task: "t2", group: "g", stream: "s2")
        func line(_ message: String, _ at: Int) -> TelemetryState.BufferedLine {
            TelemetryState.BufferedLine(event: AgentProtocol.LogEvent(timestamp: Int64(at), message: message), container: "c",
                                        position: LogPosition(nanos: Int64(at), taken: 1))
        }
        state.buffer(a, (0..<6).map { line("a\($0)", $0) }, limit: 8)
        state.buffer(b, (0..<4).map { line("b\($0)", $0) }, limit: 8)
        #expect(state.bufferedLines == 8)
        #expect(state.dropped == 2)
        #expect(state.logs[a]?.first?.event.message == "a2", "the oldest lines of the fullest stream go first")
        #expect(state.logs[b]?.count == 4)
        state.requeue(b, [line("again", -1)], limit: 9)
        #expect(state.logs[b]?.first?.event.message == "again", "a failed shipment goes back in front")
        #expect(state.bufferedLines == 9 && state.dropped == 2)
        state.trim(limit: 8)
        #expect(state.logs[b]?.first?.event.message == "b0" && state.dropped == 3, "under pressure the oldest line goes first")
    }

    @Test func containersStartInDependsOnOrder() {
        func container(_ name: String, after: [String] = []) -> LocalContainer {
            var definition = ContainerDefinition(name: name, image: "busybox")
            definition.dependsOn = after.map { ContainerDependency(containerName: $0, condition: "START") }
            return LocalContainer(definition: definition, bindings: [])
        }
        let containers = [container("app", after: ["db", "cache"]), container("db"), container("cache", after: ["db"])]
        let order = AgentDecisions.startOrder(containers).map { containers[$0].name }
        #expect(order == ["db", "cache", "app"])
    }

    @Test func logStreamsFollowECSNaming() {
        var definition = ContainerDefinition(name: "web", image: "busybox")
        definition.logConfiguration = LogConfiguration(logDriver: "awslogs", options: ["awslogs-group": "/ecs/web", "awslogs-stream-prefix": "svc"])
        let assignment = AgentProtocol.AssignedTask(taskArn: "arn:aws:ecs:us-east-1:123456789012:task/c/abc", family: "web", revision: 1,
                                                    desiredStatus: "RUNNING", lastStatus: "PENDING", containers: [],
                                                    taskDefinition: TaskDefinition(), overrides: nil)
        let task = LocalTask(assignment: assignment, containers: [])
        let key = Agent.logDestination(task, LocalContainer(definition: definition, bindings: []))
        #expect(key?.group == "/ecs/web" && key?.stream == "svc/web/abc")
        #expect(Agent.logDestination(task, LocalContainer(definition: ContainerDefinition(name: "x", image: "y"), bindings: [])) == nil)
    }
}

@Suite struct ProcessRuntimeTests {
    @Test func runsStopsExecsAndLogsHostProcesses() async throws {
        let dir = NSTemporaryDirectory() + "stowage-process-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let runtime = ProcessRuntime(directory: dir)
        let id = try await runtime.create(ContainerSpec(
            name: "p", image: "-", command: ["/bin/sh", "-c", "echo hello; echo oops >&2; echo $GREETING; exec sleep 30"],
            environment: ["GREETING": "hi"], workingDirectory: "/tmp", labels: ["stowage.task": "t", "stowage.instance": "i1"]))
        try await runtime.start(id)
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await runtime.inspect(id)?.running == true)
        #expect(try await runtime.exec(id, command: ["/bin/sh", "-c", "test \"$GREETING\" = hi && test \"$(pwd)\" = /tmp"], timeout: .seconds(5)) == 0)
        #expect(try await runtime.exec(id, command: ["/bin/false"], timeout: .seconds(5)) == 1)
        let logs = try await runtime.logs(id, since: nil)
        #expect(logs.filter { !$0.stderr }.map(\.message) == ["hello", "hi"])
        #expect(logs.filter(\.stderr).map(\.message) == ["oops"])
        #expect(try await runtime.logs(id, since: nil).isEmpty, "lines are read once")
        #expect((try await runtime.stats(id)?.memoryBytes ?? 0) > 0)
        #expect(try await runtime.list(label: "stowage.instance=i1").map(\.id) == [id])
        #expect(try await runtime.list(label: "stowage.instance=other").isEmpty)
        try await runtime.stop(id, timeout: 2)
        let stopped = try await runtime.inspect(id)
        #expect(stopped?.running == false)
        #expect(stopped?.exitCode == 128 + 15, "SIGTERM ends sleep")
        try await runtime.remove(id)
        #expect(try await runtime.inspect(id) == nil)
    }

    @Test func aProcessIgnoringSIGTERMIsKilledAfterTheTimeout() async throws {
        let dir = NSTemporaryDirectory() + "stowage-process-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let runtime = ProcessRuntime(directory: dir)
        let id = try await runtime.create(ContainerSpec(name: "stubborn", image: "-", command: ["/bin/sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"]))
        try await runtime.start(id)
        try await Task.sleep(for: .milliseconds(200))
        let started = Date()
        try await runtime.stop(id, timeout: 1)
        #expect(Date().timeIntervalSince(started) >= 1)
        #expect(try await runtime.inspect(id)?.exitCode == 128 + 9)
        try await runtime.remove(id)
    }
}

@Suite struct LogStreamTests {
    func frame(_ stream: UInt8, _ text: String) -> [UInt8] {
        let bytes = Array(text.utf8)
        let size = UInt32(bytes.count)
        return [stream, 0, 0, 0, UInt8(size >> 24), UInt8((size >> 16) & 0xff), UInt8((size >> 8) & 0xff), UInt8(size & 0xff)] + bytes
    }

    @Test func partialFramesAreJoinedAndAnOpenFragmentWaits() {
        var bytes = frame(1, "2026-11-21T21:00:00.000000001Z first\n")
        bytes += frame(1, "2026-11-21T21:00:00.000000002Z sec")
        bytes += frame(2, "2026-11-21T21:00:00.000000003Z err\n")
        bytes += frame(1, "2026-11-21T21:00:00.000000004Z ond\n")
        bytes += frame(1, "2026-11-21T21:00:00.5Z unfinished")
        let lines = DockerRuntime.demultiplex(ByteBuffer(bytes: bytes))
        #expect(lines.map(\.message) == ["first", "err", "second"])
        #expect(lines.map(\.stderr) == [false, true, false])
        #expect(lines[2].nanos == lines[0].nanos + 1, "a joined line keeps its first fragment's time, exactly")
        #expect(DockerRuntime.nanos("2026-11-21T21:00:00.5Z")! % 1_000_000_000 == 500_000_000)
    }
}
