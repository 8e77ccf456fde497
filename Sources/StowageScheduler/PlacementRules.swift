import StowageModel

/// A placement strategy step, validated: applied in order, each breaking the previous one's ties.
public enum StrategyRule: Sendable, Equatable {
    case binpackCPU
    case binpackMemory
    case spreadInstance
    case spreadAttribute(String)
    case random

    /// ECS's strategy objects -> rules; at most five, with ECS's field names.
    public static func parse(_ strategies: [PlacementStrategy]?) throws(APIError) -> [StrategyRule] {
        let list = strategies ?? []
        guard list.count <= 5 else { throw .invalidParameter("At most 5 placement strategies are allowed.") }
        var rules: [StrategyRule] = []
        for strategy in list {
            let field = strategy.field?.trimmingCharacters(in: .whitespaces)
            switch strategy.type?.lowercased() {
            case "binpack":
                switch field?.lowercased() {
                case "cpu": rules.append(.binpackCPU)
                case "memory": rules.append(.binpackMemory)
                default: throw .invalidParameter("binpack placement strategy field must be cpu or memory.")
                }
            case "spread":
                guard let field, !field.isEmpty else { throw .invalidParameter("spread placement strategy needs a field.") }
                if field.lowercased() == "instanceid" || field.lowercased() == "host" {
                    rules.append(.spreadInstance)
                } else if field.lowercased().hasPrefix("attribute:"), field.count > "attribute:".count {
                    rules.append(.spreadAttribute(String(field.dropFirst("attribute:".count))))
                } else {
                    throw .invalidParameter("spread placement strategy field must be instanceId, host or attribute:<name>, got '\(field)'.")
                }
            case "random":
                guard field == nil || field == "" else { throw .invalidParameter("random placement strategy takes no field.") }
                rules.append(.random)
            default:
                throw .invalidParameter("Placement strategy type must be binpack, spread or random, got '\(strategy.type ?? "")'.")
            }
        }
        return rules
    }
}

/// Placement constraints, validated and parsed.
public struct ConstraintRules: Sendable, Equatable {
    public var memberOf: [String: ClusterQuery]
    public var distinctInstance: Bool

    public init(memberOf: [String: ClusterQuery] = [:], distinctInstance: Bool = false) {
        self.memberOf = memberOf; self.distinctInstance = distinctInstance
    }

    public static func parse(_ constraints: [PlacementConstraint]?) throws(APIError) -> ConstraintRules {
        let list = constraints ?? []
        guard list.count <= 10 else { throw .invalidParameter("At most 10 placement constraints are allowed.") }
        var rules = ConstraintRules()
        for constraint in list {
            switch constraint.type {
            case "distinctInstance":
                guard constraint.expression == nil || constraint.expression == "" else {
                    throw .invalidParameter("distinctInstance placement constraints take no expression.")
                }
                rules.distinctInstance = true
            case "memberOf":
                guard let expression = constraint.expression, !expression.isEmpty else {
                    throw .invalidParameter("memberOf placement constraints need an expression.")
                }
                rules.memberOf[expression] = try ClusterQuery.parse(expression)
            default:
                throw .invalidParameter("Placement constraint type must be memberOf or distinctInstance, got '\(constraint.type ?? "")'.")
            }
        }
        return rules
    }

    public func merged(with other: ConstraintRules) -> ConstraintRules {
        ConstraintRules(memberOf: memberOf.merging(other.memberOf) { a, _ in a },
                        distinctInstance: distinctInstance || other.distinctInstance)
    }
}
