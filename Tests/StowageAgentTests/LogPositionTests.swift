import Foundation
import Logging
import StowageModel
import Testing
@testable import StowageAgent

/// A restarted agent resumes each adopted container's log where it was shipped up to: never twice, never skipped.
@Suite struct LogPositionTests {
    func lines(_ stamps: [Int64]) -> [LogLine] {
        stamps.enumerated().map { LogLine(stderr: false, timestamp: Date(timeIntervalSince1970: 0), message: "l\($0.offset)", nanos: $0.element) }
    }

    @Test func aReadResumesAfterTheCursorCountingLinesThatShareATimestamp() {
        let read = lines([90, 100, 100, 100, 120, 120])
        let all = TelemetryState.unread(read, after: nil)
        #expect(all.map(\.position) == [LogPosition(nanos: 90, taken: 1), LogPosition(nanos: 100, taken: 1), LogPosition(nanos: 100, taken: 2),
                                         LogPosition(nanos: 100, taken: 3), LogPosition(nanos: 120, taken: 1), LogPosition(nanos: 120, taken: 2)])
        // Two of the three lines at 100 were taken; a line before the cursor (an engine rounding `since` down) is old.
        let rest = TelemetryState.unread(read, after: LogPosition(nanos: 100, taken: 2))
        #expect(rest.map(\.line.message) == ["l3", "l4", "l5"])
        #expect(TelemetryState.unread(read, after: LogPosition(nanos: 120, taken: 2)).isEmpty)
    }

    @Test func shippedPositionsOnlyMoveForwardPerContainer() {
        var state = TelemetryState()
        func line(_ container: String, _ nanos: Int64, _ taken: Int) -> TelemetryState.BufferedLine {
            TelemetryState.BufferedLine(event: AgentProtocol.LogEvent(timestamp: 0, message: ""), container: container,
                                        position: LogPosition(nanos: nanos, taken: taken))
        }
        state.logCursor = ["a": LogPosition(nanos: 9, taken: 1), "b": LogPosition(nanos: 9, taken: 1)]
        state.shipped([line("a", 5, 1), line("a", 5, 2), line("b", 3, 1), line("forgotten", 4, 1)])
        #expect(state.shippedLog == ["a": LogPosition(nanos: 5, taken: 2), "b": LogPosition(nanos: 3, taken: 1)],
                "a container forgotten while its lines shipped is not saved again")
        #expect(state.shippedLogChanged)
        state.shippedLogChanged = false
        state.shipped([line("a", 4, 9)])
        #expect(state.shippedLog["a"] == LogPosition(nanos: 5, taken: 2) && !state.shippedLogChanged, "an older line moves nothing")
    }

    func agent(stateDirectory: String) -> Agent {
        var server = ServerClient(endpoint: "http://127.0.0.1:9", accessKeyId: "AKIAEXAMPLE", secret: "secret", region: "us-east-1")
        server.requestTimeout = .milliseconds(200)
        return Agent(config: AgentConfig(cluster: "c", stateDirectory: stateDirectory), server: server,
                     runtime: ProcessRuntime(directory: stateDirectory + "/runtime"), logger: Logger(label: "test"))
    }

    @Test func savedPositionsResumeOnlyForContainersThatStillExistAndAreSavedPrivately() async throws {
        let dir = NSTemporaryDirectory() + "stowage-logpos-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try PrivateFiles.directory(dir)
        let saved = ["kept": LogPosition(nanos: 1_700_000_000_123_456_789, taken: 3), "gone": LogPosition(nanos: 7, taken: 1)]
        try PrivateFiles.write(JSONEncoder().encode(saved), to: dir + "/log-positions.json")

        let restarted = agent(stateDirectory: dir)
        await restarted.resumeLogPositions(existing: ["kept", "other"])
        #expect(await restarted.telemetry.logCursor == ["kept": saved["kept"]!], "reading resumes where shipping stopped")
        #expect(await restarted.telemetry.shippedLog == ["kept": saved["kept"]!])
        await restarted.saveLogPositions()
        let written = try JSONDecoder().decode([String: LogPosition].self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/log-positions.json")))
        #expect(written == ["kept": saved["kept"]!], "a container that is gone leaves the saved state")
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: dir + "/log-positions.json")[.posixPermissions] as? Int)
        #expect(mode == 0o600)
        #expect(await restarted.telemetry.shippedLogChanged == false)
    }

    @Test func aFailedSaveIsCountedAndTheAgentCarriesOn() async throws {
        let file = NSTemporaryDirectory() + "stowage-logpos-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: file) }
        try Data("a file, not a directory".utf8).write(to: URL(fileURLWithPath: file))
        let stuck = agent(stateDirectory: file + "/state")
        await stuck.shipTelemetry()
        #expect(await stuck.telemetry.logPositionSaveFailures == 0, "nothing moved, nothing written")
        await stuck.recordShipped(container: "c", LogPosition(nanos: 1, taken: 1))
        await stuck.saveLogPositions()
        await stuck.saveLogPositions()
        #expect(await stuck.telemetry.logPositionSaveFailures == 2)
        #expect(await stuck.telemetry.shippedLogChanged, "kept for the next save, which may succeed")
    }
}

extension Agent {
    func recordShipped(container: String, _ position: LogPosition) {
        telemetry.logCursor[container] = position
        telemetry.shipped([TelemetryState.BufferedLine(event: AgentProtocol.LogEvent(timestamp: 0, message: ""), container: container, position: position)])
    }
}
