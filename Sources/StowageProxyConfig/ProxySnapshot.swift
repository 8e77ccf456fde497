import Foundation
import StowageModel

/// What `stowage lb` serves, read from PostgreSQL in one go: every load balancer's listeners with their rules,
/// and every target group in use with its targets. Pure values, so the HAProxy configuration and the runtime
/// changes are decided (and tested) without HAProxy or a database.
public struct ProxySnapshot: Sendable, Equatable {
    public struct Rule: Sendable, Equatable {
        public var id: String
        public var priority: Int
        public var conditions: [ELB.Condition]
        public var actions: [ELB.Action]
        public init(id: String, priority: Int, conditions: [ELB.Condition], actions: [ELB.Action]) {
            self.id = id; self.priority = priority; self.conditions = conditions; self.actions = actions
        }
    }

    public struct Listener: Sendable, Equatable {
        public var id: String
        public var loadBalancerId: String
        public var address: String
        public var port: Int
        public var rules: [Rule]
        public var defaultActions: [ELB.Action]
        public init(id: String, loadBalancerId: String, address: String, port: Int, rules: [Rule], defaultActions: [ELB.Action]) {
            self.id = id; self.loadBalancerId = loadBalancerId; self.address = address; self.port = port; self.rules = rules
            self.defaultActions = defaultActions
        }
    }

    public struct Target: Sendable, Equatable, Hashable {
        public var id: String
        public var port: Int
        public var address: String
        public var draining: Bool
        /// Registered for a task (by its service, or by hand for one of the account's own awsvpc tasks): its address
        /// may be in the task range.
        public var task: Bool
        public init(id: String, port: Int, address: String, draining: Bool, task: Bool = false) {
            self.id = id; self.port = port; self.address = address; self.draining = draining; self.task = task
        }

        /// The HAProxy server name: stable for a target and port, of the characters HAProxy allows, and unique by
        /// construction (the id escaped reversibly, the port after a `.` the escaped id never holds).
        public var serverName: String { "t_" + HAProxyText.escapedName(id) + ".\(port)" }
    }

    public struct Group: Sendable, Equatable {
        public var id: String
        public var port: Int
        public var health: ELB.HealthCheck
        public var attributes: ELB.TargetGroupAttributes
        public var targets: [Target]
        public init(id: String, port: Int, health: ELB.HealthCheck, attributes: ELB.TargetGroupAttributes, targets: [Target]) {
            self.id = id; self.port = port; self.health = health; self.attributes = attributes; self.targets = targets
        }

        /// The ports a target of this group is sent traffic and checks on.
        public func ports(of t: Target) -> [Int] { health.ports(traffic: t.port) }

        public var backendName: String { "tg_\(id)" }
    }

    public var listeners: [Listener]
    public var groups: [Group]

    public init(listeners: [Listener], groups: [Group]) {
        self.listeners = listeners
        self.groups = groups
    }
}
