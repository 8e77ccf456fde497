import Dispatch
import Logging
import Metrics
import PostgresNIO
import StowageModel
import _ConnectionPoolModule
import Synchronization

/// The connection pool and the one way handlers reach PostgreSQL: a transaction or a single connection.
///
/// Counts leased connections, lease waits and lease timeouts through swift-metrics (PostgresNIO's pool reports
/// only to its logger), so whatever metrics backend the process bootstraps shows the pool.
public final class Database: Sendable {
    public let client: PostgresClient
    public let config: DatabaseConfig
    public let logger: Logger
    private let leased = Atomic<Int>(0)
    private let metrics: PoolMetrics
    /// When a lease last timed out (uptime nanoseconds; 0: never). For a moment afterwards further leases fail
    /// at once, so one request that needs several connections fails in one timeout, not several.
    private let lastTimeout = Atomic<UInt64>(0)
    static let knownDownFor: UInt64 = 1_000_000_000
    /// Each account's leases at once, within `config.effectiveAccountShare`.
    private let shares: AccountShares

    /// The account a tenant's request acts for, set where the request is dispatched (the API's gateway) and read by
    /// every lease in it: the pool's per-account share is enforced here, not at each call site. Unset (the agent
    /// protocol, workers, admin), leases take no share.
    @TaskLocal public static var account: String?
    /// Set inside a lease that took its account's share: a lease nested in it (a handler's second connection)
    /// takes none, so a request never waits on a share its own lease holds.
    @TaskLocal static var holdsShare = false

    /// Throws when the URL's TLS files (sslrootcert, sslcert, sslkey) cannot be read.
    public init(config: DatabaseConfig, logger: Logger) throws {
        self.config = config
        self.logger = logger
        self.client = PostgresClient(configuration: try config.clientConfiguration(), backgroundLogger: logger)
        self.metrics = PoolMetrics(pool: config.poolName, size: config.maxConnections)
        self.shares = AccountShares(limit: config.effectiveAccountShare)
    }

    /// Runs the pool; returns when the surrounding task is cancelled.
    public func run() async { await client.run() }

    public var connectionsInUse: Int { leased.load(ordering: .relaxed) }
    public var maxConnections: Int { config.maxConnections }

    public func withConnection<R: Sendable>(_ body: (PostgresConnection) async throws -> R) async throws -> R {
        try await sharing {
            lease(); defer { release() }
            return try await leasing { conn in try await body(conn) }
        }
    }

    /// Runs a lease within the share of the task's account (`Database.account`): when the account already holds
    /// its share, waits for one of its own leases to end, at most the acquire timeout, then refuses with a
    /// ThrottlingException naming the share, so one account's burst queues behind itself, not in front of others.
    private func sharing<R: Sendable>(_ body: () async throws -> R) async throws -> R {
        guard let account = Self.account, !Self.holdsShare else { return try await body() }
        guard await shares.acquire(account, timeout: config.acquireTimeout) else {
            metrics.shareRefused()
            throw APIError("ThrottlingException", "Too many requests of account \(account) at once: it already holds its share of "
                           + "\(shares.limit) of the \(config.maxConnections) database connections. Retry the request.")
        }
        defer { shares.release(account) }
        return try await Self.$holdsShare.withValue(true) { try await body() }
    }

    private func lease() {
        leased.add(1, ordering: .relaxed)
        metrics.leased()
    }

    private func release() {
        leased.subtract(1, ordering: .relaxed)
        metrics.released()
    }

    /// Leases a connection, giving up after `config.acquireTimeout`: with the database down or the pool
    /// exhausted a request fails fast (503) instead of queueing for a minute. Only the wait for the lease
    /// is bounded; once the body runs it runs to completion.
    private func leasing<R: Sendable>(_ body: (PostgresConnection) async throws -> R) async throws -> R {
        let failedAt = lastTimeout.load(ordering: .relaxed)
        if failedAt != 0, DispatchTime.now().uptimeNanoseconds &- failedAt < Self.knownDownFor {
            metrics.refused()
            throw DatabaseUnavailable(reason: "the database did not answer a moment ago")
        }
        return try await withoutActuallyEscaping(body) { escapable in
            let work = UncheckedBody(run: escapable)
            let acquired = AcquiredFlag()
            let timeout = config.acquireTimeout
            let asked = DispatchTime.now()
            let metrics = self.metrics
            return try await withThrowingTaskGroup(of: R?.self) { group in
                group.addTask {
                    try await self.client.withConnection { conn in
                        acquired.set()
                        metrics.waited(since: asked)
                        return try await work.run(conn)
                    }
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    if !acquired.isSet {
                        self.lastTimeout.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed)
                        self.metrics.refused()
                        throw DatabaseUnavailable(reason: "no database connection within \(timeout)")
                    }
                    return nil
                }
                defer { group.cancelAll() }
                while let next = try await group.next() {
                    if let value = next { return value }
                }
                throw DatabaseUnavailable(reason: "the connection lease ended without an answer")
            }
        }
    }

    /// Runs `body` again, once, when it failed on a unique index (23505): for writes that look before they insert
    /// without locking, where a concurrent twin can win the insert and the second look then finds its row.
    public static func retryingUniqueViolation<R: Sendable>(_ body: () async throws -> R) async throws -> R {
        do {
            return try await body()
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            return try await body()
        }
    }

    /// Every write goes through here: all of it commits or none of it does. A transaction PostgreSQL chose as
    /// a deadlock victim (40P01) was rolled back whole, so it is run again, up to three times.
    public func transaction<R: Sendable>(_ body: (PostgresConnection) async throws -> R) async throws -> R {
        try await sharing { try await transacting(body) }
    }

    private func transacting<R: Sendable>(_ body: (PostgresConnection) async throws -> R) async throws -> R {
        lease(); defer { release() }
        var attempt = 1
        while true {
            do {
                return try await leasing { conn in
                    try await conn.withTransaction(logger: logger) { try await body($0) }
                }
            } catch let error as PostgresTransactionError {
                // The handler's own error (a validation failure, say) is what the caller must see; the rollback is done.
                if let closureError = error.closureError, error.rollbackError == nil {
                    if attempt < 3, let psql = closureError as? PSQLError, psql.serverInfo?[.sqlState] == "40P01" {
                        logger.notice("deadlock victim; running the transaction again", metadata: ["attempt": "\(attempt)"])
                        attempt += 1
                        try await Task.sleep(for: .milliseconds(5 * attempt))
                        continue
                    }
                    throw closureError
                }
                throw error
            }
        }
    }

    /// Whether the database answers within `deadline`, for `/healthz` and `/readyz`. The probe runs apart from
    /// the caller, so a database that accepts connections but never answers cannot hold the caller past the
    /// deadline (a task group would wait for its stuck child); the pool bounds how many probes can hang.
    public func ping(deadline: Duration = .milliseconds(800)) async -> Bool {
        let answer = PingAnswer()
        Task {
            let up: Bool
            do {
                up = try await self.withConnection { conn in
                    let rows = try await conn.query("SELECT 1", logger: self.logger)
                    for try await value in rows.decode(Int.self) { return value == 1 }
                    return false
                }
            } catch {
                up = false
            }
            answer.value.withLock { $0 = up }
            answer.bell.ring()
        }
        await answer.bell.wait(timeout: deadline)
        return answer.value.withLock { $0 } ?? false
    }
}

/// What a probe found, and the doorbell it rings when it knows.
private final class PingAnswer: Sendable {
    let value = Mutex<Bool?>(nil)
    let bell = Doorbell()
}

/// A write lost a race with a concurrent twin: a unique index refused its row (23505) or PostgreSQL could not
/// serialize it (40001). Use cases that look before they insert retry once (`Database.retryingUniqueViolation`)
/// and answer as the winner's row says; any other such loss is the request's to retry, answered 409, never 500.
public enum DatabaseConflict {
    public static func matches(_ error: any Error) -> Bool {
        if let transaction = error as? PostgresTransactionError {
            return [transaction.closureError, transaction.commitError].contains { $0.map(matches) ?? false }
        }
        guard let psql = error as? PSQLError, let state = psql.serverInfo?[.sqlState] else { return false }
        return state == "23505" || state == "40001"
    }
}

/// The database could not be reached in time: a fault of the control plane, not of the request, so the
/// API answers 503 and the AWS SDKs retry.
public struct DatabaseUnavailable: Error, CustomStringConvertible {
    public var reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { "database unavailable: \(reason)" }

    /// Whether an error thrown by a database call means the database (not the statement) failed: no
    /// connection in time, a refused or dropped connection, or the server shutting down.
    public static func matches(_ error: any Error) -> Bool {
        if error is DatabaseUnavailable { return true }
        // The pool gives up creating connections for a while after many failures (its circuit breaker).
        if error is ConnectionPoolError { return true }
        if let transaction = error as? PostgresTransactionError {
            return [transaction.beginError, transaction.closureError, transaction.commitError, transaction.rollbackError]
                .contains { $0.map(matches) ?? false }
        }
        guard let psql = error as? PSQLError else { return false }
        switch psql.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed, .uncleanShutdown,
             .unexpectedBackendMessage, .failedToAddSSLHandler, .queryCancelled:
            return true
        default:
            // 57P01-57P03 (admin shutdown, crash shutdown, cannot connect now), 08xxx (connection exceptions) and
            // 53xxx (insufficient resources: too many connections while every pool reconnects at once). Not 57014:
            // a statement timeout can be the statement's own cost, and Bulk must split such a batch, not keep it.
            let state = psql.serverInfo?[.sqlState] ?? ""
            return state.hasPrefix("08") || state.hasPrefix("57P") || state.hasPrefix("53")
        }
    }
}

/// The lease body, carried into the child task that holds the connection; the task group awaits that task
/// before `leasing` returns, so the non-escaping closure never outlives its caller.
private struct UncheckedBody<R>: @unchecked Sendable {
    let run: (PostgresConnection) async throws -> R
}

/// Set once the lease is granted, so the timer knows the wait is over.
private final class AcquiredFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .releasing) }
    var isSet: Bool { flag.load(ordering: .acquiring) }
}

extension PostgresConnection {
    /// The first row of a query decoded as `T`, or nil when the query returned no rows.
    public func first<T: PostgresDecodable & Sendable>(_ query: PostgresQuery, as: T.Type, logger: Logger) async throws -> T? {
        for try await value in try await self.query(query, logger: logger).decode(T.self) { return value }
        return nil
    }

    /// Every row's single column decoded as `T`.
    public func column<T: PostgresDecodable & Sendable>(_ query: PostgresQuery, as: T.Type, logger: Logger) async throws -> [T] {
        var out: [T] = []
        for try await value in try await self.query(query, logger: logger).decode(T.self) { out.append(value) }
        return out
    }
}

/// LIKE patterns built from what callers typed: their `%`, `_` and backslashes match themselves.
public enum SQLPattern {
    /// Matches every text that starts with `prefix`.
    public static func prefix(_ prefix: String) -> String {
        prefix.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_") + "%"
    }
}

/// The pool's figures through swift-metrics, one set per named pool. Instruments are looked up at each use (the
/// backend keeps them by name), so a pool made before the process bootstraps its metrics still reports.
struct PoolMetrics: Sendable {
    let dimensions: [(String, String)]
    let size: Int

    init(pool: String, size: Int) { dimensions = [("pool", pool)]; self.size = size }

    func leased() {
        Gauge(label: "stowage_db_pool_connections_max", dimensions: dimensions).record(size)
        Meter(label: "stowage_db_pool_connections_in_use", dimensions: dimensions).increment()
    }

    func released() { Meter(label: "stowage_db_pool_connections_in_use", dimensions: dimensions).decrement() }

    func waited(since asked: DispatchTime) {
        Metrics.Timer(label: "stowage_db_pool_acquire_duration_seconds", dimensions: dimensions).recordInterval(since: asked)
    }

    /// A lease refused: none within the acquire timeout, or the database known down a moment ago.
    func refused() { Counter(label: "stowage_db_pool_leases_refused_total", dimensions: dimensions).increment() }

    /// A lease refused because its account held its share of the pool for the whole acquire timeout.
    func shareRefused() { Counter(label: "stowage_db_pool_share_refused_total", dimensions: dimensions).increment() }
}

/// At most `limit` leases at once per account. A lease past it waits (first come, first served) for one of the
/// account's own to end, at most a timeout; only accounts with leases held or awaited have an entry. Also the
/// API's per-account cap on tenant pattern checks (`PatternChecks`).
public final class AccountShares: Sendable {
    private struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<Bool, Never>
    }
    private struct State {
        var held: [String: Int] = [:]
        var waiting: [String: [Waiter]] = [:]
        /// Waiters between their first look and parking: a timeout in between removes them, and they do not park.
        var arriving: Set<UInt64> = []
        var nextId: UInt64 = 0
    }

    public let limit: Int
    private let state = Mutex(State())

    public init(limit: Int) { self.limit = max(1, limit) }

    /// True once the account has a lease to spend; false when none came within `timeout` or the task was cancelled.
    public func acquire(_ account: String, timeout: Duration) async -> Bool {
        let id = state.withLock { s -> UInt64? in
            if s.held[account, default: 0] < limit {
                s.held[account, default: 0] += 1
                return nil
            }
            s.nextId += 1
            s.arriving.insert(s.nextId)
            return s.nextId
        }
        guard let id else { return true }
        let timer = Task { [weak self] in
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            self?.giveUp(account, id)
        }
        defer { timer.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let now = state.withLock { s -> Bool? in
                    guard s.arriving.remove(id) != nil, !Task.isCancelled else { return false }
                    // A lease ended between the first look and here: take it.
                    if s.held[account, default: 0] < limit {
                        s.held[account, default: 0] += 1
                        return true
                    }
                    s.waiting[account, default: []].append(Waiter(id: id, continuation: continuation))
                    return nil
                }
                if let now { continuation.resume(returning: now) }
            }
        } onCancel: {
            giveUp(account, id)
        }
    }

    /// Ends a lease: hands it to the account's first waiter, if any.
    public func release(_ account: String) {
        let next = state.withLock { s -> Waiter? in
            if var queue = s.waiting[account], !queue.isEmpty {
                let first = queue.removeFirst()
                s.waiting[account] = queue.isEmpty ? nil : queue
                return first
            }
            let left = s.held[account, default: 1] - 1
            s.held[account] = left > 0 ? left : nil
            return nil
        }
        next?.continuation.resume(returning: true)
    }

    /// A waiter's time ran out (or its task was cancelled): it leaves the queue without a lease.
    private func giveUp(_ account: String, _ id: UInt64) {
        let waiter = state.withLock { s -> Waiter? in
            if s.arriving.remove(id) != nil { return nil }
            guard var queue = s.waiting[account], let index = queue.firstIndex(where: { $0.id == id }) else { return nil }
            let waiter = queue.remove(at: index)
            s.waiting[account] = queue.isEmpty ? nil : queue
            return waiter
        }
        waiter?.continuation.resume(returning: false)
    }

    /// Leases the account holds now (for tests and metrics).
    func held(_ account: String) -> Int { state.withLock { $0.held[account] ?? 0 } }
}
