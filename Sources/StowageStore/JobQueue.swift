import Foundation
import Logging
import Metrics
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

/// Kinds of job that hold a worker's slot for long (a webhook delivery waits on a tenant's server up to its
/// timeout) and how many of them a take may hand out: at most `slots` in one batch (the worker passes what it has
/// free for them, kept below its concurrency so other kinds always find a slot), and none to an account that
/// already has `perAccount` of them running on any worker.
public struct SlowKinds: Sendable, Equatable {
    public var kinds: [String]
    public var slots: Int
    public var perAccount: Int
    public init(kinds: [String], slots: Int, perAccount: Int) {
        self.kinds = kinds; self.slots = max(0, slots); self.perAccount = max(0, perAccount)
    }

    /// No kind is slow: every due job is taken alike.
    public static let none = SlowKinds(kinds: [], slots: 0, perAccount: 0)
}

/// The PostgreSQL job queue: enqueue inside the caller's transaction, take with SKIP LOCKED under a lease,
/// retry with capped exponential backoff and jitter, keep dead jobs.
public struct JobQueue: Sendable {
    /// The NOTIFY channel that wakes workers when a job commits.
    public static let channel = "stowage_jobs"

    public let logger: Logger
    public init(logger: Logger) { self.logger = logger }

    /// Enqueues as many of `payloads` as keep the account's jobs of this kind queued or running within `limit`; the
    /// rest are refused (counted in `stowage_jobs_refused_total`). Returns how many were queued, the first ones. For
    /// kinds a tenant can set off without bound (alarm actions), so that its backlog stays bounded.
    public func enqueue(_ conn: PostgresConnection, account: String, kind: String, payloads: [JSONValue], maxAttempts: Int,
                        atMost limit: Int) async throws -> Int {
        guard !payloads.isEmpty else { return 0 }
        let room = max(0, limit - (try await live(conn, account: account, kind: kind, upTo: limit)))
        for payload in payloads.prefix(room) {
            try await enqueue(conn, account: account, kind: kind, payload: payload, maxAttempts: maxAttempts)
        }
        if payloads.count > room {
            Counter(label: "stowage_jobs_refused_total", dimensions: [("kind", kind)]).increment(by: payloads.count - room)
        }
        return min(room, payloads.count)
    }

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

    /// How many of an account's jobs of one kind are queued or running, counted up to `upTo` at most.
    public func live(_ conn: PostgresConnection, account: String, kind: String, upTo: Int) async throws -> Int {
        try await conn.first("""
            SELECT count(*)::int8 FROM (SELECT 1 FROM jobs WHERE account_id = \(account) AND kind = \(kind) AND state <> 'dead'
                                  LIMIT \(upTo)) queued
            """, as: Int.self, logger: logger) ?? 0
    }

    /// Leases up to `limit` jobs that are due, or whose previous lease expired (their worker died), shared fairly
    /// between accounts: each account's due jobs take turns counted after the jobs it already has running (on any
    /// worker), so the account with the least running goes first and one account's backlog never stands in front of
    /// another's job. Jobs of `slow`'s kinds (webhook deliveries, which wait on tenants' servers) are handed out
    /// only within its caps. Still `FOR UPDATE SKIP LOCKED`: workers taking at once never get the same job. The
    /// accounts with work are found with one index probe each (a loose scan of `jobs_pending_by_account`, which also
    /// gives each one's earliest run time), so a take costs in proportion to the accounts with queued jobs and the
    /// batch, not to any account's backlog.
    public func take(_ conn: PostgresConnection, worker: String, limit: Int, lease: TimeInterval,
                     slow: SlowKinds = .none) async throws -> [Job] {
        let rows = try await conn.query("""
            WITH RECURSIVE waiting(account_id, first_due) AS (
                (SELECT account_id, run_at FROM jobs WHERE state = 'pending' ORDER BY account_id, run_at LIMIT 1)
              UNION ALL
                SELECT n.account_id, n.run_at FROM waiting w CROSS JOIN LATERAL (
                    SELECT j.account_id, j.run_at FROM jobs j WHERE j.state = 'pending' AND j.account_id > w.account_id
                     ORDER BY j.account_id, j.run_at LIMIT 1) n
            ), accounts AS (
                SELECT account_id FROM waiting WHERE first_due <= now()
              UNION
                SELECT account_id FROM jobs WHERE state = 'running' AND leased_until < now()
            ), busy AS (
                SELECT account_id, count(*) AS jobs, count(*) FILTER (WHERE kind = ANY(\(slow.kinds)::text[])) AS slow_jobs
                  FROM jobs WHERE state = 'running' AND leased_until >= now()
                 GROUP BY account_id
            ), candidates AS (
                SELECT c.account_id, c.id, c.due, c.slow, coalesce(b.jobs, 0) AS running,
                       CASE WHEN c.slow THEN coalesce(b.slow_jobs, 0)
                                             + row_number() OVER (PARTITION BY c.account_id, c.slow ORDER BY c.due, c.id)
                            ELSE 0 END AS slow_in_account
                  FROM accounts a
                  LEFT JOIN busy b ON b.account_id = a.account_id
                  CROSS JOIN LATERAL (
                      (SELECT account_id, id, run_at AS due, false AS slow FROM jobs
                        WHERE account_id = a.account_id AND state = 'pending' AND run_at <= now()
                          AND kind <> ALL(\(slow.kinds)::text[])
                        ORDER BY run_at LIMIT \(limit))
                      UNION ALL
                      (SELECT account_id, id, run_at, true FROM jobs
                        WHERE account_id = a.account_id AND state = 'pending' AND run_at <= now()
                          AND kind = ANY(\(slow.kinds)::text[])
                        ORDER BY run_at LIMIT \(slow.perAccount))
                      UNION ALL
                      (SELECT account_id, id, leased_until, kind = ANY(\(slow.kinds)::text[]) FROM jobs
                        WHERE account_id = a.account_id AND state = 'running' AND leased_until < now()
                        ORDER BY leased_until LIMIT \(limit))
                  ) c
            ), allowed AS (
                SELECT *, row_number() OVER (PARTITION BY slow ORDER BY slow_in_account, due, id) AS slow_rank
                  FROM candidates WHERE slow_in_account <= \(slow.perAccount)
            ), picked AS (
                SELECT account_id, id, due, running + row_number() OVER (PARTITION BY account_id ORDER BY due, id) AS turn
                  FROM allowed WHERE NOT slow OR slow_rank <= \(slow.slots)
            )
            UPDATE jobs j
               SET state = 'running', attempts = j.attempts + 1, leased_by = \(worker),
                   leased_until = now() + make_interval(secs => \(lease)), updated_at = now()
              FROM (SELECT d.account_id, d.id FROM jobs d JOIN picked p ON p.account_id = d.account_id AND p.id = d.id
                     WHERE (d.state = 'pending' AND d.run_at <= now()) OR (d.state = 'running' AND d.leased_until < now())
                     ORDER BY p.turn, p.due, p.id
                     LIMIT \(limit)
                     FOR UPDATE OF d SKIP LOCKED) due
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
            // Only the account's latest dead jobs of the kind are kept: a tenant's failing webhooks cannot fill the table.
            try await conn.query("""
                DELETE FROM jobs WHERE account_id = \(job.account) AND kind = \(job.kind) AND state = 'dead'
                   AND id < (SELECT id FROM jobs WHERE account_id = \(job.account) AND kind = \(job.kind) AND state = 'dead'
                              ORDER BY id DESC OFFSET \(Self.deadKept - 1) LIMIT 1)
                """, logger: logger)
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

    /// Dead jobs kept for inspection per account and kind (the newest).
    public static let deadKept = 100

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
