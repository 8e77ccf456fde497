import Foundation

/// A bounded quantile sketch (DDSketch-style log buckets, 1% relative accuracy, at most `maxBuckets`
/// buckets): per-minute rollups carry one so percentiles merge across minutes, tasks and writers.
///
/// The encoding (`encoded`) is shared with PostgreSQL's `stowage_sketch_*` functions, which merge
/// sketches inside the upsert; `Migrations/0005_metrics.sql` must keep the same constants.
public struct QuantileSketch: Sendable, Equatable {
    /// Relative accuracy α: a reported quantile is within α of a value of the right rank.
    public static let relativeAccuracy = 0.01
    public static let gamma = (1 + relativeAccuracy) / (1 - relativeAccuracy)
    /// Values smaller than this in magnitude share the zero bucket.
    public static let minIndexable = 1e-9
    /// Beyond this many buckets the lowest are folded together (upper quantiles stay exact to α).
    public static let maxBuckets = 2048
    static let keyOffset: Int64 = 1 << 20
    static let logGamma = Foundation.log(gamma)

    /// Bucket key → count.
    public private(set) var buckets: [Int: Int] = [:]
    public private(set) var count = 0

    public init() {}

    public init(_ values: some Sequence<Double>) {
        for v in values { add(v) }
        collapse()
    }

    /// The bucket of a value: 0 for (near) zero, ±(1 + ⌈log_γ(|v|/min)⌉) otherwise, so keys sort like values.
    public static func key(_ value: Double) -> Int {
        let magnitude = abs(value)
        guard magnitude >= minIndexable, magnitude.isFinite else { return magnitude.isFinite ? 0 : (value > 0 ? 40_000 : -40_000) }
        let k = Int((Foundation.log(magnitude / minIndexable) / logGamma).rounded(.up)) + 1
        return value < 0 ? -k : k
    }

    /// The value a bucket stands for: the point of least relative error within it.
    public static func value(ofKey key: Int) -> Double {
        guard key != 0 else { return 0 }
        let k = abs(key) - 1
        let v = minIndexable * 2 * Foundation.pow(gamma, Double(k)) / (gamma + 1)
        return key < 0 ? -v : v
    }

    public mutating func add(_ value: Double, count n: Int = 1) {
        guard value.isFinite, n > 0 else { return }
        buckets[Self.key(value), default: 0] += n
        count += n
    }

    public mutating func merge(_ other: QuantileSketch) {
        for (k, c) in other.buckets { buckets[k, default: 0] += c }
        count += other.count
    }

    /// Folds the lowest buckets into the lowest kept one until at most `maxBuckets` remain.
    public mutating func collapse() {
        guard buckets.count > Self.maxBuckets else { return }
        let keys = buckets.keys.sorted(by: >)
        let floor = keys[Self.maxBuckets - 1]
        for k in keys[Self.maxBuckets...] {
            buckets[floor, default: 0] += buckets[k] ?? 0
            buckets[k] = nil
        }
    }

    /// The value at quantile `q` (0...1), by nearest rank over the buckets; nil when empty.
    public func quantile(_ q: Double) -> Double? {
        guard count > 0 else { return nil }
        let rank = max(0, Int((q * Double(count)).rounded(.up)) - 1)
        var seen = 0
        for k in buckets.keys.sorted() {
            seen += buckets[k] ?? 0
            if seen > rank { return Self.value(ofKey: k) }
        }
        return buckets.keys.max().map(Self.value(ofKey:))
    }

    /// One int8 per bucket: (key + 2^20) << 32 | count, sorted — the column format.
    public var encoded: [Int64] {
        buckets.keys.sorted().map { k in (Int64(k) + Self.keyOffset) << 32 | Int64(min(buckets[k] ?? 0, Int(UInt32.max))) }
    }

    public init(encoded: [Int64]) {
        for e in encoded {
            let k = Int((e >> 32) - Self.keyOffset)
            let c = Int(e & 0xFFFF_FFFF)
            buckets[k, default: 0] += c
            count += c
        }
    }
}
