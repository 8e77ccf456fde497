import Foundation
import Logging
import ServiceLifecycle
import StowageIAM
import StowageModel
import StowageStore
import StowageUseCases
import Synchronization

/// What one request asked to do and what it was told, filled in as the handler authorizes.
public final class AuditTrail: Sendable {
    struct State {
        var action: String?
        var resources: [String] = []
        var denied = false
        var error: APIError?
    }
    private let state = Mutex(State())

    init() {}

    func note(action: String, resources: [String]) {
        state.withLock { s in
            if s.action == nil { s.action = action }
            for r in resources where !s.resources.contains(r) { s.resources.append(r) }
        }
    }
    func deny() { state.withLock { $0.denied = true } }
    func fail(_ error: APIError) { state.withLock { $0.error = error } }
    var snapshot: State { state.withLock { $0 } }
}

/// Writes every API call to the audit table in batches, off the request path; a query flushes first so a
/// caller always finds its own earlier calls.
public final class AuditLog: Service, Sendable {
    private let database: Database
    private let events: AuditEvents
    private let pending = Mutex<[AuditEvent]>([])
    private let interval: Duration
    /// Most events held while the database is unavailable; past it the oldest are dropped and counted.
    private let capacity: Int
    private let droppedCount = Atomic<Int>(0)
    private let cleanedCount = Atomic<Int>(0)

    public init(database: Database, interval: Duration = .milliseconds(250), capacity: Int = 100_000) {
        self.database = database
        self.events = AuditEvents(database: database)
        self.interval = interval
        self.capacity = capacity
    }

    /// Events dropped (buffer full while the database was down, or refused by the database), for `/metrics`.
    public var dropped: Int { droppedCount.load(ordering: .relaxed) }
    /// Events whose text had to be cleaned (NUL characters) before they could be stored.
    public var cleaned: Int { cleanedCount.load(ordering: .relaxed) }

    func record(_ caller: Caller, fallbackAction: String) {
        let s = caller.trail.snapshot
        let action = s.action ?? (caller.signedService.isEmpty ? fallbackAction : "\(caller.signedService):\(fallbackAction)")
        let event = AuditEvent(
            accountId: caller.account, time: caller.backend.clock.now(), eventId: UUID().uuidString.lowercased(),
            principalArn: caller.principal.arn, action: action, resources: s.resources, sourceIp: caller.sourceIp,
            requestId: caller.requestId, allowed: !s.denied, errorCode: s.error?.code, errorMessage: s.error?.message,
            via: caller.via)
        var clean = event
        var changed = false
        for keyPath in [\AuditEvent.principalArn, \.action, \.sourceIp, \.requestId] {
            changed = Bulk.storable(&clean[keyPath: keyPath]) || changed
        }
        if var message = clean.errorMessage, Bulk.storable(&message) { clean.errorMessage = message; changed = true }
        for index in clean.resources.indices { changed = Bulk.storable(&clean.resources[index]) || changed }
        if changed { cleanedCount.add(1, ordering: .relaxed) }
        keep([clean], atFront: false)
    }

    /// Adds events within the capacity; the oldest beyond it are dropped and counted.
    private func keep(_ events: [AuditEvent], atFront: Bool) {
        let overflow = pending.withLock { p -> Int in
            if atFront { p.insert(contentsOf: events, at: 0) } else { p.append(contentsOf: events) }
            guard p.count > capacity else { return 0 }
            // Past the bound, a hundredth of it goes at once, so a full buffer does not cost every request
            // (the hot path during an outage) a shift of the whole array.
            let excess = p.count - capacity + capacity / 100
            p.removeFirst(excess)
            return excess
        }
        if overflow > 0 { droppedCount.add(overflow, ordering: .relaxed) }
    }

    /// Writes what is pending. A batch the database refuses for its content is split until the bad events
    /// stand alone; they are dropped and counted, and the rest is written. While the database is
    /// unavailable the events stay pending (bounded) for the next attempt.
    public func flush() async throws {
        let batch = pending.withLock { p -> [AuditEvent] in defer { p.removeAll() }; return p }
        guard !batch.isEmpty else { return }
        var done = 0
        do {
            for chunk in stride(from: 0, to: batch.count, by: 5000) {
                let part = Array(batch[chunk..<min(chunk + 5000, batch.count)])
                let outcome = try await Bulk.write(part) { try await self.events.insert($0) }
                done = chunk + part.count
                if !outcome.rejected.isEmpty {
                    droppedCount.add(outcome.rejected.count, ordering: .relaxed)
                    database.logger.error("audit events refused by the database; dropped", metadata: [
                        "count": "\(outcome.rejected.count)", "error": "\(outcome.lastError ?? "")"])
                }
            }
        } catch {
            keep(Array(batch[done...]), atFront: true)
            throw error
        }
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: self.interval)
                if Task.isCancelled { break }
                do { try await self.flush() } catch {
                    self.database.logger.warning("audit flush failed; kept pending", metadata: ["error": "\(error)"])
                }
            }
        }
        // The last events are written outside the cancelled task, before the database client stops.
        let log = self
        do { try await Task { try await log.flush() }.value } catch {
            database.logger.error("audit events lost at shutdown", metadata: ["error": "\(error)"])
        }
    }

    func lookup(account: String, _ query: AuditQuery) async throws -> [AuditEvent] {
        try await flush()
        return try await events.lookup(account: account, query)
    }
}

/// Drops cached policies when another process changes an account's IAM data (NOTIFY on IAMStore.channel);
/// this process's own writes invalidate directly.
public struct PolicyInvalidator: Service {
    let backend: Backend

    public init(backend: Backend) { self.backend = backend }

    public func run() async throws {
        guard let authorizer = backend.authorizer as? PolicyAuthorizer else { return }
        await cancelWhenGracefulShutdown {
            // Notifications missed while disconnected are unknowable: every cached policy goes.
            await Listener.run(backend.database, channel: IAMStore.channel, logger: backend.database.logger,
                               resync: { authorizer.invalidateAll() }, notified: { authorizer.invalidate(account: $0) })
        }
    }
}
