import Foundation
import PostgresNIO
import StowageModel
import StowageStore
import StowageTestSupport
import Synchronization
import Testing

/// Issue 23 item 8: one account's requests hold at most its share of the tenants' pool; another account's lease is
/// served at once meanwhile, and leases without an account (workers, the agent protocol) take no share.
@Suite struct PoolShareTests {
    /// A pool of four with a share of two and a short acquire timeout, on a fresh database of the test server.
    func pool() async throws -> Database {
        var config = try await TestDatabase.makeEmpty(prefix: "share").config
        config.maxConnections = 4
        config.accountShare = 2
        config.acquireTimeout = .milliseconds(1500)
        let db = try Database(config: config, logger: quietLogger())
        Task { await db.run() }
        return db
    }

    /// Holds one of `account`'s leases until `release` rings.
    func hold(_ db: Database, _ account: String?, held: Doorbell, release: Doorbell) async throws {
        try await Database.$account.withValue(account) {
            try await db.withConnection { conn in
                _ = try await conn.query("SELECT 1", logger: db.logger)
                held.ring()
                await release.wait(timeout: .seconds(10))
            }
        }
    }

    func lease(_ db: Database, _ account: String?) async throws -> Duration {
        let start = ContinuousClock.now
        try await Database.$account.withValue(account) {
            _ = try await db.withConnection { try await $0.query("SELECT 1", logger: db.logger) }
        }
        return ContinuousClock.now - start
    }

    @Test func anAccountHoldsAtMostItsShareWhileAnotherIsServed() async throws {
        let db = try await pool()
        // A lease nested in a held one takes no further share: three deep with a share of two, a request never
        // waits on itself.
        try await Database.$account.withValue("333333333333") {
            try await db.withConnection { _ in
                try await db.withConnection { _ in
                    _ = try await db.withConnection { try await $0.query("SELECT 1", logger: db.logger) }
                }
            }
        }
        let releases = [Doorbell(), Doorbell()]
        try await withThrowingTaskGroup(of: Void.self) { group in
            for release in releases {
                let held = Doorbell()
                group.addTask { try await hold(db, "111111111111", held: held, release: release) }
                await held.wait(timeout: .seconds(5))
            }
            // Its third lease waits for its own, then is refused naming the share; the pool is not exhausted.
            let refused = await #expect(throws: APIError.self) { _ = try await lease(db, "111111111111") }
            #expect(refused?.code == "ThrottlingException" && refused?.message.contains("2 of the 4") == true)
            // Another account, and work of no account, are served at once meanwhile.
            #expect(try await lease(db, "222222222222") < .seconds(1))
            #expect(try await lease(db, nil) < .seconds(1))
            // A waiter gets the share as soon as one of the account's own leases ends.
            let waiter = Task { try await lease(db, "111111111111") }
            try await Task.sleep(for: .milliseconds(100))
            releases[0].ring()
            #expect(try await waiter.value < .milliseconds(1400), "served when its own lease ended, not refused at the timeout")
            releases[1].ring()
            try await group.waitForAll()
        }
    }
}
