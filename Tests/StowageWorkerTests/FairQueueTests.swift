import Foundation
import PostgresNIO
import StowageModel
import StowageStore
import StowageTestSupport
import Testing

/// Issue 23 item 8: the queue is shared fairly between accounts, webhook deliveries run within their caps, and an
/// account's backlog of them stays bounded, against the real test PostgreSQL.
@Suite struct FairQueueTests {
    let queue = JobQueue(logger: quietLogger())
    let noisy = "111111111111"
    let quiet = "222222222222"
    let webhooks = SlowKinds(kinds: [JobKind.alarmAction], slots: 4, perAccount: 2)

    func count(_ db: Database, _ sql: String) async throws -> Int {
        try await db.withConnection { try await $0.first(PostgresQuery(unsafeSQL: sql), as: Int.self, logger: db.logger) } ?? -1
    }

    func take(_ db: Database, _ worker: String = "w", limit: Int, slow: SlowKinds = .none) async throws -> [Job] {
        try await db.withConnection { try await queue.take($0, worker: worker, limit: limit, lease: 60, slow: slow) }
    }

    /// The noisy account's thousand jobs were queued an hour before the quiet one's; oldest-first would hand the quiet
    /// account's job out after all of them.
    func backlog(_ db: Database, noisyKind: String) async throws {
        _ = try await db.withConnection { conn in
            try await conn.query("""
                INSERT INTO jobs (account_id, kind, run_at)
                SELECT \(noisy), \(noisyKind), now() - interval '1 hour' + g * interval '1 ms' FROM generate_series(1, 1000) g
                """, logger: db.logger)
        }
        try await db.transaction { conn in
            try await queue.reconcile(conn, account: quiet, cluster: "c", service: "web")
            try await queue.place(conn, account: quiet, cluster: "c")
        }
    }

    @Test func anAccountsBacklogDoesNotStandInFrontOfAnotherAccountsJobs() async throws {
        let db = try await TestDatabase.fresh(prefix: "q_fair")
        try await backlog(db, noisyKind: JobKind.reconcileService)
        // Round-robin: the quiet account's two jobs are in the first batch of four, beside the noisy one's oldest two.
        let first = try await take(db, limit: 4)
        #expect(first.filter { $0.account == quiet }.map(\.kind).sorted() == [JobKind.placeTasks, JobKind.reconcileService])
        #expect(first.filter { $0.account == noisy }.count == 2)
        // One slot at a time (a worker as each job ends): turns count what an account already runs, so the quiet
        // account's next job goes before the noisy one's older backlog while the noisy account holds two slots.
        for job in first where job.account == quiet {
            #expect(try await db.withConnection { try await queue.complete($0, job, worker: "w") })
        }
        try await db.transaction { try await queue.reconcile($0, account: quiet, cluster: "c", service: "api") }
        let next = try await take(db, "w2", limit: 1)
        #expect(next.map(\.account) == [quiet])
        // With nothing of the quiet account's left, the backlog drains as before.
        let rest = try await take(db, "w3", limit: 3)
        #expect(rest.count == 3 && rest.allSatisfy { $0.account == noisy })
        let all = first + next + rest
        #expect(Set(all.map(\.id)).count == all.count, "nothing is handed out twice")
    }

    @Test func webhooksRunWithinTheirSlotsAndPerAccountCap() async throws {
        let db = try await TestDatabase.fresh(prefix: "q_slow")
        try await backlog(db, noisyKind: JobKind.alarmAction)
        // Eight free slots, four for webhooks, two per account: the noisy account gets two, the rest goes elsewhere.
        let first = try await take(db, limit: 8, slow: webhooks)
        #expect(first.filter { $0.kind == JobKind.alarmAction }.count == 2)
        #expect(first.filter { $0.account == quiet }.count == 2)
        // Its two still run (on any worker): no further webhook of the noisy account is handed out.
        #expect(try await take(db, "w2", limit: 8, slow: webhooks).isEmpty)
        // Another account's webhook still finds a slot.
        #expect(try await db.transaction { conn in
            try await queue.enqueue(conn, account: quiet, kind: JobKind.alarmAction, payloads: [.object([:])], maxAttempts: 6, atMost: 10)
        } == 1)
        let other = try await take(db, "w3", limit: 8, slow: webhooks)
        #expect(other.map(\.account) == [quiet] && other.map(\.kind) == [JobKind.alarmAction])
        // A worker with no webhook slot left takes none, whoever queued it.
        for job in first where job.kind == JobKind.alarmAction {
            #expect(try await db.withConnection { try await queue.complete($0, job, worker: "w") })
        }
        let none = SlowKinds(kinds: [JobKind.alarmAction], slots: 0, perAccount: 2)
        #expect(try await take(db, "w4", limit: 8, slow: none).isEmpty)
        #expect(try await take(db, "w4", limit: 8, slow: webhooks).count == 2)
    }

    @Test func expiredLeasesAreTakenInTheirAccountsTurn() async throws {
        let db = try await TestDatabase.fresh(prefix: "q_fair_expiry")
        try await db.transaction { try await queue.enqueue($0, account: noisy, kind: "k") }
        let lost = try #require(try await db.withConnection { try await queue.take($0, worker: "dies", limit: 1, lease: 0.2) }.first)
        try await Task.sleep(for: .milliseconds(400))
        try await db.transaction { try await queue.enqueue($0, account: quiet, kind: "k") }
        let retaken = try await take(db, limit: 8)
        #expect(Set(retaken.map(\.account)) == [noisy, quiet])
        #expect(retaken.first { $0.account == noisy }.map { $0.id == lost.id && $0.attempts == 2 } == true)
    }

    @Test func anAccountsQueuedAlarmActionsAreBounded() async throws {
        let db = try await TestDatabase.fresh(prefix: "q_bounded")
        func enqueue(_ account: String, _ count: Int) async throws -> Int {
            try await db.transaction { conn in
                try await queue.enqueue(conn, account: account, kind: JobKind.alarmAction,
                                        payloads: Array(repeating: .object([:]), count: count), maxAttempts: 1, atMost: 5)
            }
        }
        #expect(try await enqueue(noisy, 3) == 3)
        #expect(try await enqueue(noisy, 4) == 2, "the first ones, up to the limit")
        #expect(try await enqueue(quiet, 1) == 1, "another account's count is its own")
        #expect(try await count(db, "SELECT count(*) FROM jobs WHERE account_id = '\(noisy)'") == 5)
        // Running ones count too; dead ones do not.
        let running = try await take(db, limit: 2)
        #expect(running.count == 2)
        #expect(try await enqueue(noisy, 1) == 0)
        for job in running where job.account == noisy {
            try await db.withConnection { try await queue.fail($0, job, worker: "w", error: "black hole", retryIn: 0) }
        }
        #expect(try await count(db, "SELECT count(*) FROM jobs WHERE account_id = '\(noisy)' AND state = 'dead'") == 1)
        #expect(try await enqueue(noisy, 2) == 1)
    }

    @Test func onlyAnAccountsLatestDeadJobsOfAKindAreKept() async throws {
        let db = try await TestDatabase.fresh(prefix: "q_dead")
        let extra = 5
        _ = try await db.withConnection { conn in
            try await conn.query("""
                INSERT INTO jobs (account_id, kind, state, attempts, max_attempts)
                SELECT \(noisy), \(JobKind.alarmAction), 'dead', 6, 6 FROM generate_series(1, \(JobQueue.deadKept + extra))
                """, logger: db.logger)
            try await conn.query("""
                INSERT INTO jobs (account_id, kind, state, attempts, max_attempts) VALUES (\(quiet), \(JobKind.alarmAction), 'dead', 6, 6)
                """, logger: db.logger)
        }
        try await db.transaction { try await queue.enqueue($0, account: noisy, kind: JobKind.alarmAction, maxAttempts: 1) }
        let job = try #require(try await take(db, limit: 8).first { $0.account == noisy })
        try await db.withConnection { try await queue.fail($0, job, worker: "w", error: "black hole", retryIn: 0) }
        #expect(try await count(db, "SELECT count(*) FROM jobs WHERE account_id = '\(noisy)' AND state = 'dead'") == JobQueue.deadKept)
        #expect(try await count(db, "SELECT count(*) FROM jobs WHERE account_id = '\(noisy)' AND id = \(job.id)") == 1, "the newest is kept")
        #expect(try await count(db, "SELECT count(*) FROM jobs WHERE account_id = '\(quiet)' AND state = 'dead'") == 1)
    }
}
