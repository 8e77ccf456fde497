import Foundation
import StowageModel

/// How a task definition's volumes and container settings become engine settings, as pure functions so the
/// translation is tested without an engine.
enum TaskSettings {
    /// What one declared volume mounts on this host.
    enum VolumeSource: Sendable, Equatable {
        /// A host path, bind-mounted (made when missing, as Docker does for ECS).
        case bind(String)
        /// An engine volume the agent makes for this task and removes with it.
        case taskVolume(name: String, driver: String, options: [String: String], labels: [String: String])
        /// An engine volume that outlives tasks, found by name, made only when autoprovision says so.
        case shared(name: String, driver: String, options: [String: String], labels: [String: String], autoprovision: Bool)
        /// A configuration volume: files the agent writes in this tmpfs directory, bind-mounted read-only.
        case files(directory: String, ConfigVolume)

        var engineName: String? {
            switch self {
            case .bind, .files: nil
            case .taskVolume(let name, _, _, _), .shared(let name, _, _, _, _): name
            }
        }
    }

    /// Each declared volume's source: a host path, or an engine volume named after the task (task scope) or
    /// after the volume (shared scope). A volume with neither host path nor configuration is task-scoped.
    static func volumes(_ definition: TaskDefinition, taskArn: String, taskId: String, filesRoot: String) -> [String: VolumeSource] {
        var out: [String: VolumeSource] = [:]
        let configs = ConfigVolume.of(definition)
        for volume in definition.volumes ?? [] {
            guard let name = volume.name else { continue }
            if let config = configs[name] {
                out[name] = .files(directory: "\(filesRoot)/\(taskId)/\(name)", config)
                continue
            }
            if let path = volume.host?.sourcePath, !path.isEmpty {
                out[name] = .bind(path)
                continue
            }
            let docker = volume.dockerVolumeConfiguration
            var labels = docker?.labels ?? [:]
            if docker?.scope == "shared" {
                out[name] = .shared(name: name, driver: docker?.driver ?? "local", options: docker?.driverOpts ?? [:],
                                    labels: labels, autoprovision: docker?.autoprovision ?? false)
            } else {
                labels[AgentProtocol.taskLabel] = taskArn
                out[name] = .taskVolume(name: "stowage-\(taskId)-\(name)", driver: docker?.driver ?? "local",
                                        options: docker?.driverOpts ?? [:], labels: labels)
            }
        }
        return out
    }

    /// The engine settings of one container. `containerIds` holds the engine ids of the task's containers made
    /// so far (volumesFrom sources come first in start order); `holder` is the id of the task's first container,
    /// whose pid and ipc namespaces the others join when the task asks for `task` modes.
    static func engineSettings(_ d: ContainerDefinition, task: TaskDefinition, volumes: [String: VolumeSource],
                               containerIds: [String: String], holder: String?) -> EngineSettings {
        var s = EngineSettings()
        for mount in d.mountPoints ?? [] {
            guard let name = mount.sourceVolume, let target = mount.containerPath, let source = volumes[name] else { continue }
            let readOnly = mount.readOnly ?? false
            switch source {
            case .bind(let path): s.mounts.append(.init(volume: false, source: path, target: target, readOnly: readOnly))
            case .files(let directory, _): s.mounts.append(.init(volume: false, source: directory, target: target, readOnly: true))
            default: s.mounts.append(.init(volume: true, source: source.engineName ?? name, target: target, readOnly: readOnly))
            }
        }
        s.volumesFrom = (d.volumesFrom ?? []).compactMap { from in
            from.sourceContainer.flatMap { containerIds[$0] }.map { "\($0):\(from.readOnly == true ? "ro" : "rw")" }
        }
        s.readonlyRootFilesystem = d.readonlyRootFilesystem ?? false
        s.privileged = d.privileged ?? false
        s.ulimits = d.ulimits ?? []
        if let linux = d.linuxParameters {
            s.capAdd = linux.capabilities?.add ?? []
            s.capDrop = linux.capabilities?.drop ?? []
            s.initProcess = linux.initProcessEnabled ?? false
            s.shmSizeMiB = linux.sharedMemorySize
            for mount in linux.tmpfs ?? [] {
                guard let path = mount.containerPath, let size = mount.size else { continue }
                s.tmpfs[path] = (["size=\(size)m"] + (mount.mountOptions ?? [])).joined(separator: ",")
            }
            s.devices = (linux.devices ?? []).compactMap { device in
                guard let host = device.hostPath else { return nil }
                let permissions = device.permissions.map { list in
                    (list.contains("read") ? "r" : "") + (list.contains("write") ? "w" : "") + (list.contains("mknod") ? "m" : "")
                } ?? "rwm"
                return .init(hostPath: host, containerPath: device.containerPath ?? host, permissions: permissions)
            }
            if let swap = linux.maxSwap, let memory = d.memory ?? task.memory.flatMap(Int.init) { s.memorySwapMiB = memory + swap }
            s.swappiness = linux.swappiness
        }
        s.dns = d.dnsServers ?? []
        s.dnsSearch = d.dnsSearchDomains ?? []
        s.extraHosts = (d.extraHosts ?? []).compactMap { entry in
            guard let host = entry.hostname, let address = entry.ipAddress else { return nil }
            return "\(host):\(address)"
        }
        s.hostname = d.hostname
        s.securityOptions = d.dockerSecurityOptions ?? []
        for control in d.systemControls ?? [] {
            if let key = control.namespace, let value = control.value { s.sysctls[key] = value }
        }
        switch task.pidMode {
        case "host": s.pidMode = "host"
        case "task": s.pidMode = holder.map { "container:\($0)" }
        default: break
        }
        switch task.ipcMode {
        case "host", "none": s.ipcMode = task.ipcMode
        case "task": s.ipcMode = holder.map { "container:\($0)" } ?? "shareable"
        default: break
        }
        s.interactive = d.interactive ?? false
        s.tty = d.pseudoTerminal ?? false
        s.networkDisabled = d.disableNetworking ?? false
        // awslogs lines are read from the engine's own log by the agent, so the engine keeps its default driver.
        if let log = d.logConfiguration, log.logDriver != "awslogs" {
            s.logDriver = log.logDriver
            s.logOptions = log.options ?? [:]
        }
        s.cpuLimitUnits = task.cpu.flatMap(Int.init)
        return s
    }
}
