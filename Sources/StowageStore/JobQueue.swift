import Foundation
import Logging
import PostgresNIO
import StowageModel

/// A job as a worker receives it.
public struct Job: Sendable, Equatable {
    public var account: String
    public var id: Int64
    public var kind: String
    public var uniqueKey: String?
    public var payload: JSONValue
    public var attempts: Int
    public var maxAttempts: Int
}

/// Queue depth by state, for `stowage jobs` and metrics.
public struct QueueStats: Sendable, Equatable {
    public var pending = 0
    public var ready = 0
    public var running = 0
    public var expired = 0
    public var retrying = 0
    public var dead = 0
    public init() {}
}

/// A dead job as kept for inspection.
public struct DeadJob: Sendable, Equatable {
    public var account: String
    public var id: Int64
    public var kind: String
    public var uniqueKey: String?
    public var attempts: Int
    public var lastError: String?
}

/// The PostgreSQL job queue: enqueue inside the caller's transaction, take with SKIP LOCKED under a lease,
/// retry with capped exponential backoff and jitter, keep dead jobs.
public struct JobQueue: Sendable {
    /// The NOTIFY channel that wakes workers when a job commits.
    public static let channel = "stowage_jobs"

    public let logger: Logger
    public init(logger: Logger) { self.logger = logger }

    /// Adds a job in the caller's transaction; with a unique key, a pending job of the same kind and key absorbs it
    /// (taking the earlier run time). Workers hear about it when the transaction commits.
    public func enqueue(_ conn: PostgresConnection, account: String, kind: String, uniqueKey: String? = nil,
                        payload: JSONValue = .object([:]), delay: TimeInterval = 0, maxAttempts: Int = 10) async throws {
        let payloadJSON = try ECSJSON.encodeString(payload)
        // DO NOTHING takes no lock on the pending job it coalesces with: DO UPDATE would lock it until this
        // transaction commits, so every state report of a fleet touching one service would queue behind the others.
        let inserted = try await conn.first("""
            INSERT INTO jobs (account_id, kind, unique_key, payload, run_at, max_attempts)
            VALUES (\(account), \(kind), \(uniqueKey), \(payloadJSON)::jsonb,
                    now() + make_interval(secs => \(delay)), \(maxAttempts))
            ON CONFLICT (account_id, kind, unique_key) WHERE state = 'pending' AND unique_key IS NOT NULL
            DO NOTHING
            RETURNING 1
            """, as: Int.self, logger: logger) != nil
        guard inserted else {
            // Coalesced: only a pending job due later than this one is brought forward (and only it is locked).
            try await conn.query("""
                UPDATE jobs SET run_at = now() + make_interval(secs => \(delay)), updated_at = now()
                WHERE account_id = \(account) AND kind = \(kind) AND unique_key = \(uniqueKey) AND state = 'pending'
                  AND run_at > now() + make_interval(secs => \(delay))
                """, logger: logger)
            return
        }
        // A new job wakes the workers; a coalesced one was already announced (and each NOTIFY serializes commits).
        try await conn.query("SELECT pg_notify(\(Self.channel), \(kind))", logger: logger)
    }

    /// Leases up to `limit` jobs that are due, or whose previous lease expired (their worker died).
    public func take(_ conn: PostgresConnection, worker: String, limit: Int, lease: TimeInterval) async throws -> [Job] {
        let rows = try await conn.query("""
            UPDATE jobs j
               SET state = 'running', attempts = j.attempts + 1, leased_by = \(worker),
                   leased_until = now() + make_interval(secs => \(lease)), updated_at = now()
              FROM (SELECT account_id, id FROM jobs
                     WHERE (state = 'pending' AND run_at <= now()) OR (state = 'running' AND leased_until < now())
                     ORDER BY run_at
                     LIMIT \(limit)
                     FOR UPDATE SKIP LOCKED) due
             WHERE j.account_id = due.account_id AND j.id = due.id
            RETURNING j.account_id, j.id, j.kind, j.unique_key, j.payload::text, j.attempts, j.max_attempts
            """, logger: logger)
        var jobs: [Job] = []
        for try await (account, id, kind, key, payload, attempts, max) in rows.decode(
            (String, Int64, String, String?, String, Int, Int).self)
        {
            jobs.append(Job(account: account, id: id, kind: kind, uniqueKey: key,
                            payload: try ECSJSON.decode(JSONValue.self, from: payload), attempts: attempts, maxAttempts: max))
        }
        return jobs
    }

    /// Removes a finished job, if this worker still holds its lease. Returns false when the lease was lost.
    @discardableResult
    public func complete(_ conn: PostgresConnection, _ job: Job, worker: String) async throws -> Bool {
        try await conn.first("""
            DELETE FROM jobs WHERE account_id = \(job.account) AND id = \(job.id)
               AND state = 'running' AND leased_by = \(worker)
            RETURNING 1
            """, as: Int.self, logger: logger) != nil
    }

    /// Schedules a retry after `retryIn` seconds, or marks the job dead once its attempts are spent.
    /// A retry that would collide with a newer pending job of the same key folds into it.
    public func fail(_ conn: PostgresConnection, _ job: Job, worker: String, error: String, retryIn: TimeInterval) async throws {
        if job.attempts >= job.maxAttempts {
            try await conn.query("""
                UPDATE jobs SET state = 'dead', last_error = \(error), leased_by = NULL, leased_until = NULL, updated_at = now()
                WHERE account_id = \(job.account) AND id = \(job.id) AND leased_by = \(worker)
                """, logger: logger)
            logger.warning("job dead", metadata: ["kind": "\(job.kind)", "id": "\(job.id)", "error": "\(error)"])
            return
        }
        try await conn.query("""
            WITH newer AS (
                SELECT 1 FROM jobs WHERE account_id = \(job.account) AND kind = \(job.kind)
                   AND unique_key = \(job.uniqueKey) AND state = 'pending'
            ), folded AS (
                DELETE FROM jobs WHERE account_id = \(job.account) AND id = \(job.id) AND leased_by = \(worker)
                   AND EXISTS (SELECT 1 FROM newer)
            )
            UPDATE jobs SET state = 'pending', last_error = \(error), leased_by = NULL, leased_until = NULL,
                   run_at = now() + make_interval(secs => \(retryIn)), updated_at = now()
            WHERE account_id = \(job.account) AND id = \(job.id) AND leased_by = \(worker)
              AND NOT EXISTS (SELECT 1 FROM newer)
            """, logger: logger)
    }

    /// Capped exponential backoff with jitter: attempt 1 waits about `base`, each further attempt doubles,
    /// and the wait is drawn from [half, full] so retries of many jobs spread out.
    public static func backoff(attempt: Int, base: TimeInterval = 1, cap: TimeInterval = 300,
                               random: Double = Double.random(in: 0...1)) -> TimeInterval {
        let exponent = min(max(attempt - 1, 0), 30)
        let full = min(cap, base * pow(2, Double(exponent)))
        return full * (0.5 + 0.5 * random)
    }

    /// Claims period `period` for a periodic kind; true for exactly one caller per period, however many ask.
    public func claimPeriod(_ conn: PostgresConnection, kind: String, period: Date) async throws -> Bool {
        try await conn.first("""
            INSERT INTO periodic_jobs (kind, last_period) VALUES (\(kind), \(period))
            ON CONFLICT (kind) DO UPDATE SET last_period = EXCLUDED.last_period
               WHERE periodic_jobs.last_period < EXCLUDED.last_period
            RETURNING 1
            """, as: Int.self, logger: logger) != nil
    }

    public func stats(_ conn: PostgresConnection) async throws -> QueueStats {
        let rows = try await conn.query("""
            SELECT count(*) FILTER (WHERE state = 'pending'),
                   count(*) FILTER (WHERE state = 'pending' AND run_at <= now()),
                   count(*) FILTER (WHERE state = 'running' AND leased_until >= now()),
                   count(*) FILTER (WHERE state = 'running' AND leased_until < now()),
                   count(*) FILTER (WHERE state = 'pending' AND attempts > 0),
                   count(*) FILTER (WHERE state = 'dead')
            FROM jobs
            """, logger: logger)
        var stats = QueueStats()
        for try await (pending, ready, running, expired, retrying, dead) in rows.decode((Int, Int, Int, Int, Int, Int).self) {
            stats = QueueStats()
            stats.pending = pending; stats.ready = ready; stats.running = running
            stats.expired = expired; stats.retrying = retrying; stats.dead = dead
        }
        return stats
    }

    public func dead(_ conn: PostgresConnection, limit: Int = 50) async throws -> [DeadJob] {
        let rows = try await conn.query("""
            SELECT account_id, id, kind, unique_key, attempts, last_error FROM jobs
            WHERE state = 'dead' ORDER BY updated_at DESC LIMIT \(limit)
            """, logger: logger)
        var result: [DeadJob] = []
        for try await (account, id, kind, key, attempts, error) in rows.decode((String, Int64, String, String?, Int, String?).self) {
            result.append(DeadJob(account: account, id: id, kind: kind, uniqueKey: key, attempts: attempts, lastError: error))
        }
        return result
    }
}

extension JobQueue {
    /// Asks for a service to be reconciled (coalesced: one pending job per service).
    public func reconcile(_ conn: PostgresConnection, account: String, cluster: String, service: String,
                          delay: TimeInterval = 0) async throws {
        try await enqueue(conn, account: account, kind: JobKind.reconcileService, uniqueKey: "\(cluster)/\(service)",
                          payload: .object(["cluster": .string(cluster), "service": .string(service)]), delay: delay)
    }

    /// Asks for the cluster's waiting tasks to be placed (coalesced: one pending job per cluster).
    public func place(_ conn: PostgresConnection, account: String, cluster: String) async throws {
        try await enqueue(conn, account: account, kind: JobKind.placeTasks, uniqueKey: cluster,
                          payload: .object(["cluster": .string(cluster)]))
    }
}
