import Dispatch
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
    /// Where a check ran: its thread and its nice value.
    static func probe() -> @Sendable () throws(APIError) -> (pthread_t, Int32) {
        { (pthread_self(), getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)) }
    }

    @Test func checksRunOnTheirOwnLowPriorityThreads() async throws {
        let checks = PatternChecks(lanes: 1, perAccount: 1, maxWait: .seconds(1))
        let (thread, nice) = try await checks.run(account: "111111111111", Self.probe())
        let (again, _) = try await checks.run(account: "111111111111", Self.probe())
        // The lane's thread, niced (only the lanes are): not a thread of Swift's cooperative pool.
        #expect(nice == 10)
        #expect(pthread_equal(thread, again) != 0, "one lane, one thread")
        // The check's own error reaches the caller unchanged.
        await #expect(throws: APIError.self) {
            try await checks.run(account: "111111111111") { () throws(APIError) in try ParameterRules.checkPattern("^a$", value: "b") }
        }
    }

    /// No clock in the assertions: A's first check holds its lane until the test lets it go, and meanwhile A's second
    /// is refused once its wait runs out while B's runs on the other lane.
    @Test func anAccountRunsOneCheckAtATimeAndAWaitingOneIsRefused() async throws {
        let checks = PatternChecks(lanes: 2, perAccount: 1, maxWait: .milliseconds(200))
        let running = DispatchSemaphore(value: 0), gate = DispatchSemaphore(value: 0)
        let first = Task {
            try await checks.run(account: "A") { () throws(APIError) -> Bool in
                running.signal()
                gate.wait()
                return true
            }
        }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async { running.wait(); done.resume() }
        }
        var refusal: APIError?
        do { _ = try await checks.run(account: "A", Self.probe()) } catch let error as APIError { refusal = error }
        let other = try? await checks.run(account: "B", Self.probe())
        gate.signal()
        #expect(refusal?.code == "ThrottlingException")
        #expect(refusal?.message.hasPrefix("Too many AllowedPattern checks at once: account A already runs 1 at a time") == true)
        #expect(other?.1 == 10, "another account's check ran on the other lane while A's held its own")
        #expect(try await first.value)
        // Once A's check ended, A's next one runs.
        #expect(try await checks.run(account: "A", Self.probe()).1 == 10)
    }
}
