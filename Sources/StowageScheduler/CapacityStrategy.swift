import StowageModel

/// An instance attribute a task requires (its launch type or capacity provider, runtimePlatform, awsvpc): a host
/// without it is not a candidate, and a task no host qualifies for is told which requirement none met.
public struct AttributeRequirement: Sendable, Equatable, Hashable {
    public var name: String
    /// The values that qualify; empty: any value, as long as the attribute is there.
    public var values: [String]
    /// A host without the attribute qualifies too (an instance that declares no subnet takes tasks naming any).
    public var absentAllowed: Bool

    public init(name: String, values: [String] = [], absentAllowed: Bool = false) {
        self.name = name; self.values = values; self.absentAllowed = absentAllowed
    }

    public func met(by attributes: [String: String]) -> Bool {
        guard let value = attributes[name] else { return absentAllowed }
        return values.isEmpty || values.contains(value)
    }

    /// How a placement failure names it: `stowage.capacity-provider=FARGATE`, `stowage.task-subnet`.
    public var text: String {
        values.isEmpty ? name : "\(name)=\(values.joined(separator: "|"))" + (absentAllowed ? " (or none)" : "")
    }
}

/// What a task's launch asks of its instance, beyond what its definition does.
public enum LaunchPlacement {
    /// The capacity provider the task is placed on (FARGATE for launchType FARGATE), and its subnets.
    public static func requirements(_ launch: TaskLaunch?, provider: String?) -> [AttributeRequirement] {
        var out: [AttributeRequirement] = []
        if let provider = provider ?? (launch?.launchType == "FARGATE" ? "FARGATE" : nil) {
            out.append(AttributeRequirement(name: AgentProtocol.capacityProviderAttribute, values: [provider]))
        }
        if let subnets = launch?.subnets, !subnets.isEmpty {
            out.append(AttributeRequirement(name: AgentProtocol.subnetAttribute, values: subnets, absentAllowed: true))
        }
        return out
    }

    /// ECS spreads a task naming subnets over them (as over availability zones) before any other strategy.
    public static func strategy(_ launch: TaskLaunch?, _ rules: [StrategyRule]) -> [StrategyRule] {
        guard let subnets = launch?.subnets, !subnets.isEmpty else { return rules }
        return [.spreadAttribute(AgentProtocol.subnetAttribute)] + rules
    }

    /// The launch type a task placed on a provider shows: FARGATE on the built-in providers, EC2 on the account's own.
    public static func launchType(provider: String) -> String {
        LaunchRules.fargateProviders.contains(provider) ? "FARGATE" : "EC2"
    }
}

/// A capacity provider strategy's split, as ECS documents it: the provider with a base gets the first `base` tasks;
/// the rest are divided in proportion to the weights, each new task going to the provider furthest below its share.
public enum CapacityStrategy {
    /// The providers in the order a new task should try them, given how many tasks (of the service, or of the run)
    /// each already has: the first is the one the split wants; the others are where it goes when that provider has
    /// no instance able to take it (weighted ones by how far below their share they are, then weight 0 ones).
    public static func order(_ strategy: [CapacityProviderStrategyItem], counts: [String: Int]) -> [String] {
        let names = strategy.map(\.capacityProvider)
        if let based = strategy.first(where: { ($0.base ?? 0) > 0 }), counts[based.capacityProvider, default: 0] < (based.base ?? 0) {
            return [based.capacityProvider] + names.filter { $0 != based.capacityProvider }
        }
        // Tasks beyond the base, per provider: what the weights divide.
        var beyond: [String: Int] = [:]
        for item in strategy {
            beyond[item.capacityProvider] = max(0, counts[item.capacityProvider, default: 0] - (item.base ?? 0))
        }
        let totalWeight = strategy.reduce(0) { $0 + ($1.weight ?? 0) }
        guard totalWeight > 0 else { return names }
        let next = beyond.values.reduce(0, +) + 1
        // Deficit after this task, scaled by the total weight to stay in integers: share - held.
        func deficit(_ item: CapacityProviderStrategyItem) -> Int {
            next * (item.weight ?? 0) - beyond[item.capacityProvider, default: 0] * totalWeight
        }
        let weighted = strategy.enumerated().filter { ($0.element.weight ?? 0) > 0 }
            .sorted { a, b in
                let (da, db) = (deficit(a.element), deficit(b.element))
                return da != db ? da > db : a.offset < b.offset
            }
            .map(\.element.capacityProvider)
        return weighted + names.filter { !weighted.contains($0) }
    }
}
