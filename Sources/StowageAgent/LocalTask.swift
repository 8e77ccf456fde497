import Foundation
import StowageModel

/// One container of a task on this host.
struct LocalContainer {
    var definition: ContainerDefinition
    var id: String?
    var status = "PENDING"
    var exitCode: Int?
    var reason: String?
    var health = "UNKNOWN"
    var failures = 0
    var lastCheck: Date?
    var startedAt: Date?
    var bindings: [NetworkBinding]
    /// The reference the container is created from (pinned to the deployment's digest when it has one), and
    /// the digest it resolved to.
    var imageReference: String?
    var imageDigest: String?
    /// What the engine said of the container once it started (image id, addresses), for task metadata.
    var details: ContainerStatus?
    /// Restarts in place under the restart policy, and when the last one was.
    var restartCount = 0
    var lastRestartAt: Date?

    var name: String { definition.name ?? "" }
    var essential: Bool { definition.essential ?? true }
    var healthCommand: [String]? {
        guard let command = definition.healthCheck?.command, let kind = command.first else { return nil }
        switch kind {
        case "CMD": return Array(command.dropFirst())
        case "CMD-SHELL": return ["/bin/sh", "-c", command.dropFirst().joined(separator: " ")]
        default: return nil
        }
    }
}

/// One task on this host, as the agent tracks it.
struct LocalTask {
    var assignment: AgentProtocol.AssignedTask
    var containers: [LocalContainer]
    var status: TaskStatus = .pending
    var health = "UNKNOWN"
    var stoppedReason: String?
    var stopCode: String?
    /// When getting the task's images began and ended.
    var pullStartedAt: Date?
    var pullStoppedAt: Date?
    /// A start or stop is under way; the monitor leaves the task alone meanwhile.
    var busy = false
    var stopRequested = false
    /// What was last reported, so only changes are sent.
    var reported: String?
    /// Stopped and its containers removed: forgotten once its final state is acknowledged.
    var finished = false
    /// An awsvpc task's network holder (the container whose namespace its containers join) and its address there.
    var networkHolder: String?
    var address: String?

    var awsvpc: Bool { assignment.taskDefinition.networkMode == "awsvpc" }

    var arn: String { assignment.taskArn }
    var taskId: String { arn.split(separator: "/").last.map(String.init) ?? arn }

    var signature: String {
        "\(status.rawValue)|\(health)|\(pullStartedAt != nil)\(pullStoppedAt != nil)|\(address ?? "")|" + containers.map { "\($0.name):\($0.status):\($0.exitCode ?? -1):\($0.health):\($0.restartCount)" }.joined(separator: ",")
    }

    var report: AgentProtocol.TaskState {
        AgentProtocol.TaskState(
            taskArn: arn, lastStatus: status.rawValue, healthStatus: health,
            containers: containers.map { c in
                var out = Container(name: c.name)
                out.runtimeId = c.id
                out.image = c.definition.image
                out.imageDigest = c.imageDigest
                out.lastStatus = c.status
                out.exitCode = c.exitCode
                out.reason = c.reason
                out.networkBindings = c.bindings
                out.healthStatus = c.health
                out.restartCount = c.definition.restartPolicy?.enabled == true ? c.restartCount : nil
                return out
            },
            stoppedReason: stoppedReason, stopCode: stopCode,
            pullStartedAt: pullStartedAt.map { Int64($0.timeIntervalSince1970 * 1000) },
            pullStoppedAt: pullStoppedAt.map { Int64($0.timeIntervalSince1970 * 1000) }, privateIPv4Address: address)
    }
}
