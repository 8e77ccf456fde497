import Foundation
import StowageModel

/// One of a service's `loadBalancers` entries, resolved: which target group, of which type, fronts which
/// container port, and how long its targets drain.
public struct LoadBalancerBinding: Sendable, Equatable {
    public var targetGroupId: String
    public var targetGroupArn: String
    /// "instance" (the host, by its EC2-style id) or "ip" (the host's address).
    public var targetType: String
    public var containerName: String
    public var containerPort: Int
    public var deregistrationDelay: TimeInterval

    public init(targetGroupId: String, targetGroupArn: String, targetType: String, containerName: String, containerPort: Int,
                deregistrationDelay: TimeInterval) {
        self.targetGroupId = targetGroupId; self.targetGroupArn = targetGroupArn; self.targetType = targetType
        self.containerName = containerName; self.containerPort = containerPort; self.deregistrationDelay = deregistrationDelay
    }
}

/// A service task as the target sync sees it: where it runs and which host ports its containers got.
public struct TaskEndpoint: Sendable, Equatable {
    public struct Binding: Sendable, Equatable {
        public var containerName: String
        public var containerPort: Int
        public var hostPort: Int
        public init(containerName: String, containerPort: Int, hostPort: Int) {
            self.containerName = containerName; self.containerPort = containerPort; self.hostPort = hostPort
        }
    }
    public var taskId: String
    /// RUNNING, wanted running, and not being stopped: the only tasks that should receive traffic.
    public var serving: Bool
    public var ec2InstanceId: String?
    public var hostAddress: String?
    public var bindings: [Binding]
    /// An awsvpc task's own address: its container ports are reached there, with no host port.
    public var taskAddress: String?

    public init(taskId: String, serving: Bool, ec2InstanceId: String?, hostAddress: String?, bindings: [Binding], taskAddress: String? = nil) {
        self.taskId = taskId; self.serving = serving; self.ec2InstanceId = ec2InstanceId; self.hostAddress = hostAddress
        self.bindings = bindings; self.taskAddress = taskAddress
    }
}

/// A target as registered, with the health the load balancer last saw.
public struct RegisteredTarget: Sendable, Equatable {
    public var targetGroupId: String
    public var targetId: String
    public var port: Int
    public var taskId: String?
    public var state: ELB.TargetState
    /// Why, when the load balancer says (an `unused` target the target policy refused: `Target.IpUnusable`).
    public var reason: String?
    public var description: String?
    public init(targetGroupId: String, targetId: String, port: Int, taskId: String?, state: ELB.TargetState, reason: String? = nil,
                description: String? = nil) {
        self.targetGroupId = targetGroupId; self.targetId = targetId; self.port = port; self.taskId = taskId; self.state = state
        self.reason = reason; self.description = description
    }
}

/// What to change in the target groups so that exactly a service's serving tasks are registered.
public struct TargetSyncPlan: Sendable, Equatable {
    public struct Registration: Sendable, Equatable {
        public var targetGroupId: String
        public var targetId: String
        public var port: Int
        public var address: String
        public var taskId: String
    }
    /// A target to drain, and when its draining ends.
    public struct Deregistration: Sendable, Equatable {
        public var targetGroupId: String
        public var targetId: String
        public var port: Int
        public var until: Date
    }
    public var register: [Registration] = []
    public var deregister: [Deregistration] = []
}

/// ECS's load balancer integration as pure decisions: a task is registered in each of its service's target
/// groups once it is RUNNING, drained before it stops, and counts as healthy for deployments only when every
/// one of its targets is; a target the load balancer finds unhealthy after the grace period makes it UNHEALTHY.
public enum TargetSync {
    /// Registrations for serving tasks not yet registered; deregistrations for registered targets of tasks that
    /// no longer serve (never for targets registered by hand, which have no task).
    public static func plan(bindings: [LoadBalancerBinding], tasks: [TaskEndpoint], registered: [RegisteredTarget], now: Date) -> TargetSyncPlan {
        var plan = TargetSyncPlan()
        var present: Set<String> = []
        for t in registered where t.state != .draining { present.insert("\(t.targetGroupId)/\(t.targetId)/\(t.port)") }
        let serving = Set(tasks.filter(\.serving).map(\.taskId))
        for task in tasks where task.serving {
            for b in bindings {
                guard let target = target(b, task) else { continue }
                if present.insert("\(b.targetGroupId)/\(target.id)/\(target.port)").inserted {
                    plan.register.append(.init(targetGroupId: b.targetGroupId, targetId: target.id, port: target.port, address: target.address,
                                               taskId: task.taskId))
                }
            }
        }
        let delays = Dictionary(bindings.map { ($0.targetGroupId, $0.deregistrationDelay) }, uniquingKeysWith: { a, _ in a })
        for t in registered where t.state != .draining {
            guard let arn = t.taskId, !serving.contains(arn) else { continue }
            plan.deregister.append(.init(targetGroupId: t.targetGroupId, targetId: t.targetId, port: t.port,
                                         until: now.addingTimeInterval(delays[t.targetGroupId] ?? 0)))
        }
        return plan
    }

    /// The target of one task in one group: the host (instance id or address) and the host port of the container port;
    /// for an awsvpc task, its own address and the container port itself, in `ip` groups only (ECS refuses `instance`
    /// groups for awsvpc services).
    public static func target(_ b: LoadBalancerBinding, _ task: TaskEndpoint) -> (id: String, port: Int, address: String)? {
        if let address = task.taskAddress {
            guard b.targetType == "ip", AgentProtocol.isHostAddress(address) else { return nil }
            return (address, b.containerPort, address)
        }
        guard let binding = task.bindings.first(where: { $0.containerName == b.containerName && $0.containerPort == b.containerPort }),
              let address = task.hostAddress, AgentProtocol.isHostAddress(address) else { return nil }
        let id = b.targetType == "ip" ? address : (task.ec2InstanceId ?? address)
        return (id, binding.hostPort, address)
    }

    /// How long a stopping task keeps running so its connections drain: the longest delay of its groups
    /// (0 when it has no registered target).
    public static func drainDelay(taskId: String, bindings: [LoadBalancerBinding], registered: [RegisteredTarget]) -> TimeInterval {
        let groups = Set(registered.filter { $0.taskId == taskId && $0.state != .draining }.map(\.targetGroupId))
        return bindings.filter { groups.contains($0.targetGroupId) }.map(\.deregistrationDelay).max() ?? 0
    }

    /// Service events for targets the load balancer will not send traffic to (the target policy refused their address
    /// or port): otherwise a deployment waits on them with no word of why.
    public static func refusals(service: String, bindings: [LoadBalancerBinding], registered: [RegisteredTarget]) -> [String] {
        let arns = Dictionary(bindings.map { ($0.targetGroupId, $0.targetGroupArn) }, uniquingKeysWith: { a, _ in a })
        return registered.filter { $0.state == .unused && $0.reason == "Target.IpUnusable" }.compactMap { t in
            guard let task = t.taskId, let arn = arns[t.targetGroupId] else { return nil }
            return "(service \(service)) cannot route to (task \(task)): its target \(t.targetId):\(t.port) in (target-group \(arn)) is refused: \(t.description ?? "Target.IpUnusable")."
        }.sorted()
    }

    /// A task's standing with its load balancers: ready once every group has it healthy; unhealthy (with
    /// ECS's reason) when a group finds it unhealthy after the grace period.
    public static func standing(taskId: String, bindings: [LoadBalancerBinding], registered: [RegisteredTarget], startedAt: Date?,
                                grace: TimeInterval, now: Date) -> (ready: Bool, unhealthy: String?) {
        let mine = registered.filter { $0.taskId == taskId && $0.state != .draining }
        let ready = !bindings.isEmpty && bindings.allSatisfy { b in mine.contains { $0.targetGroupId == b.targetGroupId && $0.state == .healthy } }
        guard let started = startedAt, now.timeIntervalSince(started) >= grace,
              let failing = bindings.first(where: { b in mine.contains { $0.targetGroupId == b.targetGroupId && $0.state == .unhealthy } })
        else { return (ready || bindings.isEmpty, nil) }
        return (false, "Task failed ELB health checks in (target-group \(failing.targetGroupArn))")
    }
}
