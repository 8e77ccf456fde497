import Foundation

/// Target tracking as Application Auto Scaling does it for ECS services: scale out in proportion when
/// the metric stayed above target, scale in when it stayed below 90% of it, within min/max and cooldowns.
public struct TargetTracking: Sendable, Equatable {
    public var target: Double
    public var minCapacity: Int
    public var maxCapacity: Int
    public var scaleOutCooldown: Double
    public var scaleInCooldown: Double
    public var disableScaleIn: Bool
    /// Consecutive 1-minute datapoints needed above target (scale out) and below 90% of it (scale in).
    public var scaleOutDatapoints: Int
    public var scaleInDatapoints: Int

    public init(target: Double, minCapacity: Int, maxCapacity: Int, scaleOutCooldown: Double = 300, scaleInCooldown: Double = 300,
                disableScaleIn: Bool = false, scaleOutDatapoints: Int = 3, scaleInDatapoints: Int = 15) {
        self.target = target; self.minCapacity = minCapacity; self.maxCapacity = maxCapacity
        self.scaleOutCooldown = scaleOutCooldown; self.scaleInCooldown = scaleInCooldown; self.disableScaleIn = disableScaleIn
        self.scaleOutDatapoints = scaleOutDatapoints; self.scaleInDatapoints = scaleInDatapoints
    }

    /// The new capacity and why, or nil to leave it. `recent` holds the latest minutes' averages, oldest
    /// first (nil where no data); times are seconds since the last scale-out and the last scale-in.
    public func decide(current: Int, recent: [Double?], metricName: String, sinceScaleOut: Double?, sinceScaleIn: Double?)
        -> (capacity: Int, cause: String)?
    {
        if let bounded = Self.bounded(current, min: minCapacity, max: maxCapacity) { return bounded }
        guard current > 0 else { return nil }
        let outWindow = recent.suffix(scaleOutDatapoints)
        if outWindow.count == scaleOutDatapoints, outWindow.allSatisfy({ ($0 ?? -.infinity) > target }) {
            let values = outWindow.compactMap { $0 }
            let average = values.reduce(0, +) / Double(values.count)
            let wanted = min(maxCapacity, max(current + 1, Int((Double(current) * average / target).rounded(.up))))
            guard wanted > current else { return nil }
            if let since = sinceScaleOut, since < scaleOutCooldown { return nil }
            return (wanted, "monitor alarm TargetTracking-\(metricName)-AlarmHigh in state ALARM triggered policy: \(metricName) averaged \(formatted(average)) over the last \(values.count) minute(s), above the target \(formatted(target)); desired count \(current) -> \(wanted)")
        }
        guard !disableScaleIn else { return nil }
        let inWindow = recent.suffix(scaleInDatapoints)
        let low = target * 0.9
        if inWindow.count == scaleInDatapoints, inWindow.allSatisfy({ ($0 ?? .infinity) < low }) {
            let values = inWindow.compactMap { $0 }
            let average = values.reduce(0, +) / Double(values.count)
            let wanted = max(minCapacity, min(current - 1, Int((Double(current) * average / target).rounded(.up))))
            guard wanted < current else { return nil }
            if let since = sinceScaleIn, since < scaleInCooldown { return nil }
            if let since = sinceScaleOut, since < scaleInCooldown { return nil }
            return (wanted, "monitor alarm TargetTracking-\(metricName)-AlarmLow in state ALARM triggered policy: \(metricName) averaged \(formatted(average)) over the last \(values.count) minute(s), below 90% of the target \(formatted(target)); desired count \(current) -> \(wanted)")
        }
        return nil
    }
}

extension TargetTracking {
    /// A target's bounds win over any policy: the capacity to move to when `current` is outside them, and why.
    public static func bounded(_ current: Int, min minCapacity: Int, max maxCapacity: Int) -> (capacity: Int, cause: String)? {
        if current < minCapacity { return (minCapacity, "the current capacity \(current) is below the minimum \(minCapacity)") }
        if current > maxCapacity { return (maxCapacity, "the current capacity \(current) is above the maximum \(maxCapacity)") }
        return nil
    }
}

/// One step of a step-scaling policy: bounds are relative to the alarm threshold (nil: unbounded).
public struct StepAdjustment: Sendable, Equatable, Codable {
    public var lower: Double?
    public var upper: Double?
    public var adjustment: Int
    public init(lower: Double?, upper: Double?, adjustment: Int) {
        self.lower = lower; self.upper = upper; self.adjustment = adjustment
    }
    enum CodingKeys: String, CodingKey {
        case lower = "MetricIntervalLowerBound", upper = "MetricIntervalUpperBound", adjustment = "ScalingAdjustment"
    }
}

/// Step scaling: the step the breach falls in says how much to change the capacity.
public struct StepScaling: Sendable, Equatable {
    public enum AdjustmentType: String, Sendable, Codable, CaseIterable {
        case changeInCapacity = "ChangeInCapacity"
        case percentChangeInCapacity = "PercentChangeInCapacity"
        case exactCapacity = "ExactCapacity"
    }

    public var adjustmentType: AdjustmentType
    public var steps: [StepAdjustment]
    public var minAdjustmentMagnitude: Int?

    public init(adjustmentType: AdjustmentType, steps: [StepAdjustment], minAdjustmentMagnitude: Int? = nil) {
        self.adjustmentType = adjustmentType; self.steps = steps; self.minAdjustmentMagnitude = minAdjustmentMagnitude
    }

    /// Checks the steps do not overlap or leave gaps, and at most one bound is open at each end.
    public func validate() throws(ScheduleError) {
        guard !steps.isEmpty else { throw ScheduleError("StepAdjustments must hold at least one step.") }
        let sorted = steps.sorted { ($0.lower ?? -.infinity) < ($1.lower ?? -.infinity) }
        for (a, b) in zip(sorted, sorted.dropFirst()) {
            guard let upper = a.upper, upper == b.lower else {
                throw ScheduleError("Step adjustments must be contiguous: each step's upper bound must be the next one's lower bound.")
            }
        }
        for s in steps {
            if let lo = s.lower, let hi = s.upper, lo >= hi {
                throw ScheduleError("A step's lower bound must be below its upper bound.")
            }
        }
    }

    /// The new capacity when the metric is `breach` above (or below, negative) the threshold.
    public func apply(current: Int, breach: Double, minCapacity: Int, maxCapacity: Int) -> Int? {
        guard let step = steps.first(where: { s in
            (s.lower.map { breach >= $0 } ?? true) && (s.upper.map { breach < $0 } ?? true)
        }) else { return nil }
        var wanted: Int
        switch adjustmentType {
        case .changeInCapacity: wanted = current + step.adjustment
        case .exactCapacity: wanted = step.adjustment
        case .percentChangeInCapacity:
            var change = Int((Double(current) * Double(step.adjustment) / 100).rounded(.towardZero))
            if let magnitude = minAdjustmentMagnitude, abs(change) < magnitude { change = step.adjustment < 0 ? -magnitude : magnitude }
            if change == 0 { change = step.adjustment < 0 ? -1 : 1 }
            wanted = current + change
        }
        return min(maxCapacity, max(minCapacity, wanted))
    }
}
