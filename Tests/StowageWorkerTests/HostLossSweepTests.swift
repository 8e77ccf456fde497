import Foundation
import PostgresNIO
import StowageModel
import StowageStore
import StowageTestSupport
import StowageWorker
import Testing

/// The host-loss sweep against a real PostgreSQL: silence counts only while the control plane could hear.
@Suite struct HostLossSweepTests {
    let logger = quietLogger()
    let account = "444444444444"

    func exec(_ db: Database, _ sql: String) async throws {
        _ = try await db.withConnection { try await $0.query(PostgresQuery(unsafeSQL: sql), logger: logger) }
    }

    func count(_ db: Database, _ sql: String) async throws -> Int {
        try await db.withConnection { try await $0.first(PostgresQuery(unsafeSQL: sql), as: Int.self, logger: db.logger) } ?? -1
    }

    /// A cluster of `instances` agent instances, each running two tasks; instance i last heartbeated `silence[i]` seconds ago.
    func cluster(_ db: Database, silence: [Int]) async throws {
        try await exec(db, "INSERT INTO accounts (account_id, name) VALUES ('\(account)', 'sweep')")
        try await exec(db, "INSERT INTO clusters (account_id, cluster_name) VALUES ('\(account)', 'c')")
        for (i, seconds) in silence.enumerated() {
            try await exec(db, """
                INSERT INTO container_instances (account_id, cluster_name, instance_id, ec2_instance_id)
                VALUES ('\(account)', 'c', 'i\(i)', 'ec2-\(i)')
                """)
            try await exec(db, """
                INSERT INTO instance_heartbeats VALUES ('\(account)', 'c', 'i\(i)', now() - interval '\(seconds) seconds')
                """)
            for t in 0..<2 {
                try await exec(db, """
                    INSERT INTO tasks (account_id, cluster_name, task_id, family, revision, task_group, instance_id, last_status)
                    VALUES ('\(account)', 'c', 't\(i)-\(t)', 'web', 1, 'family:web', 'i\(i)', 'RUNNING')
                    """)
            }
        }
    }

    func sweep(_ db: Database) async throws {
        try await exec(db, "DELETE FROM jobs")
        try await db.transaction { try await JobQueue(logger: logger).enqueue($0, account: "", kind: JobKind.sweepInstances, uniqueKey: "sweep") }
        let worker = Worker(database: db, handlers: StandardJobs.handlers(), options: WorkerOptions(id: "sweeper", pollInterval: .milliseconds(50)),
                            logger: logger)
        let running = Task { try await worker.run() }
        let deadline = Date().addingTimeInterval(15)
        while try await count(db, "SELECT count(*) FROM jobs WHERE kind = 'sweep-instances'") > 0, Date() < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        worker.stop()
        try await running.value
    }

    func stoppedTasks(_ db: Database) async throws -> Int {
        try await count(db, "SELECT count(*) FROM tasks WHERE last_status = 'STOPPED'")
    }

    @Test func silenceDuringADatabaseOutageCountsForNothing() async throws {
        let db = try await TestDatabase.fresh(prefix: "sw_outage")
        // Every agent silent for 3 minutes, but the control plane became healthy again 2 s ago.
        try await cluster(db, silence: [180, 180, 180])
        try await exec(db, "UPDATE control_plane_health SET last_tick_at = now(), healthy_since = now() - interval '2 seconds'")
        try await sweep(db)
        #expect(try await count(db, "SELECT count(*) FROM container_instances WHERE NOT agent_connected") == 0)
        #expect(try await stoppedTasks(db) == 0)
        // Once a whole window has passed since recovery with one agent still silent, it alone is judged.
        try await exec(db, "UPDATE control_plane_health SET healthy_since = now() - interval '10 minutes'")
        try await exec(db, "UPDATE instance_heartbeats SET last_heartbeat_at = now() WHERE instance_id <> 'i0'")
        try await sweep(db)
        #expect(try await count(db, "SELECT count(*) FROM container_instances WHERE NOT agent_connected") == 1)
        #expect(try await count(db, "SELECT count(*) FROM tasks WHERE last_status = 'STOPPED' AND instance_id = 'i0' AND stopped_reason LIKE 'Host lost%'") == 2)
    }

    @Test func aStalePulseMeansNobodyIsJudged() async throws {
        let db = try await TestDatabase.fresh(prefix: "sw_stale")
        try await cluster(db, silence: [600, 1, 1])
        // No server has ticked for a minute (the database was down, or every server): the sweep cannot tell.
        try await exec(db, "UPDATE control_plane_health SET last_tick_at = now() - interval '60 seconds', healthy_since = now() - interval '1 hour'")
        try await sweep(db)
        #expect(try await count(db, "SELECT count(*) FROM container_instances WHERE NOT agent_connected") == 0)
        #expect(try await stoppedTasks(db) == 0)
    }

    @Test func massSilenceDisconnectsStopsNothingAndWritesAClusterEvent() async throws {
        let db = try await TestDatabase.fresh(prefix: "sw_mass")
        try await cluster(db, silence: [600, 600, 600, 1])
        try await exec(db, "UPDATE control_plane_health SET last_tick_at = now(), healthy_since = now() - interval '1 hour'")
        try await sweep(db)
        #expect(try await count(db, "SELECT count(*) FROM container_instances WHERE NOT agent_connected") == 3)
        #expect(try await stoppedTasks(db) == 0)
        #expect(try await count(db, "SELECT count(*) FROM cluster_events WHERE message LIKE '%3 of 4 container instances stopped reporting at once%'") == 1)
    }
}
