import Foundation
import Logging
import PostgresNIO
import StowageModel
import StowageStore
import Synchronization

/// The configured limits every account gets unless `account_quotas` overrides them.
public struct QuotaDefaults: Sendable {
    public var values: [String: Int]

    /// ECS's defaults where ECS has one; request rates sized so one server's benchmarks are not throttled.
    public static let standard: [String: Int] = [
        "clusters": 10_000,
        "services-per-cluster": 5_000,
        "tasks-per-service": 10_000,
        "revisions-per-family": 1_000_000,
        "api-read-rps": 20_000,
        "api-write-rps": 5_000,
        // The agent protocol (polls, state reports, telemetry, task credentials) has a bucket of its own: a
        // tenant's fleet of hosts must never spend the write quota its people and scripts need, nor be throttled by them.
        "api-agent-rps": 100_000,
        // Live tails an account holds open at once, on each server (AWS's quota for concurrent Live Tail sessions).
        "live-tails": 15,
    ]

    public init(_ overrides: [String: Int] = [:]) {
        values = Self.standard.merging(overrides) { _, new in new }
    }
}

/// Per-tenant quotas: resource counts checked inside the writing transaction (LimitExceededException), and
/// request rates as token buckets per account and action class (ThrottlingException), held in memory.
public final class Quotas: Sendable {
    struct Override { var values: [String: Int]; var expires: Date }

    let database: Database
    let defaults: QuotaDefaults
    let clock: any WallClock
    /// Accounts making calls right now, two or three classes each; a bucket forgotten starts full.
    private let buckets = Mutex(TokenBuckets<String>(capacity: 100_000))
    private let overrides = Mutex<[String: Override]>([:])

    public init(database: Database, defaults: QuotaDefaults, clock: any WallClock) {
        self.database = database; self.defaults = defaults; self.clock = clock
    }

    public static let names = Set(QuotaDefaults.standard.keys)

    /// Which bucket a request spends: reads, writes, or the agent protocol's (its route group says so).
    public enum RateClass: String, Sendable {
        case read, write, agent

    }

    /// Takes one token from the account's bucket for this class; a bucket holds one second's worth.
    public func admit(account: String, _ rateClass: RateClass) async throws(APIError) {
        let kind = rateClass.rawValue
        let rate = Double(await limit(account: account, name: "api-\(kind)-rps"))
        let now = clock.now()
        let ok = buckets.withLock { $0.take(account + "|" + kind, rate: rate, burst: rate, now: now) }
        guard ok else {
            throw APIError("ThrottlingException", "Rate exceeded: more than \(Int(rate)) \(kind) requests per second for account \(account).")
        }
    }

    /// The account's limit: its override (cached for a minute) or the configured default.
    public func limit(account: String, name: String) async -> Int {
        let now = clock.now()
        if let cached = overrides.withLock({ $0[account] }), cached.expires > now {
            return cached.values[name] ?? defaults.values[name] ?? .max
        }
        let values = (try? await database.withConnection { conn in
            try await self.load(conn, account: account)
        }) ?? [:]
        overrides.withLock { $0[account] = Override(values: values, expires: now.addingTimeInterval(60)) }
        return values[name] ?? defaults.values[name] ?? .max
    }

    func load(_ conn: PostgresConnection, account: String) async throws -> [String: Int] {
        try await AccountStore(logger: database.logger).quotas(conn, account: account)
    }

    /// Refuses a write that would take any of these counts past the account's limit; runs inside the writing
    /// transaction, reading the overrides there (once) so a just-changed quota applies.
    public func check(_ conn: PostgresConnection, account: String, _ counts: [(name: String, count: Int, what: String)]) async throws {
        let overrides = try await load(conn, account: account)
        for (name, count, what) in counts {
            let limit = overrides[name] ?? defaults.values[name] ?? .max
            guard count <= limit else {
                throw APIError("LimitExceededException", "\(what) would be \(count), over this account's limit of \(limit) (quota \(name)).")
            }
        }
    }

    /// `stowage admin set-quota`: an account's own value for one quota.
    public static func set(_ conn: PostgresConnection, account: String, name: String, value: Int, logger: Logger) async throws {
        guard names.contains(name) else {
            throw APIError.invalidParameter("Unknown quota \(name); known: \(names.sorted().joined(separator: ", ")).")
        }
        try await AccountStore(logger: logger).setQuota(conn, account: account, name: name, value: value)
    }
}
