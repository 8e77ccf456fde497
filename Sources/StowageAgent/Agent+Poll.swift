import Foundation
import StowageModel

/// The poll loop: the long poll is the agent's heartbeat and brings the whole desired task set.
extension Agent {
    func pollLoop() async {
        var backoff = 1.0
        while !Task.isCancelled {
            do {
                let query = "after=\(version ?? "")&wait=\(config.pollWait)"
                let desired: AgentProtocol.DesiredTasks = try await server.get(
                    "/agent/v1/clusters/\(config.cluster)/container-instances/\(instanceId)/tasks", query: query,
                    timeout: .seconds(Int64(config.pollWait) + 15))
                version = desired.version
                converge(desired.tasks)
                backoff = 1
            } catch {
                if Task.isCancelled { return }
                // Unknown instance, or a credential the server no longer takes (the instance was deregistered):
                // register again, as a new instance if need be.
                if let apiError = error as? APIError, apiError.awsStatus == 404 || apiError.code == "UnrecognizedClientException" {
                    logger.warning("container instance or its credential unknown to the server; registering again")
                    try? await register()
                    version = nil
                } else {
                    logger.warning("poll failed; containers keep running", metadata: ["error": "\(error)", "retry_in": "\(backoff)"])
                }
                try? await Task.sleep(for: .seconds(Self.jittered(backoff)))
                backoff = min(config.maxBackoff, backoff * 2)
            }
        }
    }

    /// Level-triggered: the whole desired set in, the runtime brought to it. Never waits on the engine: the
    /// poll is the heartbeat, so every start, stop and sweep is handed to the work group.
    func converge(_ desired: [AgentProtocol.AssignedTask]) {
        let tracked = tasks.mapValues { AgentDecisions.Tracked(status: $0.status, stopRequested: $0.stopRequested, busy: $0.busy) }
        let decision = AgentDecisions.converge(desired: desired, tracked: tracked)
        let byArn = Dictionary(desired.map { ($0.taskArn, $0) }, uniquingKeysWith: { a, _ in a })
        for arn in decision.start {
            guard let assignment = byArn[arn] else { continue }
            track(assignment)
            workSink.yield(.start(arn))
        }
        for arn in decision.stop {
            tasks[arn]?.stopRequested = true
            workSink.yield(.stop(arn))
        }
        for arn in decision.discard {
            tasks[arn]?.busy = true
            workSink.yield(.discard(arn))
        }
        if !cleaningOrphans {
            cleaningOrphans = true
            workSink.yield(.removeOrphans(Set(byArn.keys)))
        }
        if !decision.reportStopped.isEmpty {
            for arn in decision.reportStopped { directStates[arn] = AgentProtocol.TaskState(taskArn: arn, lastStatus: "STOPPED") }
            workSink.yield(.report)
        }
    }

    /// Starts tracking an assignment.
    func track(_ assignment: AgentProtocol.AssignedTask) {
        tasks[assignment.taskArn] = LocalTask(assignment: assignment, containers: Self.containers(assignment))
    }

    /// Removes containers of tasks the server does not know, all at once: after a long host loss there may be
    /// many, and each stop can take its whole timeout.
    func removeOrphans(wanted: Set<String>) async {
        guard let listed = try? await runtime.list(label: instanceFilter) else { return }
        let orphans = listed.filter { container in
            let task = container.labels[AgentProtocol.taskLabel] ?? ""
            return tasks[task] == nil && !wanted.contains(task)
        }
        guard !orphans.isEmpty else { return }
        for container in orphans {
            logger.info("removing container of a task the server does not know", metadata: ["container": "\(container.name)"])
            adoptable[container.labels[AgentProtocol.taskLabel] ?? ""] = nil
        }
        let runtime = self.runtime
        await withTaskGroup(of: Void.self) { group in
            for container in orphans {
                group.addTask {
                    try? await runtime.stop(container.id, timeout: 5)
                    try? await runtime.remove(container.id)
                }
            }
        }
        for task in Set(orphans.compactMap({ $0.labels[AgentProtocol.taskLabel] })) {
            try? await runtime.removeVolumes(label: "\(AgentProtocol.taskLabel)=\(task)")
            if let taskId = task.split(separator: "/").last, !taskId.isEmpty { removeConfigFiles(taskId: String(taskId)) }
        }
    }

    static func containers(_ assignment: AgentProtocol.AssignedTask) -> [LocalContainer] {
        let bindings = Dictionary(assignment.containers.map { ($0.name ?? "", $0.networkBindings ?? []) }, uniquingKeysWith: { a, _ in a })
        return (assignment.taskDefinition.containerDefinitions ?? []).map { definition in
            LocalContainer(definition: definition, bindings: bindings[definition.name ?? ""] ?? [])
        }
    }
}
