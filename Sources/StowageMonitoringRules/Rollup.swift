import Foundation

/// One series' datapoints over one period (a minute as stored, or several merged for a query).
public struct Rollup: Sendable, Equatable {
    public var sampleCount: Double
    public var sum: Double
    public var minimum: Double
    public var maximum: Double
    public var sketch: QuantileSketch

    public init(sampleCount: Double, sum: Double, minimum: Double, maximum: Double, sketch: QuantileSketch = QuantileSketch()) {
        self.sampleCount = sampleCount; self.sum = sum; self.minimum = minimum; self.maximum = maximum; self.sketch = sketch
    }

    /// A rollup of raw values.
    public init?(values: [Double]) {
        guard let lo = values.min(), let hi = values.max() else { return nil }
        self.init(sampleCount: Double(values.count), sum: values.reduce(0, +), minimum: lo, maximum: hi, sketch: QuantileSketch(values))
    }

    /// PutMetricData's StatisticValues: no individual values, so the sketch holds the mean.
    public init(statisticSet count: Double, sum: Double, minimum: Double, maximum: Double) {
        var sketch = QuantileSketch()
        sketch.add(count > 0 ? sum / count : 0, count: max(1, Int(count.rounded())))
        self.init(sampleCount: count, sum: sum, minimum: minimum, maximum: maximum, sketch: sketch)
    }

    public var average: Double { sampleCount > 0 ? sum / sampleCount : 0 }

    public mutating func merge(_ other: Rollup) {
        sampleCount += other.sampleCount
        sum += other.sum
        minimum = Swift.min(minimum, other.minimum)
        maximum = Swift.max(maximum, other.maximum)
        sketch.merge(other.sketch)
    }

    /// A percentile from the sketch, clamped to the exact minimum and maximum.
    public func percentile(_ p: Double) -> Double? {
        guard let v = sketch.quantile(p / 100) else { return nil }
        return Swift.min(maximum, Swift.max(minimum, v))
    }

    public func value(of statistic: Statistic) -> Double? {
        switch statistic {
        case .average: average
        case .sum: sum
        case .minimum: minimum
        case .maximum: maximum
        case .sampleCount: sampleCount
        case .percentile(let p): percentile(p)
        }
    }
}

/// CloudWatch's statistics: the five simple ones and extended `pNN(.NN)` percentiles.
public enum Statistic: Sendable, Hashable, CustomStringConvertible {
    case average, sum, minimum, maximum, sampleCount
    case percentile(Double)

    public init?(_ text: String) {
        switch text {
        case "Average": self = .average
        case "Sum": self = .sum
        case "Minimum": self = .minimum
        case "Maximum": self = .maximum
        case "SampleCount": self = .sampleCount
        default:
            guard text.hasPrefix("p"), let p = Double(text.dropFirst()), p >= 0, p <= 100,
                  text.dropFirst().allSatisfy({ $0.isNumber || $0 == "." }) else { return nil }
            self = .percentile(p)
        }
    }

    public var description: String {
        switch self {
        case .average: "Average"
        case .sum: "Sum"
        case .minimum: "Minimum"
        case .maximum: "Maximum"
        case .sampleCount: "SampleCount"
        case .percentile(let p): "p" + (p.rounded() == p ? String(Int(p)) : String(p))
        }
    }
}

/// Buckets minute rollups into query periods aligned to the start time, as CloudWatch does.
public enum PeriodAggregation {
    /// `minutes` are (epoch seconds of the minute, rollup); returns (period start, merged rollup) in time order.
    public static func aggregate(_ minutes: [(Int64, Rollup)], start: Int64, period: Int64) -> [(Int64, Rollup)] {
        var periods: [Int64: Rollup] = [:]
        for (t, r) in minutes where t >= start {
            let slot = start + (t - start) / period * period
            if var existing = periods[slot] { existing.merge(r); periods[slot] = existing } else { periods[slot] = r }
        }
        return periods.keys.sorted().map { ($0, periods[$0] ?? r0) }
    }
    private static let r0 = Rollup(sampleCount: 0, sum: 0, minimum: 0, maximum: 0)
}
