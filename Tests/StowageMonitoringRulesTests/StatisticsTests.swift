import Foundation
import Testing
@testable import StowageMonitoringRules

/// A deterministic generator so failures reproduce.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Nearest-rank percentile, computed independently of the sketch.
func exactPercentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    let rank = max(1, Int((p / 100 * Double(sorted.count)).rounded(.up)))
    return sorted[rank - 1]
}

@Suite struct StatisticsTests {
    @Test(arguments: [50.0, 90.0, 99.0, 99.9])
    func percentilesWithinRelativeAccuracy(p: Double) {
        var rng = SplitMix(state: 42)
        // Three shapes: uniform CPU-like, log-normal latency-like, and values spanning six decades.
        let sets: [[Double]] = [
            (0..<5000).map { _ in Double.random(in: 0...100, using: &rng) },
            (0..<5000).map { _ in exp(Double.random(in: 0...1, using: &rng) * 3 + Double.random(in: 0...1, using: &rng)) },
            (0..<5000).map { _ in pow(10, Double.random(in: -3...3, using: &rng)) },
        ]
        for values in sets {
            let rollup = Rollup(values: values)
            let got = rollup?.percentile(p) ?? .nan
            let want = exactPercentile(values, p)
            #expect(abs(got - want) <= want * QuantileSketch.relativeAccuracy * 1.01, "p\(p): got \(got), want \(want)")
        }
    }

    @Test func mergedMinutesEqualOneSketchOfAllValues() {
        var rng = SplitMix(state: 7)
        let minutes = (0..<60).map { _ in (0..<30).map { _ in Double.random(in: 1...500, using: &rng) } }
        var merged = Rollup(values: minutes[0])
        for m in minutes.dropFirst() { merged?.merge(Rollup(values: m) ?? Rollup(sampleCount: 0, sum: 0, minimum: 0, maximum: 0)) }
        let all = minutes.flatMap { $0 }
        #expect(merged?.sampleCount == Double(all.count))
        #expect(abs((merged?.sum ?? 0) - all.reduce(0, +)) < 1e-6)
        #expect(merged?.minimum == all.min())
        #expect(merged?.maximum == all.max())
        #expect(abs((merged?.average ?? 0) - all.reduce(0, +) / Double(all.count)) < 1e-9)
        #expect(merged?.sketch == QuantileSketch(all))
    }

    @Test func encodingRoundTripsAndSortsByValue() {
        let sketch = QuantileSketch([-1000, -3.5, 0, 1e-12, 0.25, 7, 7, 7, 1e9])
        #expect(QuantileSketch(encoded: sketch.encoded) == sketch)
        #expect(sketch.encoded == sketch.encoded.sorted())
        #expect(sketch.count == 9)
        #expect(QuantileSketch.key(-1000) < QuantileSketch.key(-3.5))
        #expect(QuantileSketch.key(0) == 0)
    }

    @Test func sizeIsBoundedAndUpperQuantilesSurviveCollapse() {
        let values = (0..<100_000).map { pow(1.0005, Double($0)) }  // spans ~21 decades: more than the buckets cover
        let sketch = QuantileSketch(values)
        #expect(sketch.buckets.count <= QuantileSketch.maxBuckets)
        let p99 = sketch.quantile(0.99) ?? 0
        let want = exactPercentile(values, 99)
        #expect(abs(p99 - want) <= want * 0.0101)
    }

    @Test func statisticsParseLikeCloudWatch() {
        #expect(Statistic("Average") == .average)
        #expect(Statistic("p99") == .percentile(99))
        #expect(Statistic("p99.9") == .percentile(99.9))
        #expect(Statistic("p101") == nil)
        #expect(Statistic("Mean") == nil)
        #expect(Statistic("p99.9")?.description == "p99.9")
    }

    @Test func periodsAlignToStartAndMergeMinutes() {
        let minutes = (0..<10).map { (Int64(600 + $0 * 60), Rollup(values: [Double($0)]) ?? Rollup(sampleCount: 0, sum: 0, minimum: 0, maximum: 0)) }
        let periods = PeriodAggregation.aggregate(minutes, start: 600, period: 300)
        #expect(periods.map(\.0) == [600, 900])
        #expect(periods[0].1.sum == 0 + 1 + 2 + 3 + 4)
        #expect(periods[1].1.maximum == 9)
        #expect(periods[1].1.sampleCount == 5)
    }
}
