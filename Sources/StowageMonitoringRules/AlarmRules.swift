/// CloudWatch alarm states.
public enum AlarmState: String, Sendable, Codable, CaseIterable {
    case ok = "OK"
    case alarm = "ALARM"
    case insufficientData = "INSUFFICIENT_DATA"
}

/// How an alarm compares a datapoint with its threshold.
public enum ComparisonOperator: String, Sendable, Codable, CaseIterable {
    case greaterThanOrEqualToThreshold = "GreaterThanOrEqualToThreshold"
    case greaterThanThreshold = "GreaterThanThreshold"
    case lessThanThreshold = "LessThanThreshold"
    case lessThanOrEqualToThreshold = "LessThanOrEqualToThreshold"

    public func breaches(_ value: Double, _ threshold: Double) -> Bool {
        switch self {
        case .greaterThanOrEqualToThreshold: value >= threshold
        case .greaterThanThreshold: value > threshold
        case .lessThanThreshold: value < threshold
        case .lessThanOrEqualToThreshold: value <= threshold
        }
    }

    var phrase: String {
        switch self {
        case .greaterThanOrEqualToThreshold: "greater than or equal to"
        case .greaterThanThreshold: "greater than"
        case .lessThanThreshold: "less than"
        case .lessThanOrEqualToThreshold: "less than or equal to"
        }
    }
}

/// What a missing period counts as.
public enum TreatMissingData: String, Sendable, Codable, CaseIterable {
    case breaching, notBreaching, ignore, missing
}

/// An alarm's rule, separate from where its datapoints come from.
public struct AlarmRule: Sendable, Equatable {
    public var threshold: Double
    public var comparison: ComparisonOperator
    public var evaluationPeriods: Int
    public var datapointsToAlarm: Int
    public var treatMissingData: TreatMissingData

    public init(threshold: Double, comparison: ComparisonOperator, evaluationPeriods: Int, datapointsToAlarm: Int,
                treatMissingData: TreatMissingData) {
        self.threshold = threshold; self.comparison = comparison; self.evaluationPeriods = evaluationPeriods
        self.datapointsToAlarm = datapointsToAlarm; self.treatMissingData = treatMissingData
    }

    /// The state the latest `evaluationPeriods` values (oldest first, nil when missing) put the alarm in,
    /// and the reason CloudWatch would give; nil state means "stay as you are" (treat missing as ignore).
    public func evaluate(_ values: [Double?], current: AlarmState) -> (state: AlarmState, reason: String) {
        let window = Array(values.suffix(evaluationPeriods))
        let judged: [Bool?] = window.map { value in
            if let value { return comparison.breaches(value, threshold) }
            switch treatMissingData {
            case .breaching: return true
            case .notBreaching: return false
            case .ignore, .missing: return nil
            }
        }
        let known = judged.compactMap { $0 }
        let present = window.compactMap { $0 }
        let shown = present.map { formatted($0) }.joined(separator: ", ")
        if known.isEmpty {
            if treatMissingData == .ignore {
                return (current, "Unchecked: no datapoints in the last \(window.count) periods; keeping the current state (missing data ignored).")
            }
            return (.insufficientData, "Insufficient Data: no datapoints were received for \(window.count) periods.")
        }
        let breaching = known.filter { $0 }.count
        if breaching >= datapointsToAlarm {
            return (.alarm, "Threshold Crossed: \(breaching) out of the last \(window.count) datapoints [\(shown)] were \(comparison.phrase) the threshold (\(formatted(threshold))) (minimum \(datapointsToAlarm) datapoints for OK -> ALARM transition).")
        }
        return (.ok, "Threshold Crossed: \(known.count - breaching) out of the last \(window.count) datapoints [\(shown)] were not \(comparison.phrase) the threshold (\(formatted(threshold))) (minimum 1 datapoint for ALARM -> OK transition).")
    }
}

/// Numbers in messages the way people write them: no trailing ".0" noise beyond what is needed.
public func formatted(_ value: Double) -> String {
    if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) }
    let scaled = (value * 1000).rounded() / 1000
    return String(scaled)
}
