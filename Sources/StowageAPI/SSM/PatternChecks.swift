import Dispatch
import Foundation
import StowageModel
import StowageStore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Where tenant-written patterns (SSM AllowedPattern) run: on a few threads of their own, never on Swift's
/// cooperative pool, whose threads (one per core) serve every tenant's requests. A check is bounded in steps
/// (`ParameterRules.patternBudget`), but a bounded check run in a loop by many callers is still a core's worth of
/// work: so each account runs at most `perAccount` checks at once, all accounts together at most `lanes`, and a
/// check that cannot start within `maxWait` is refused with ThrottlingException. One tenant's loops then take at
/// most one lane's CPU, and the lanes run at a lower scheduling priority than the API's threads.
final class PatternChecks: Sendable {
    static let shared = PatternChecks(lanes: 2, perAccount: 1, maxWait: .milliseconds(500))

    let maxWait: Duration
    private let accounts: AccountShares
    /// The lanes as one share: a check holds one while it runs, so a submitted check finds a thread idle.
    private let lanes: AccountShares
    private let queue = Mutex<[@Sendable () -> Void]>([])
    private let ready = DispatchSemaphore(value: 0)

    init(lanes: Int, perAccount: Int, maxWait: Duration) {
        self.maxWait = maxWait
        accounts = AccountShares(limit: perAccount)
        self.lanes = AccountShares(limit: lanes)
        for _ in 0..<max(1, lanes) {
            Thread { [self] in lane() }.start()
        }
    }

    /// Runs `work` on a lane, within the account's share; throws ThrottlingException when it cannot start in time.
    func run<T: Sendable>(account: String, _ work: @escaping @Sendable () throws(APIError) -> T) async throws -> T {
        let clock = ContinuousClock()
        let asked = clock.now
        guard await accounts.acquire(account, timeout: maxWait) else {
            throw busy("account \(account) already runs \(accounts.limit) at a time")
        }
        defer { accounts.release(account) }
        guard await lanes.acquire("", timeout: max(.zero, maxWait - (clock.now - asked))) else {
            throw busy("all \(lanes.limit) pattern-check threads are busy")
        }
        defer { lanes.release("") }
        return try await withCheckedThrowingContinuation { continuation in
            queue.withLock { $0.append {
                do throws(APIError) { continuation.resume(returning: try work()) } catch { continuation.resume(throwing: error) }
            } }
            ready.signal()
        }
    }

    func busy(_ why: String) -> APIError {
        APIError("ThrottlingException", "Too many AllowedPattern checks at once: \(why), and this one could not start within "
                 + "\(maxWait). Retry the request.")
    }

    /// One lane's thread: takes submitted checks one at a time, for the life of the process. Nice 10 (Linux keeps a
    /// nice value per thread): on a busy machine the API's threads and PostgreSQL come first.
    private func lane() {
        Thread.current.name = "stowage-regex"  // for debuggers; the kernel may keep the creating thread's name
        #if canImport(Glibc)
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
        #endif
        while true {
            ready.wait()
            let job = queue.withLock { $0.isEmpty ? nil : $0.removeFirst() }
            job?()
        }
    }
}
