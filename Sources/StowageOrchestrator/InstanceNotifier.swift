import Foundation
import Logging
import ServiceLifecycle
import StowageStore
import Synchronization

/// Wakes agents' long polls when their instance's desired task set changes.
///
/// One LISTEN connection per server process, fanned out to however many polls wait here, so tens of
/// thousands of idle agents cost no database connections.
public final class InstanceNotifier: Service, Sendable {
    /// A subscription taken before the caller reads the current state, so a change in between is not lost.
    public struct Ticket: Sendable {
        let key: String
        let id: UUID
        let bell: Doorbell
    }

    private let database: Database
    private let logger: Logger
    private let waiters = Mutex<[String: [UUID: Doorbell]]>([:])

    public init(database: Database, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    public func run() async throws {
        defer { fireAll() }
        await cancelWhenGracefulShutdown {
            // After a reconnect every waiting poll re-reads: a change may have been notified while disconnected.
            await Listener.run(self.database, channel: ContainerInstanceStore.channel, logger: self.logger,
                               resync: { self.fireAll() }, notified: { self.fire($0) })
        }
    }

    /// The key a poll subscribes to and `ContainerInstanceStore.notifyChanged` notifies.
    public func subscribe(account: String, cluster: String, instance: String) -> Ticket {
        let ticket = Ticket(key: ContainerInstanceStore.instanceKey(account: account, cluster: cluster, instance: instance),
                            id: UUID(), bell: Doorbell())
        waiters.withLock { $0[ticket.key, default: [:]][ticket.id] = ticket.bell }
        return ticket
    }

    public func cancel(_ ticket: Ticket) {
        waiters.withLock { all in
            all[ticket.key]?[ticket.id] = nil
            if all[ticket.key]?.isEmpty == true { all[ticket.key] = nil }
        }
    }

    /// Returns when the key is notified (or was, since subscribing) or after the timeout.
    public func wait(_ ticket: Ticket, timeout: Duration) async { await ticket.bell.wait(timeout: timeout) }

    /// Ends a wait early (the server is shutting down: a long poll must not hold it up).
    public func release(_ ticket: Ticket) { ticket.bell.ring() }

    func fire(_ key: String) {
        let bells = waiters.withLock { Array(($0[key] ?? [:]).values) }
        bells.forEach { $0.ring() }
    }

    func fireAll() {
        let bells = waiters.withLock { $0.values.flatMap(\.values) }
        bells.forEach { $0.ring() }
    }
}
