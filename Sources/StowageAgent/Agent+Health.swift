import Foundation
import StowageModel

/// Watching: exited containers end their task when essential; health checks make the task's health.
extension Agent {
    func monitorLoop() async {
        while !Task.isCancelled {
            // One listing per tick tells which containers still run; only the others are inspected.
            let running = (try? await runtime.list(label: instanceFilter)).map { Set($0.filter(\.running).map(\.id)) }
            for arn in Array(tasks.keys) where tasks[arn]?.status == .running && tasks[arn]?.busy == false {
                await inspect(arn, running: running)
                await checkHealth(arn)
            }
            await reportChanges()
            try? await Task.sleep(for: config.monitorInterval)
        }
    }

    /// Notices exited containers; an essential one stops the whole task.
    func inspect(_ arn: String, running: Set<String>?) async {
        guard let task = tasks[arn] else { return }
        var essentialExited = false
        for (index, container) in task.containers.enumerated() where container.status == "RUNNING" {
            if let running, let id = container.id, running.contains(id) { continue }
            guard await observeExit(arn, container: index) else { continue }
            if await restartInPlace(arn, container: index) { continue }
            if container.essential { essentialExited = true }
        }
        if essentialExited {
            await stopTask(arn, reason: "Essential container in task exited", code: StopCode.essentialContainerExited.rawValue)
        }
    }

    /// Asks the runtime whether a started container still runs; one that exited (or vanished) is marked
    /// STOPPED with its exit code. True when it stopped.
    func observeExit(_ arn: String, container index: Int) async -> Bool {
        guard let container = tasks[arn]?.containers[index], container.status == "RUNNING", let id = container.id else { return false }
        guard let status = try? await runtime.inspect(id) else {
            tasks[arn]?.containers[index].status = "STOPPED"
            tasks[arn]?.containers[index].reason = "container disappeared"
            return true
        }
        guard !status.running else { return false }
        tasks[arn]?.containers[index].status = "STOPPED"
        tasks[arn]?.containers[index].exitCode = status.exitCode
        return true
    }

    /// Restarts an exited container in place when its restart policy says so (same container, same task);
    /// true when it runs again.
    func restartInPlace(_ arn: String, container index: Int) async -> Bool {
        guard let container = tasks[arn]?.containers[index], let id = container.id,
              AgentDecisions.shouldRestart(container, exitCode: container.exitCode, now: now) else { return false }
        do {
            try await runtime.start(id)
        } catch {
            logger.warning("restart failed", metadata: ["task": "\(arn)", "container": "\(container.name)", "error": "\(error)"])
            return false
        }
        logger.info("container restarted in place", metadata: [
            "task": "\(arn)", "container": "\(container.name)", "exitCode": "\(container.exitCode ?? -1)", "restarts": "\(container.restartCount + 1)"])
        tasks[arn]?.containers[index].status = "RUNNING"
        tasks[arn]?.containers[index].restartCount += 1
        tasks[arn]?.containers[index].lastRestartAt = now
        // botocore keeps only modelled members, so the count is also in the reason, which boto3 and the CLI show.
        tasks[arn]?.containers[index].reason =
            "restarted in place \(container.restartCount + 1) time\(container.restartCount == 0 ? "" : "s"), last after exit code \(container.exitCode ?? -1)"
        tasks[arn]?.containers[index].exitCode = nil
        tasks[arn]?.containers[index].health = "UNKNOWN"
        tasks[arn]?.containers[index].failures = 0
        return true
    }

    /// Runs due health checks through the runtime and derives the task's health from its containers'.
    func checkHealth(_ arn: String) async {
        guard let task = tasks[arn] else { return }
        for (index, container) in task.containers.enumerated() where AgentDecisions.checkDue(container, now: now) {
            guard let id = container.id, let command = container.healthCommand, let check = container.definition.healthCheck else { continue }
            tasks[arn]?.containers[index].lastCheck = now
            let passed = ((try? await runtime.healthCheck(id, command: command, timeout: .seconds(check.timeout ?? 5))) ?? -1) == 0
            guard let current = tasks[arn]?.containers[index] else { return }
            tasks[arn]?.containers[index] = AgentDecisions.afterCheck(current, passed: passed, now: now)
        }
        guard let updated = tasks[arn] else { return }
        tasks[arn]?.health = AgentDecisions.taskHealth(updated.containers)
    }
}
