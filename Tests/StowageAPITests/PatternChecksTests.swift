import Foundation
@testable import StowageAPI
import StowageModel
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 23 item 7: tenant patterns run on PatternChecks' own low-priority threads, one at a time per account, and a
/// check that cannot start in time is refused instead of queueing.
@Suite struct PatternChecksTests {
    /// Where a check ran: its thread's name and nice value, and whether it ran at all.
    static func probe(seconds: Double = 0) -> @Sendable () throws(APIError) -> (String?, Int32) {
        {
            if seconds > 0 { Thread.sleep(forTimeInterval: seconds) }
            return (Thread.current.name, getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0))
        }
    }

    @Test func checksRunOnTheirOwnLowPriorityThreads() async throws {
        let checks = PatternChecks(lanes: 1, perAccount: 1, maxWait: .seconds(1))
        let (name, nice) = try await checks.run(account: "111111111111", Self.probe())
        #expect(name == "stowage-regex")
        #expect(nice == 10)
        // The check's own error reaches the caller unchanged.
        await #expect(throws: APIError.self) {
            try await checks.run(account: "111111111111") { () throws(APIError) in try ParameterRules.checkPattern("^a$", value: "b") }
        }
    }

    @Test func anAccountRunsOneCheckAtATimeAndAWaitingOneIsRefusedInTime() async throws {
        let checks = PatternChecks(lanes: 2, perAccount: 1, maxWait: .milliseconds(200))
        let clock = ContinuousClock()
        let started = clock.now
        let refusals = try await withThrowingTaskGroup(of: String?.self) { group in
            // A's first check holds its share for 0.6 s: A's second waits 0.2 s and is refused; B's runs at once.
            group.addTask { _ = try await checks.run(account: "A", Self.probe(seconds: 0.6)); return nil }
            try await Task.sleep(for: .milliseconds(50))
            group.addTask {
                do { _ = try await checks.run(account: "A", Self.probe()) } catch let error as APIError {
                    #expect(clock.now - started < .milliseconds(500), "refused when its wait ran out, not when A's check ended")
                    return error.code + ": " + error.message
                }
                return nil
            }
            group.addTask {
                _ = try await checks.run(account: "B", Self.probe())
                #expect(clock.now - started < .milliseconds(400), "another account's check does not wait behind A's")
                return nil
            }
            var out: [String] = []
            for try await refusal in group { if let refusal { out.append(refusal) } }
            return out
        }
        #expect(refusals.count == 1)
        #expect(refusals.first?.hasPrefix("ThrottlingException: Too many AllowedPattern checks at once: account A already runs 1") == true)
        // Once A's check ended, A's next one runs.
        _ = try await checks.run(account: "A", Self.probe())
    }
}
