import Foundation
import PostgresNIO
import StowageModel
import StowageStore
import StowageTestSupport
import StowageWorker
import Synchronization
import Testing

@Suite struct WorkerTests {
    let logger = quietLogger()

    func count(_ db: Database, _ sql: String) async throws -> Int {
        try await db.withConnection { try await $0.first(PostgresQuery(unsafeSQL: sql), as: Int.self, logger: db.logger) } ?? -1
    }

    /// Waits, up to a bound, for a condition the worker should bring about.
    func eventually(_ seconds: Double = 15, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try await condition()
    }

    @Test func runsJobsRetriesFailuresAndStopsGracefully() async throws {
        let db = try await TestDatabase.fresh(prefix: "w_run")
        let calls = Atomic<Int>(0)
        let flakyCalls = Atomic<Int>(0)
        let handlers: [String: JobHandler] = [
            "ok": { _ in calls.add(1, ordering: .relaxed) },
            "flaky": { context in
                if flakyCalls.add(1, ordering: .relaxed).newValue < 3 { throw APIError.server("not yet") }
                #expect(context.job.attempts == 3)
            },
        ]
        // A long poll interval: only NOTIFY can wake the worker quickly.
        let worker = Worker(database: db, handlers: handlers,
                            options: WorkerOptions(id: "t", concurrency: 4, pollInterval: .seconds(30), retryBase: 0.05), logger: logger)
        let running = Task { try await worker.run() }
        try await Task.sleep(for: .milliseconds(300))
        try await db.transaction { conn in
            let queue = JobQueue(logger: logger)
            for i in 0..<10 { try await queue.enqueue(conn, account: "111111111111", kind: "ok", uniqueKey: "\(i)") }
            try await queue.enqueue(conn, account: "111111111111", kind: "flaky")
        }
        #expect(try await eventually { try await count(db, "SELECT count(*) FROM jobs") == 0 })
        #expect(calls.load(ordering: .relaxed) == 10)
        #expect(flakyCalls.load(ordering: .relaxed) == 3)
        worker.stop()
        try await running.value
    }

    @Test func unknownKindsEndDead() async throws {
        let db = try await TestDatabase.fresh(prefix: "w_unknown")
        try await db.transaction { try await JobQueue(logger: logger).enqueue($0, account: "", kind: "mystery", maxAttempts: 2) }
        let worker = Worker(database: db, handlers: [:],
                            options: WorkerOptions(id: "t", pollInterval: .milliseconds(50), retryBase: 0.01), logger: logger)
        let running = Task { try await worker.run() }
        #expect(try await eventually { try await count(db, "SELECT count(*) FROM jobs WHERE state = 'dead'") == 1 })
        let dead = try await db.withConnection { try await JobQueue(logger: logger).dead($0) }
        #expect(dead.first?.lastError?.contains("no handler for job kind 'mystery'") == true)
        worker.stop()
        try await running.value
    }

    @Test func periodicJobsAreEnqueuedOncePerPeriodAcrossWorkers() async throws {
        let db = try await TestDatabase.fresh(prefix: "w_periodic")
        let runs = Atomic<Int>(0)
        let handlers: [String: JobHandler] = ["tick": { _ in runs.add(1, ordering: .relaxed) }]
        let workers = (0..<3).map { i in
            Worker(database: db, handlers: handlers, periodic: [PeriodicJob(kind: "tick", every: 3600)],
                   options: WorkerOptions(id: "w\(i)", pollInterval: .milliseconds(50)), logger: logger)
        }
        let tasks = workers.map { worker in Task { try await worker.run() } }
        #expect(try await eventually { runs.load(ordering: .relaxed) >= 1 })
        try await Task.sleep(for: .seconds(2))
        #expect(runs.load(ordering: .relaxed) == 1, "three workers, one period, one run")
        workers.forEach { $0.stop() }
        for task in tasks { try await task.value }
    }

    @Test func purgeJobDeletesRevisionsMarkedForDeletion() async throws {
        let db = try await TestDatabase.fresh(prefix: "w_purge")
        let account = "333333333333"
        let store = TaskDefinitionStore(logger: logger)
        try await db.transaction { conn in
            try await conn.query("INSERT INTO accounts (account_id, name) VALUES (\(account), 'purge')", logger: logger)
            var body = TaskDefinition()
            body.family = "web"
            for _ in 0..<3 { _ = try await store.register(conn, account: account, body: body, tags: [], registeredBy: "test") }
            try await store.setStatus(conn, account: account, family: "web", revision: 1, status: "DELETE_IN_PROGRESS")
            try await store.setStatus(conn, account: account, family: "web", revision: 2, status: "INACTIVE")
            try await JobQueue(logger: logger).enqueue(conn, account: account, kind: JobKind.purgeTaskDefinitions, uniqueKey: "all")
        }
        let worker = Worker(database: db, handlers: StandardJobs.handlers(),
                            options: WorkerOptions(id: "t", pollInterval: .milliseconds(50)), logger: logger)
        let running = Task { try await worker.run() }
        #expect(try await eventually { try await count(db, "SELECT count(*) FROM jobs") == 0 })
        #expect(try await count(db, "SELECT count(*) FROM task_definitions") == 2)
        #expect(try await count(db, "SELECT count(*) FROM task_definitions WHERE revision = 1") == 0)
        worker.stop()
        try await running.value
    }
}
