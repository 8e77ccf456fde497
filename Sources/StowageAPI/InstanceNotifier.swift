import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import StowageStore
import StowageWorker
import Synchronization

/// Wakes agents' long polls when their instance's desired task set changes.
///
/// One LISTEN connection per server process, fanned out to however many polls wait here, so tens of
/// thousands of idle agents cost no database connections.
public final class InstanceNotifier: Service, Sendable {
    struct Waiter {
        var fired = false
        var continuation: CheckedContinuation<Void, Never>?
    }

    /// A subscription taken before the caller reads the current state, so a change in between is not lost.
    public struct Ticket: Sendable {
        let key: String
        let id: UUID
    }

    private let database: Database
    private let logger: Logger
    private let waiters = Mutex<[String: [UUID: Waiter]]>([:])

    public init(database: Database, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    public func run() async throws {
        defer { fireAll() }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await self.database.client.withConnection { conn in
                        try await conn.listen(on: ClusterScheduler.instanceChannel) { notifications in
                            for try await notification in notifications { self.fire(notification.payload) }
                        }
                    }
                } catch {
                    if Task.isCancelled { return }
                    self.logger.debug("instance LISTEN connection lost", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    public func subscribe(_ key: String) -> Ticket {
        let ticket = Ticket(key: key, id: UUID())
        waiters.withLock { $0[key, default: [:]][ticket.id] = Waiter() }
        return ticket
    }

    public func cancel(_ ticket: Ticket) {
        waiters.withLock { all in
            all[ticket.key]?[ticket.id] = nil
            if all[ticket.key]?.isEmpty == true { all[ticket.key] = nil }
        }
    }

    /// Returns when the key is notified (or was, since subscribing) or after the timeout.
    public func wait(_ ticket: Ticket, timeout: Duration) async {
        let alreadyFired = waiters.withLock { all -> Bool in
            guard let waiter = all[ticket.key]?[ticket.id] else { return true }
            if waiter.fired { all[ticket.key]?[ticket.id]?.fired = false }
            return waiter.fired
        }
        if alreadyFired { return }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            self.resume(ticket)
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = waiters.withLock { all -> Bool in
                guard let waiter = all[ticket.key]?[ticket.id], !waiter.fired else { return true }
                all[ticket.key]?[ticket.id]?.continuation = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
        timer.cancel()
    }

    /// Ends a wait early (the server is shutting down: a long poll must not hold it up).
    public func release(_ ticket: Ticket) { resume(ticket) }

    private func resume(_ ticket: Ticket) {
        let continuation = waiters.withLock { all -> CheckedContinuation<Void, Never>? in
            let c = all[ticket.key]?[ticket.id]?.continuation
            all[ticket.key]?[ticket.id]?.continuation = nil
            return c
        }
        continuation?.resume()
    }

    func fire(_ key: String) {
        let continuations = waiters.withLock { all -> [CheckedContinuation<Void, Never>] in
            guard var entries = all[key] else { return [] }
            var ready: [CheckedContinuation<Void, Never>] = []
            for (id, waiter) in entries {
                if let c = waiter.continuation { ready.append(c); entries[id]?.continuation = nil } else { entries[id]?.fired = true }
            }
            all[key] = entries
            return ready
        }
        continuations.forEach { $0.resume() }
    }

    func fireAll() {
        let keys = waiters.withLock { Array($0.keys) }
        keys.forEach(fire)
    }
}
