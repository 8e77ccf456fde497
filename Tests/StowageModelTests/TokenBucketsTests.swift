import Foundation
import StowageModel
import Testing

@Suite struct TokenBucketsTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func aBucketGivesItsBurstThenRefillsAtItsRate() {
        var buckets = TokenBuckets<String>(capacity: 10)
        func take(_ key: String, after seconds: Double = 0) -> Bool { buckets.take(key, rate: 2, burst: 5, now: t0.addingTimeInterval(seconds)) }
        let burst = (0..<5).map { _ in take("a") }
        #expect(burst == Array(repeating: true, count: 5))
        let spent = take("a")
        #expect(!spent, "the burst is spent")
        let other = take("b")
        #expect(other, "another key has its own bucket")
        let early = take("a", after: 0.4)
        let refilled = take("a", after: 0.5)
        #expect(!early && refilled, "one token after half a second at 2/s")
        #expect(buckets.tokens("a", rate: 2, burst: 5, now: t0.addingTimeInterval(100)) == 5, "never more than the burst")
        #expect(buckets.tokens("new", rate: 2, burst: 5, now: t0) == 5, "an unknown key starts full")
    }

    @Test func theTableNeverHoldsMoreThanItsCapacity() {
        var buckets = TokenBuckets<Int>(capacity: 100)
        // Made-up keys, one attempt each: the table stays bounded however many come.
        for key in 0..<10_000 { _ = buckets.take(key, rate: 1, burst: 10, now: t0.addingTimeInterval(Double(key) * 0.001)) }
        #expect(buckets.count <= 100)
        // Refilled buckets are forgotten first: a key still empty keeps its state while the table makes room.
        var kept = TokenBuckets<String>(capacity: 3)
        for _ in 0..<10 { _ = kept.take("attacker", rate: 0.001, burst: 10, now: t0) }
        _ = kept.take("a", rate: 100, burst: 1, now: t0)
        _ = kept.take("b", rate: 100, burst: 1, now: t0)
        let newcomer = kept.take("c", rate: 100, burst: 1, now: t0.addingTimeInterval(1))
        let attacker = kept.take("attacker", rate: 0.001, burst: 10, now: t0.addingTimeInterval(1))
        #expect(newcomer && kept.count == 2 && !attacker)
    }
}
