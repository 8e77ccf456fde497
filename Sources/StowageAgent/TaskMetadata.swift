import Crypto
import Foundation
import StowageModel
import StowageSigning

/// The task metadata endpoint v4 in ECS's JSON shape (`DockerId`, `KnownStatus`, `Limits`, `Networks`…), so
/// sidecars and SDK code written for ECS read it unchanged.
enum TaskMetadata {
    /// `arn:…:task/<cluster>/<id>` -> `arn:…:cluster/<cluster>`.
    static func clusterArn(_ taskArn: String) -> String {
        guard let range = taskArn.range(of: ":task/") else { return taskArn }
        let cluster = taskArn[range.upperBound...].split(separator: "/").first.map(String.init) ?? ""
        return taskArn[..<range.lowerBound] + ":cluster/" + cluster
    }

    /// The container's ARN as DescribeTasks gives it: `arn:…:container/<cluster>/<task id>/<name>`.
    static func containerArn(_ taskArn: String, name: String) -> String {
        taskArn.replacingOccurrences(of: ":task/", with: ":container/") + "/" + name
    }

    static func container(_ c: LocalContainer, of task: LocalTask) -> [String: Any] {
        let d = c.definition
        var out: [String: Any] = [
            "DockerId": c.id ?? "", "Name": c.name, "DockerName": "stowage-\(task.taskId)-\(c.name)", "Image": d.image ?? "",
            "ImageID": c.details?.imageId ?? "", "Labels": d.dockerLabels ?? [:],
            "DesiredStatus": task.stopRequested ? "STOPPED" : "RUNNING", "KnownStatus": c.status,
            "Limits": ["CPU": d.cpu ?? 0, "Memory": d.memory ?? d.memoryReservation ?? 0],
            "Type": "NORMAL", "ContainerARN": containerArn(task.arn, name: c.name),
            "Networks": [network(c, of: task)],
        ]
        if let created = c.details?.createdAt { out["CreatedAt"] = UTCTime.rfc3339(created) }
        if let started = c.startedAt { out["StartedAt"] = UTCTime.rfc3339(started) }
        if let exit = c.exitCode { out["ExitCode"] = exit }
        if let log = d.logConfiguration {
            out["LogDriver"] = log.logDriver
            out["LogOptions"] = log.options ?? [:]
        }
        if d.restartPolicy?.enabled == true { out["RestartCount"] = c.restartCount }
        if c.healthCommand != nil {
            var health: [String: Any] = ["status": c.health]
            if let last = c.lastCheck { health["statusSince"] = UTCTime.rfc3339(last) }
            out["Health"] = health
        }
        let ports: [[String: Any]] = c.bindings.compactMap { b in
            guard let container = b.containerPort, let host = b.hostPort else { return nil }
            return ["ContainerPort": container, "Protocol": b.protocol ?? "tcp", "HostPort": host, "HostIp": b.bindIP ?? "0.0.0.0"]
        }
        if !ports.isEmpty { out["Ports"] = ports }
        return out
    }

    /// An awsvpc task's network as ECS's v4 metadata shows it (the task's own address and subnet, its gateway);
    /// other modes give the container's engine addresses.
    static func network(_ c: LocalContainer, of task: LocalTask) -> [String: Any] {
        guard task.awsvpc, let address = task.address else {
            return ["NetworkMode": task.assignment.taskDefinition.networkMode ?? "bridge", "IPv4Addresses": c.details?.addresses ?? []]
        }
        var out: [String: Any] = ["NetworkMode": "awsvpc", "IPv4Addresses": [address], "AttachmentIndex": 0,
                                  "PrivateDNSName": TaskNetwork.privateDnsName(address)]
        if let subnet = CIDR(address).map({ CIDR.format(Array($0.bytes.prefix(3)) + [0]) + "/24" }) {
            out["IPv4SubnetCIDRBlock"] = subnet
            out["DefaultGateway"] = TaskRouting.gateway(of: subnet) ?? ""
        }
        return out
    }

    static func task(_ task: LocalTask, zone: String) -> [String: Any] {
        let definition = task.assignment.taskDefinition
        var out: [String: Any] = [
            "Cluster": clusterArn(task.arn), "TaskARN": task.arn, "Family": task.assignment.family,
            "Revision": String(task.assignment.revision), "DesiredStatus": task.stopRequested ? "STOPPED" : "RUNNING",
            "KnownStatus": task.status.rawValue, "AvailabilityZone": zone, "LaunchType": task.assignment.launchType ?? "EC2",
            "Containers": task.containers.map { container($0, of: task) }, "Errors": [Any](),
        ]
        if let group = task.assignment.group, group.hasPrefix("service:") { out["ServiceName"] = String(group.dropFirst(8)) }
        var limits: [String: Any] = [:]
        if let cpu = definition.cpu.flatMap(Double.init) { limits["CPU"] = cpu / 1024 }
        if let memory = definition.memory.flatMap(Int.init) { limits["Memory"] = memory }
        if !limits.isEmpty { out["Limits"] = limits }
        return out
    }
}

extension Agent {
    /// The path token of one container's metadata endpoint: an HMAC of task and container under the agent's key,
    /// so a container can read its own task only and nothing needs storing.
    nonisolated func metadataToken(_ taskArn: String, container: String) -> String {
        let key = SymmetricKey(data: Data(("stowage-task-metadata:" + config.credentialsKey).utf8))
        return String(Hex.encode(HMAC<SHA256>.authenticationCode(for: Data("\(taskArn)/\(container)".utf8), using: key)).prefix(40))
    }

    /// Answers `GET /v4/<token>[/task][/stats]`: (HTTP status, JSON body).
    func taskMetadata(token: String, path: String) async -> (Int, Data) {
        func json(_ status: Int, _ value: Any) -> (Int, Data) {
            (status, (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])) ?? Data())
        }
        var found: (task: LocalTask, container: LocalContainer)?
        for task in tasks.values where !task.finished {
            if let c = task.containers.first(where: { SigV4.constantTimeEqual(metadataToken(task.arn, container: $0.name), token) }) {
                found = (task, c)
                break
            }
        }
        guard let (task, container) = found else {
            return json(404, ["code": "NotFound", "message": "No container of a task on this instance has this metadata path."])
        }
        switch path {
        case "":
            return json(200, TaskMetadata.container(container, of: task))
        case "task":
            return json(200, TaskMetadata.task(task, zone: config.zone))
        case "stats":
            guard let id = container.id, let stats = try? await runtime.statsDocument(id) else { return json(200, [String: Any]()) }
            return json(200, stats)
        case "task/stats":
            var all: [String: Any] = [:]
            for c in task.containers {
                guard let id = c.id else { continue }
                all[id] = (try? await runtime.statsDocument(id)) ?? NSNull()
            }
            return json(200, all)
        default:
            return json(404, ["code": "NotFound", "message": "Unknown metadata path /\(path): use /, /task, /stats or /task/stats."])
        }
    }
}
