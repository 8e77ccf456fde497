import Foundation
import StowageModel

/// A service as the reconciler sees it.
public struct ServiceSpec: Sendable {
    public var name: String
    public var desiredCount: Int
    public var daemon: Bool
    public var minimumHealthyPercent: Int
    public var maximumPercent: Int
    public var circuitBreaker: DeploymentCircuitBreaker?
    public var healthCheckGracePeriod: TimeInterval
    /// False once the service is being deleted: everything stops.
    public var active: Bool

    public init(name: String, desiredCount: Int, daemon: Bool = false, minimumHealthyPercent: Int = 100,
                maximumPercent: Int = 200, circuitBreaker: DeploymentCircuitBreaker? = nil,
                healthCheckGracePeriod: TimeInterval = 0, active: Bool = true) {
        self.name = name; self.desiredCount = desiredCount; self.daemon = daemon
        self.minimumHealthyPercent = minimumHealthyPercent; self.maximumPercent = maximumPercent
        self.circuitBreaker = circuitBreaker; self.healthCheckGracePeriod = healthCheckGracePeriod; self.active = active
    }
}

public struct DeploymentSpec: Sendable, Equatable {
    public var id: String
    public var primary: Bool
    public var taskDefinition: String
    public var rolloutState: String
    public var createdAt: Date
    public init(id: String, primary: Bool, taskDefinition: String, rolloutState: String = "IN_PROGRESS",
                createdAt: Date = Date(timeIntervalSince1970: 0)) {
        self.id = id; self.primary = primary; self.taskDefinition = taskDefinition; self.rolloutState = rolloutState
        self.createdAt = createdAt
    }
}

public struct TaskSpec: Sendable, Equatable {
    public var id: String
    public var deploymentId: String
    public var hostId: String?
    /// The host a task must run on (a DAEMON task), bound or still waiting for placement.
    public var requiredHostId: String?
    public var lastStatus: TaskStatus
    public var desiredRunning: Bool
    /// HEALTHY, UNHEALTHY or UNKNOWN.
    public var health: String
    public var startedAt: Date?
    public var stopCode: StopCode?
    public var createdAt: Date
    public var stoppedAt: Date?
    /// The exit code of the container that ended the task, when one did.
    public var exitCode: Int?
    /// Scale-in protection (UpdateTaskProtection): until then, scale-in and deployments leave the task alone.
    public var protectedUntil: Date?
    /// False while a load balancer has not yet found the task healthy: it does not count as healthy for deployments.
    public var ready = true
    /// Why an UNHEALTHY task is replaced, when something other than its container health checks said so.
    public var unhealthyReason: String?

    public init(id: String, deploymentId: String, hostId: String? = nil, requiredHostId: String? = nil, lastStatus: TaskStatus = .running,
                desiredRunning: Bool = true, health: String = "UNKNOWN", startedAt: Date? = nil, stopCode: StopCode? = nil,
                createdAt: Date = Date(timeIntervalSince1970: 0), stoppedAt: Date? = nil, exitCode: Int? = nil, protectedUntil: Date? = nil) {
        self.id = id; self.deploymentId = deploymentId; self.hostId = hostId; self.requiredHostId = requiredHostId
        self.lastStatus = lastStatus
        self.desiredRunning = desiredRunning; self.health = health; self.startedAt = startedAt; self.stopCode = stopCode
        self.createdAt = createdAt; self.stoppedAt = stoppedAt; self.exitCode = exitCode; self.protectedUntil = protectedUntil
    }

    public func isProtected(at now: Date) -> Bool { protectedUntil.map { $0 > now } ?? false }

    /// Counts against the service: wanted running and not yet stopped.
    public var isActive: Bool { desiredRunning && lastStatus != .stopped }
    public var isHealthy: Bool { isActive && lastStatus == .running && health != "UNHEALTHY" && ready }
}

public struct HostSpec: Sendable, Equatable {
    public var id: String
    /// ACTIVE with a connected agent.
    public var active: Bool
    public var draining: Bool
    /// Satisfies the service's constraints (DAEMON services run one task on each eligible host).
    public var eligible: Bool
    public init(id: String, active: Bool = true, draining: Bool = false, eligible: Bool = true) {
        self.id = id; self.active = active; self.draining = draining; self.eligible = eligible
    }
}

public struct TaskStop: Sendable, Equatable {
    public var taskId: String
    public var reason: String
    public var code: StopCode
}

/// What to change so the service converges: the reconciler's answer, applied in one transaction.
public struct ReconcilePlan: Sendable, Equatable {
    /// New tasks to place anywhere, by deployment.
    public var start: [String: Int] = [:]
    /// New tasks for a given host (DAEMON), as (deployment, host).
    public var startOn: [DaemonStart] = []
    public var stop: [TaskStop] = []
    /// Deployment rollout changes: id -> (state, reason).
    public var rollout: [String: RolloutChange] = [:]
    /// Deployments to retire (INACTIVE).
    public var retire: [String] = []
    /// With the circuit breaker's rollback: a new primary deployment of this task definition.
    public var rollbackTo: String?
    /// The desired count a DAEMON service has now (one per eligible host).
    public var daemonDesired: Int?
    /// Reconcile again then: crash-loop backoff, a task's scale-in protection or the stability window ends.
    public var retryAt: Date?
    public var events: [String] = []

    public struct DaemonStart: Sendable, Equatable, Hashable { public var deploymentId: String; public var hostId: String }
    public struct RolloutChange: Sendable, Equatable { public var state: String; public var reason: String }

    public var isEmpty: Bool {
        start.isEmpty && startOn.isEmpty && stop.isEmpty && rollout.isEmpty && retire.isEmpty && rollbackTo == nil
    }
}

/// Desired versus actual for one service -> a plan, under ECS's rules for rolling deployments.
public enum Reconciler {
    /// Failures within this window count toward crash-loop backoff.
    public static let crashWindow: TimeInterval = 300

    /// Crash-loop backoff: after three failed tasks within five minutes, wait 10 s, then 20, 40, ... up to
    /// five minutes after the latest failure before starting replacements. Nil when starts may go ahead.
    public static func backoff(_ tasks: [TaskSpec], now: Date) -> (until: Date, failures: [TaskSpec])? {
        let failures = tasks.filter { task in
            guard task.lastStatus == .stopped, task.stopCode?.isFailure ?? false, let at = task.stoppedAt else { return false }
            return now.timeIntervalSince(at) < crashWindow
        }.sorted { ($0.stoppedAt ?? .distantPast) < ($1.stoppedAt ?? .distantPast) }
        guard failures.count >= 3, let latest = failures.last?.stoppedAt else { return nil }
        let delay = min(300, 10 * pow(2, Double(failures.count - 3)))
        let until = latest.addingTimeInterval(delay)
        return until > now ? (until, failures) : nil
    }

    /// The words a crash loop gets in the service's event log.
    public static func backoffMessage(service: String, failures: [TaskSpec], until: Date, now: Date) -> String {
        let last = failures.last
        let span = max(1, Int((((last?.stoppedAt ?? now).timeIntervalSince(failures.first?.stoppedAt ?? now)) / 60).rounded(.up)))
        let times = failures.count == 3 ? "three times" : "\(failures.count) times"
        let exit = last?.exitCode.map { "exited \($0)" } ?? "failed to start"
        let wait = Int(until.timeIntervalSince(last?.stoppedAt ?? now).rounded())
        return "(service \(service)) task \(last?.id ?? "") \(exit); tasks failed \(times) in \(span) minute\(span == 1 ? "" : "s"); backing off \(wait) s before starting more."
    }

    /// ECS's circuit-breaker threshold: half the desired count, at least 3 and at most 200.
    public static func failureThreshold(desired: Int) -> Int {
        max(3, min(200, Int((Double(desired) / 2).rounded(.up))))
    }

    /// How long a deployment's tasks must all have run (and stayed healthy) before it is COMPLETED. Until then a
    /// task of it that stops counts toward the circuit breaker, and the previous deployment stays to roll back to:
    /// without it, one RUNNING report completed a deployment whose container exits a moment later, and the breaker
    /// never saw the crash loop. Ten seconds is ten of the agent's one-second monitor rounds, so a container that
    /// dies on start (bad configuration, a missing dependency, a port it cannot bind) is reported well inside it even
    /// on a loaded host, while a healthy rollout is held back only that long. ECS waits minutes; a crash after the
    /// window is a crash loop of a COMPLETED deployment (backoff, no rollback).
    public static let stabilityWindow: TimeInterval = 10

    /// A task of the deployment that ended badly: it failed to start, its essential container exited, or the
    /// scheduler replaced it because its health checks failed.
    static func countsAsFailed(_ task: TaskSpec) -> Bool {
        guard task.lastStatus == .stopped, let code = task.stopCode else { return false }
        return code.isFailure || (code == .serviceSchedulerInitiated && task.health == "UNHEALTHY")
    }

    public static func plan(service: ServiceSpec, deployments: [DeploymentSpec], tasks: [TaskSpec], hosts: [HostSpec],
                            now: Date) -> ReconcilePlan {
        var plan = ReconcilePlan()
        let name = "(service \(service.name))"
        guard service.active else {
            for task in tasks where task.isActive {
                plan.stop.append(TaskStop(taskId: task.id, reason: "Service deleted", code: .serviceSchedulerInitiated))
            }
            return plan
        }
        guard let primary = deployments.first(where: \.primary) else { return plan }
        let hostById = Dictionary(hosts.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let eligibleHosts = hosts.filter { $0.active && !$0.draining && $0.eligible }
        let desired = service.daemon ? eligibleHosts.count : service.desiredCount
        if service.daemon { plan.daemonDesired = desired }

        // The circuit breaker: too many tasks of the new deployment failed to start or run.
        // Only an IN_PROGRESS deployment counts: a task that stops once its deployment has COMPLETED is a crash
        // loop (backoff), not a failed rollout.
        if primary.rolloutState == "IN_PROGRESS", service.circuitBreaker?.enable == true {
            let failed = tasks.filter { $0.deploymentId == primary.id && countsAsFailed($0) }.count
            if failed >= failureThreshold(desired: desired) {
                plan.rollout[primary.id] = .init(state: "FAILED", reason: "ECS deployment circuit breaker: tasks failed to start.")
                plan.events.append("\(name) (deployment \(primary.id)) deployment failed: \(failed) tasks failed to start.")
                if service.circuitBreaker?.rollback == true,
                   let previous = deployments.filter({ !$0.primary && $0.rolloutState == "COMPLETED" }).max(by: { $0.createdAt < $1.createdAt }) {
                    plan.rollbackTo = previous.taskDefinition
                    plan.events.append("\(name) (deployment \(primary.id)) rolling back to \(previous.taskDefinition).")
                }
                return plan
            }
        }

        var stopped = Set<String>()
        var stops: [TaskStop] = []
        func stop(_ task: TaskSpec, _ reason: String) {
            guard stopped.insert(task.id).inserted else { return }
            stops.append(TaskStop(taskId: task.id, reason: reason, code: .serviceSchedulerInitiated))
        }
        // Tasks that failed their health checks after the grace period are replaced; they are not healthy,
        // so stopping them never lowers the healthy count.
        for task in tasks where task.isActive && task.lastStatus == .running && task.health == "UNHEALTHY" {
            let since = task.startedAt ?? task.createdAt
            if now.timeIntervalSince(since) >= service.healthCheckGracePeriod {
                stop(task, task.unhealthyReason ?? "Task failed container health checks")
            }
        }
        let active = tasks.filter { $0.isActive && !stopped.contains($0.id) }
        let onDrainingOrGone: (TaskSpec) -> Bool = { task in
            guard let host = task.hostId else { return false }
            guard let spec = hostById[host] else { return true }
            return spec.draining || (service.daemon && !spec.eligible)
        }
        var startable = primary.rolloutState != "FAILED"
        // Only the primary deployment's failures hold its starts back: a rollback, or the fix that follows a bad
        // revision, starts at once.
        if let (until, failures) = backoff(tasks.filter { $0.deploymentId == primary.id }, now: now) {
            startable = false
            plan.retryAt = until
            plan.events.append(backoffMessage(service: service.name, failures: failures, until: until, now: now))
        }

        if service.daemon {
            plan.startOn = planDaemon(primary: primary, active: active, eligible: eligibleHosts, startable: startable,
                                      onDrainingOrGone: onDrainingOrGone, stop: stop)
        } else {
            let maxTotal = desired * service.maximumPercent / 100
            let minHealthy = Int((Double(desired) * Double(service.minimumHealthyPercent) / 100).rounded(.up))
            let keep = active.filter { $0.deploymentId == primary.id && !onDrainingOrGone($0) }
            if startable, keep.count < desired {
                let room = maxTotal - active.count
                let count = min(desired - keep.count, max(0, room))
                if count > 0 { plan.start[primary.id] = count }
            }
            // What must go: tasks of older deployments, primary tasks on draining hosts, and primary tasks beyond desired.
            // A protected healthy task is not among them (scale-in protection): the service runs above its desired
            // count, or the old deployment lingers, until the protection ends, when it is reconciled again.
            let shielded = { (task: TaskSpec) in task.isHealthy && task.isProtected(at: now) }
            var candidates = active.filter { ($0.deploymentId != primary.id || onDrainingOrGone($0)) && !shielded($0) }
            if keep.count > desired {
                let extra = keep.filter { !shielded($0) }.sorted { a, b in
                    if a.isHealthy != b.isHealthy { return !a.isHealthy }
                    return a.createdAt > b.createdAt
                }.prefix(keep.count - desired)
                candidates += extra
            }
            if let ends = active.filter(shielded).compactMap(\.protectedUntil).min() {
                plan.retryAt = min(plan.retryAt ?? ends, ends)
            }
            var budget = active.filter(\.isHealthy).count - minHealthy
            let ordered = candidates.sorted { a, b in
                if a.isHealthy != b.isHealthy { return !a.isHealthy }
                return a.createdAt < b.createdAt
            }
            for task in ordered {
                if !task.isHealthy {
                    stop(task, task.deploymentId == primary.id ? "Scaling activity initiated by (deployment \(primary.id))" : "Replaced by (deployment \(primary.id))")
                } else if budget > 0 {
                    budget -= 1
                    let reason = onDrainingOrGone(task) ? "Container instance is draining" :
                        task.deploymentId == primary.id ? "Scaling activity initiated by (deployment \(primary.id))" : "Replaced by (deployment \(primary.id))"
                    stop(task, reason)
                }
            }
        }

        plan.stop = stops
        // Steady state: the primary runs exactly what is desired, all healthy, nothing else runs, and has done so for
        // the stability window (reconciled again when it ends: no other event need come).
        if primary.rolloutState == "IN_PROGRESS", plan.start.isEmpty, plan.startOn.isEmpty, plan.stop.isEmpty {
            let mine = active.filter { $0.deploymentId == primary.id }
            let others = active.filter { $0.deploymentId != primary.id }
            let stableAt = mine.map { ($0.startedAt ?? $0.createdAt).addingTimeInterval(stabilityWindow) }.max() ?? now
            if others.isEmpty, mine.count == desired, mine.allSatisfy(\.isHealthy) {
                if stableAt > now {
                    plan.retryAt = min(plan.retryAt ?? stableAt, stableAt)
                } else {
                    plan.rollout[primary.id] = .init(state: "COMPLETED", reason: "ECS deployment \(primary.id) completed.")
                    plan.retire = deployments.filter { !$0.primary }.map(\.id)
                    plan.events.append("\(name) (deployment \(primary.id)) deployment completed.")
                    plan.events.append("\(name) has reached a steady state.")
                }
            }
        }
        return plan
    }

    /// One task per eligible host; returns the hosts that need one started.
    static func planDaemon(primary: DeploymentSpec, active: [TaskSpec], eligible: [HostSpec], startable: Bool,
                           onDrainingOrGone: (TaskSpec) -> Bool, stop: (TaskSpec, String) -> Void) -> [ReconcilePlan.DaemonStart] {
        var starts: [ReconcilePlan.DaemonStart] = []
        let eligibleIds = Set(eligible.map(\.id))
        // A task waiting for placement belongs to the host it was created for.
        func host(_ task: TaskSpec) -> String { task.hostId ?? task.requiredHostId ?? "" }
        for task in active where !eligibleIds.contains(host(task)) || onDrainingOrGone(task) {
            stop(task, "Container instance is no longer eligible for this daemon service")
        }
        let byHost = Dictionary(grouping: active.filter { eligibleIds.contains(host($0)) }, by: host)
        for host in eligible {
            let here = byHost[host.id] ?? []
            let mine = here.filter { $0.deploymentId == primary.id }.sorted { $0.createdAt < $1.createdAt }
            let old = here.filter { $0.deploymentId != primary.id }
            if mine.isEmpty {
                // One task per host: the old one goes first, the new one starts once it has stopped.
                if !old.isEmpty {
                    for task in old { stop(task, "Replaced by (deployment \(primary.id))") }
                } else if startable {
                    starts.append(.init(deploymentId: primary.id, hostId: host.id))
                }
            } else {
                for task in mine.dropFirst() { stop(task, "Only one daemon task runs per instance") }
                for task in old { stop(task, "Replaced by (deployment \(primary.id))") }
            }
        }
        return starts
    }
}
