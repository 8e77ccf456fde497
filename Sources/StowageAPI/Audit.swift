import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import StowageIAM
import StowageModel
import StowageStore
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
    private let store: AuditStore
    private let pending = Mutex<[AuditEvent]>([])
    private let interval: Duration

    public init(database: Database, interval: Duration = .milliseconds(250)) {
        self.database = database
        self.store = AuditStore(logger: database.logger)
        self.interval = interval
    }

    func record(_ caller: Caller, fallbackAction: String) {
        let s = caller.trail.snapshot
        let action = s.action ?? (caller.signedService.isEmpty ? fallbackAction : "\(caller.signedService):\(fallbackAction)")
        let event = AuditEvent(
            accountId: caller.account, time: caller.services.clock.now(), eventId: UUID().uuidString.lowercased(),
            principalArn: caller.principal.arn, action: action, resources: s.resources, sourceIp: caller.sourceIp,
            requestId: caller.requestId, allowed: !s.denied, errorCode: s.error?.code, errorMessage: s.error?.message)
        pending.withLock { $0.append(event) }
    }

    /// Writes what is pending; on failure the events stay pending for the next attempt.
    public func flush() async throws {
        let batch = pending.withLock { p -> [AuditEvent] in defer { p.removeAll() }; return p }
        guard !batch.isEmpty else { return }
        do {
            for chunk in stride(from: 0, to: batch.count, by: 5000) {
                let part = Array(batch[chunk..<min(chunk + 5000, batch.count)])
                try await database.withConnection { try await self.store.insert($0, part) }
            }
        } catch {
            pending.withLock { $0.insert(contentsOf: batch, at: 0) }
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
        return try await database.withConnection { try await self.store.lookup($0, account: account, query) }
    }
}

/// Drops cached policies when another process changes an account's IAM data (NOTIFY on IAMStore.channel);
/// this process's own writes invalidate directly.
public struct PolicyInvalidator: Service {
    let services: Services

    public init(services: Services) { self.services = services }

    public func run() async throws {
        guard let authorizer = services.authorizer as? PolicyAuthorizer else { return }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await services.database.client.withConnection { conn in
                        try await conn.listen(on: IAMStore.channel) { notifications in
                            authorizer.invalidateAll()
                            for try await notification in notifications { authorizer.invalidate(account: notification.payload) }
                        }
                    }
                } catch {
                    if Task.isCancelled { return }
                    services.database.logger.debug("IAM LISTEN connection lost", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }
}
