import Foundation
import PostgresNIO
import StowageModel
import StowageStore
import StowageTestSupport
import Testing

@Suite struct JobQueueTests {
    let queue = JobQueue(logger: quietLogger())

    func count(_ db: Database, _ sql: String) async throws -> Int {
        try await db.withConnection { try await $0.first(PostgresQuery(unsafeSQL: sql), as: Int.self, logger: db.logger) } ?? -1
    }

    @Test func uniqueKeysCoalescePendingJobs() async throws {
        let db = try await TestDatabase.fresh(prefix: "q_dedup")
        try await db.transaction { conn in
            for _ in 0..<3 { try await queue.enqueue(conn, account: "111111111111", kind: "k", uniqueKey: "svc-a") }
            try await queue.enqueue(conn, account: "111111111111", kind: "k", uniqueKey: "svc-b")
            try await queue.enqueue(conn, account: "222222222222", kind: "k", uniqueKey: "svc-a")
            try await queue.enqueue(conn, account: "111111111111", kind: "k")
            try await queue.enqueue(conn, account: "111111111111", kind: "k")
        }
        #expect(try await count(db, "SELECT count(*) FROM jobs") == 5)
        #expect(try await count(db, "SELECT count(*) FROM jobs WHERE unique_key = 'svc-a'") == 2)
    }

    /// A fleet's state reports all enqueue the same reconcile job: coalescing with a pending job must not lock
    /// it, or each report would wait for the one before it to commit.
    @Test func coalescingNeitherLocksThePendingJobNorLosesAnEarlierRunTime() async throws {
        let db = try await TestDatabase.fresh(prefix: "q_nolock")
        try await db.transaction { try await queue.enqueue($0, account: "111111111111", kind: "k", uniqueKey: "svc", delay: 60) }
        try await db.transaction { conn in
            // Brought forward: a due enqueue moves a later pending job to now.
            try await queue.enqueue(conn, account: "111111111111", kind: "k", uniqueKey: "svc")
        }
        #expect(try await count(db, "SELECT count(*) FROM jobs WHERE run_at <= now()") == 1)
        #expect(try await count(db, "SELECT count(*) FROM jobs") == 1)
        try await db.transaction { holder in
            try await queue.enqueue(holder, account: "111111111111", kind: "k", uniqueKey: "svc")
            // While that transaction is open, another coalesces with the same pending job without waiting for it.
            try await db.withConnection { other in
                try await other.query("SET lock_timeout = '300ms'", logger: db.logger)
                try await other.query("BEGIN", logger: db.logger)
                try await queue.enqueue(other, account: "111111111111", kind: "k", uniqueKey: "svc")
                try await other.query("COMMIT", logger: db.logger)
                try await other.query("RESET lock_timeout", logger: db.logger)
            }
        }
        #expect(try await count(db, "SELECT count(*) FROM jobs") == 1)
    }

    @Test func aJobEnqueuedInARolledBackTransactionNeverExists() async throws {
        let db = try await TestDatabase.fresh(prefix: "q_rollback")
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            try await db.transaction { conn in
                try await queue.enqueue(conn, account: "111111111111", kind: "k")
                throw Boom()
            }
        }
        #expect(try await count(db, "SELECT count(*) FROM jobs") == 0)
    }

    @Test func takenJobsAreLeasedToOneWorker() async throws {
        let db = try await TestDatabase.fresh(prefix: "q_lease")
        try await db.transaction { conn in
            for i in 0..<5 { try await queue.enqueue(conn, account: "111111111111", kind: "k", uniqueKey: "\(i)") }
        }
        let first = try await db.withConnection { try await queue.take($0, worker: "w1", limit: 3, lease: 60) }
        let second = try await db.withConnection { try await queue.take($0, worker: "w2", limit: 10, lease: 60) }
        let third = try await db.withConnection { try await queue.take($0, worker: "w3", limit: 10, lease: 60) }
        #expect(first.count == 3 && second.count == 2 && third.isEmpty)
        #expect(Set(first.map(\.id)).isDisjoint(with: second.map(\.id)))
        #expect(first.allSatisfy { $0.attempts == 1 })
        for job in first { #expect(try await db.withConnection { try await queue.complete($0, job, worker: "w1") }) }
        #expect(try await db.withConnection { try await queue.complete($0, second[0], worker: "w1") } == false,
                "only the lease holder completes a job")
        #expect(try await count(db, "SELECT count(*) FROM jobs") == 2)
    }

    @Test func failuresRetryLaterThenDie() async throws {
        let db = try await TestDatabase.fresh(prefix: "q_retry")
        try await db.transaction { try await queue.enqueue($0, account: "111111111111", kind: "k", uniqueKey: "x", maxAttempts: 2) }
        let job = try #require(try await db.withConnection { try await queue.take($0, worker: "w", limit: 1, lease: 60) }.first)
        try await db.withConnection { try await queue.fail($0, job, worker: "w", error: "first", retryIn: 30) }
        #expect(try await count(db, "SELECT count(*) FROM jobs WHERE state = 'pending' AND run_at > now() + interval '25 seconds'") == 1)
        #expect(try await db.withConnection { try await queue.take($0, worker: "w", limit: 1, lease: 60) }.isEmpty, "not due yet")
        _ = try await db.withConnection { conn in
            try await conn.query("UPDATE jobs SET run_at = now()", logger: db.logger)
        }
        let again = try #require(try await db.withConnection { try await queue.take($0, worker: "w", limit: 1, lease: 60) }.first)
        #expect(again.attempts == 2)
        try await db.withConnection { try await queue.fail($0, again, worker: "w", error: "second", retryIn: 0) }
        let stats = try await db.withConnection { try await queue.stats($0) }
        #expect(stats.dead == 1 && stats.pending == 0)
        let dead = try await db.withConnection { try await queue.dead($0) }
        #expect(dead.map(\.lastError) == ["second"])
        #expect(try await db.withConnection { try await queue.take($0, worker: "w", limit: 1, lease: 60) }.isEmpty, "dead jobs stay dead")
    }

    @Test func aRetryFoldsIntoANewerPendingJob() async throws {
        let db = try await TestDatabase.fresh(prefix: "q_fold")
        try await db.transaction { try await queue.enqueue($0, account: "111111111111", kind: "k", uniqueKey: "svc") }
        let job = try #require(try await db.withConnection { try await queue.take($0, worker: "w", limit: 1, lease: 60) }.first)
        try await db.transaction { try await queue.enqueue($0, account: "111111111111", kind: "k", uniqueKey: "svc") }
        try await db.withConnection { try await queue.fail($0, job, worker: "w", error: "x", retryIn: 5) }
        #expect(try await count(db, "SELECT count(*) FROM jobs") == 1)
        #expect(try await count(db, "SELECT count(*) FROM jobs WHERE state = 'pending' AND attempts = 0") == 1)
    }

    @Test func anExpiredLeaseIsTakenAgain() async throws {
        let db = try await TestDatabase.fresh(prefix: "q_expiry")
        try await db.transaction { try await queue.enqueue($0, account: "111111111111", kind: "k") }
        let lost = try #require(try await db.withConnection { try await queue.take($0, worker: "dies", limit: 1, lease: 0.2) }.first)
        try await Task.sleep(for: .milliseconds(400))
        let stats = try await db.withConnection { try await queue.stats($0) }
        #expect(stats.expired == 1)
        let retaken = try #require(try await db.withConnection { try await queue.take($0, worker: "lives", limit: 1, lease: 60) }.first)
        #expect(retaken.id == lost.id && retaken.attempts == 2)
        #expect(try await db.withConnection { try await queue.complete($0, lost, worker: "dies") } == false)
        #expect(try await db.withConnection { try await queue.complete($0, retaken, worker: "lives") })
    }

    @Test func backoffGrowsIsCappedAndJittered() {
        #expect(JobQueue.backoff(attempt: 1, base: 1, random: 1) == 1)
        #expect(JobQueue.backoff(attempt: 4, base: 1, random: 1) == 8)
        #expect(JobQueue.backoff(attempt: 40, base: 1, cap: 300, random: 1) == 300)
        #expect(JobQueue.backoff(attempt: 4, base: 1, random: 0) == 4)
        var previous = 0.0
        for attempt in 1...20 {
            let value = JobQueue.backoff(attempt: attempt, base: 0.5, cap: 60, random: 0.3)
            #expect(value >= previous)
            previous = value
        }
        for _ in 0..<100 {
            let value = JobQueue.backoff(attempt: 3)
            #expect(value >= 2 && value <= 4)
        }
    }

    @Test func exactlyOneClaimPerPeriod() async throws {
        let db = try await TestDatabase.fresh(prefix: "q_periodic")
        let period = Date(timeIntervalSince1970: 1_800_000_000)
        let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask { try await db.transaction { try await queue.claimPeriod($0, kind: "sweep", period: period) } }
            }
            var wins = 0
            for try await won in group where won { wins += 1 }
            return wins
        }
        #expect(wins == 1)
        #expect(try await db.transaction { try await queue.claimPeriod($0, kind: "sweep", period: period.addingTimeInterval(-60)) } == false)
        #expect(try await db.transaction { try await queue.claimPeriod($0, kind: "sweep", period: period.addingTimeInterval(60)) })
    }
}
