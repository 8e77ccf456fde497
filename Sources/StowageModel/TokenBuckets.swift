import Foundation

/// Token buckets by key (an account and request class, a source address): each holds up to `burst` tokens and
/// refills at `rate` a second. At most `capacity` keys are held, however many a client makes up: when the table is
/// full, buckets that have refilled are forgotten (a new bucket starts full, so they remember nothing), and if
/// none has, all are. Time is passed in, so a test controls it.
public struct TokenBuckets<Key: Hashable & Sendable>: Sendable {
    struct Bucket: Sendable {
        var tokens: Double
        var rate: Double
        var burst: Double
        var updated: Date

        func refilled(at now: Date) -> Double { min(burst, tokens + max(0, now.timeIntervalSince(updated)) * rate) }
    }

    public let capacity: Int
    private var buckets: [Key: Bucket] = [:]

    public init(capacity: Int) { self.capacity = max(1, capacity) }

    public var count: Int { buckets.count }

    /// The tokens `key`'s bucket holds at `now`.
    public func tokens(_ key: Key, rate: Double, burst: Double, now: Date) -> Double {
        guard var bucket = buckets[key] else { return burst }
        bucket.rate = rate
        bucket.burst = burst
        return bucket.refilled(at: now)
    }

    /// Takes `cost` tokens from `key`'s bucket when it holds them; false, taking nothing, when it does not.
    public mutating func take(_ key: Key, rate: Double, burst: Double, now: Date, cost: Double = 1) -> Bool {
        let available = tokens(key, rate: rate, burst: burst, now: now)
        guard available >= cost else {
            if buckets[key] != nil { buckets[key] = Bucket(tokens: available, rate: rate, burst: burst, updated: now) }
            return false
        }
        if buckets[key] == nil, buckets.count >= capacity { makeRoom(now: now) }
        buckets[key] = Bucket(tokens: available - cost, rate: rate, burst: burst, updated: now)
        return true
    }

    private mutating func makeRoom(now: Date) {
        buckets = buckets.filter { _, bucket in bucket.refilled(at: now) < bucket.burst }
        if buckets.count >= capacity { buckets.removeAll(keepingCapacity: true) }
    }
}
