import Foundation
import StowageModel

/// A piece of the agent's work, run in the agent's task group (shutdown cancels and waits for it).
enum AgentWork: Sendable, Equatable {
    case start(String)
    case stop(String)
    /// The server no longer knows the task: stop and remove it without a report.
    case discard(String)
    /// Remove containers of tasks neither the server nor this agent knows.
    case removeOrphans(Set<String>)
    case report
}

/// What the agent decides, as pure functions of the desired set, what it tracks and the time, so the
/// decisions are tested without an engine or a server, like the server's reconciler.
enum AgentDecisions {
    /// What the agent knows of a task it tracks.
    struct Tracked: Sendable, Equatable {
        var status: TaskStatus
        var stopRequested: Bool
        var busy: Bool
    }

    struct Convergence: Sendable, Equatable {
        /// New assignments to track and start.
        var start: [String] = []
        var stop: [String] = []
        var discard: [String] = []
        /// Asked to stop tasks this host does not run: they are reported STOPPED at once.
        var reportStopped: [String] = []
    }

    /// Level-triggered: the whole desired set against what runs here.
    static func converge(desired: [AgentProtocol.AssignedTask], tracked: [String: Tracked]) -> Convergence {
        var out = Convergence()
        var wanted = Set<String>()
        for assignment in desired {
            let arn = assignment.taskArn
            guard wanted.insert(arn).inserted else { continue }
            if assignment.desiredStatus == "RUNNING" {
                if tracked[arn] == nil { out.start.append(arn) }
            } else if let task = tracked[arn] {
                if task.status != .stopped, !task.stopRequested { out.stop.append(arn) }
            } else {
                out.reportStopped.append(arn)
            }
        }
        out.discard = tracked.filter { !wanted.contains($0.key) && !$0.value.busy }.map(\.key).sorted()
        return out
    }

    /// Containers in start order (dependsOn and volumesFrom): a container comes after those it needs.
    static func startOrder(_ containers: [LocalContainer]) -> [Int] {
        ContainerStartOrder.order(containers.map(\.definition))
    }

    enum Dependency: Sendable, Equatable {
        case met
        case waiting
        case failed(String)
    }

    /// Whether a dependsOn condition holds for the container it names (ECS's START, COMPLETE, SUCCESS, HEALTHY).
    static func dependency(_ condition: String, on other: LocalContainer) -> Dependency {
        switch condition {
        case "HEALTHY":
            if other.health == "HEALTHY" { return .met }
            return other.status == "STOPPED" ? .failed("dependency \(other.name) stopped before it was HEALTHY") : .waiting
        case "COMPLETE":
            return other.status == "STOPPED" ? .met : .waiting
        case "SUCCESS":
            guard other.status == "STOPPED" else { return .waiting }
            return other.exitCode == 0 ? .met : .failed("dependency \(other.name) exited \(other.exitCode ?? -1)")
        default:
            return other.status == "RUNNING" || other.status == "STOPPED" ? .met : .waiting
        }
    }

    /// Whether an exited container is restarted in place (ECS's restartPolicy): enabled, the exit code not
    /// ignored, and the container ran for restartAttemptPeriod (default 300 s) since it started or last
    /// restarted. One that exits sooner is not restarted, so a crash loop still ends the task, and the
    /// service's replacement backoff and events apply.
    static func shouldRestart(_ container: LocalContainer, exitCode: Int?, now: Date) -> Bool {
        guard let policy = container.definition.restartPolicy, policy.enabled == true, let exitCode else { return false }
        guard !(policy.ignoredExitCodes ?? []).contains(exitCode) else { return false }
        guard let since = container.lastRestartAt ?? container.startedAt else { return false }
        return now.timeIntervalSince(since) >= TimeInterval(policy.restartAttemptPeriod ?? 300)
    }

    enum PullPlan: Sendable, Equatable {
        case useCached
        /// Pull; on failure use the cached copy when `fallBack` and there is one.
        case pull(fallBack: Bool)
    }

    /// ECS's pull behaviours: default pulls and falls back to the cache, always pulls, once pulls unless this
    /// instance pulled it before and still has it, prefer-cached pulls only what is not cached.
    static func pullPlan(_ behavior: ImagePullBehavior, cached: Bool, pulledBefore: Bool) -> PullPlan {
        switch behavior {
        case .default: .pull(fallBack: true)
        case .always: .pull(fallBack: false)
        case .once: cached && pulledBefore ? .useCached : .pull(fallBack: false)
        case .preferCached: cached ? .useCached : .pull(fallBack: false)
        }
    }

    /// Unused images to remove: those unused for `minimumAge`, least recently used first, at most `perRun`,
    /// and then more while less than `bytesToFree` would be freed.
    static func imagesToRemove(_ candidates: [ImageInfo], lastUsed: [String: Date], now: Date, minimumAge: TimeInterval,
                               perRun: Int, bytesToFree: Int64) -> [ImageInfo] {
        func used(_ image: ImageInfo) -> Date { lastUsed[image.id] ?? image.created ?? now }
        let eligible = candidates.filter { now.timeIntervalSince(used($0)) >= minimumAge }.sorted { used($0) < used($1) }
        var chosen = Array(eligible.prefix(perRun))
        var freed = chosen.reduce(Int64(0)) { $0 + $1.size }
        for image in eligible.dropFirst(perRun) where freed < bytesToFree {
            chosen.append(image)
            freed += image.size
        }
        return chosen
    }

    /// Whether a container's health check is due.
    static func checkDue(_ container: LocalContainer, now: Date) -> Bool {
        guard container.status == "RUNNING", container.healthCommand != nil, let check = container.definition.healthCheck else { return false }
        guard let last = container.lastCheck else { return true }
        return now.timeIntervalSince(last) >= TimeInterval(check.interval ?? 30)
    }

    /// A container after one health check: healthy at once, unhealthy after `retries` failures outside the start period.
    static func afterCheck(_ container: LocalContainer, passed: Bool, now: Date) -> LocalContainer {
        var out = container
        out.lastCheck = now
        guard let check = container.definition.healthCheck else { return out }
        if passed {
            out.failures = 0
            out.health = "HEALTHY"
        } else if now.timeIntervalSince(container.startedAt ?? now) >= TimeInterval(check.startPeriod ?? 0) {
            out.failures += 1
            if out.failures >= (check.retries ?? 3) { out.health = "UNHEALTHY" }
        }
        return out
    }

    /// The task's health from its containers': unhealthy when an essential checked one is, healthy when all checked are.
    static func taskHealth(_ containers: [LocalContainer]) -> String {
        let checked = containers.filter { $0.healthCommand != nil }
        if checked.contains(where: { $0.essential && $0.health == "UNHEALTHY" }) { return "UNHEALTHY" }
        if !checked.isEmpty && checked.allSatisfy({ $0.health == "HEALTHY" }) { return "HEALTHY" }
        return "UNKNOWN"
    }
}
