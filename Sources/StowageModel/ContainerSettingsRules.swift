import Foundation

/// The checks on volumes and on the container settings the engine applies (ECS's bounds and enums), so a
/// definition the engine would refuse, or apply differently than written, is refused at registration.
extension TaskDefinitionRules {
    public static let ulimitNames: Set<String> = [
        "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio",
        "rttime", "sigpending", "stack",
    ]
    public static let capabilities: Set<String> = [
        "ALL", "AUDIT_CONTROL", "AUDIT_WRITE", "BLOCK_SUSPEND", "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER",
        "FSETID", "IPC_LOCK", "IPC_OWNER", "KILL", "LEASE", "LINUX_IMMUTABLE", "MAC_ADMIN", "MAC_OVERRIDE", "MKNOD",
        "NET_ADMIN", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID",
        "SYS_ADMIN", "SYS_BOOT", "SYS_CHROOT", "SYS_MODULE", "SYS_NICE", "SYS_PACCT", "SYS_PTRACE", "SYS_RAWIO",
        "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "SYSLOG", "WAKE_ALARM",
    ]
    /// The tmpfs mount options ECS accepts (a `key=value` option is checked by its key).
    public static let tmpfsOptions: Set<String> = [
        "defaults", "ro", "rw", "suid", "nosuid", "dev", "nodev", "exec", "noexec", "sync", "async", "dirsync",
        "remount", "mand", "nomand", "atime", "noatime", "diratime", "nodiratime", "bind", "rbind", "unbindable",
        "runbindable", "private", "rprivate", "shared", "rshared", "slave", "rslave", "relatime", "norelatime",
        "strictatime", "nostrictatime", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol",
    ]

    /// Volume names, kinds and scopes; returns the volumes with ECS's defaults (scope task, driver local).
    static func volumes(_ volumes: [Volume]) throws(APIError) -> [Volume] {
        var seen = Set<String>()
        var out: [Volume] = []
        for var volume in volumes {
            guard let name = volume.name, (1...255).contains(name.count), name.allSatisfy(Validate.nameCharacters.contains) else {
                throw .client("Volume name '\(volume.name ?? "")' is invalid: letters, numbers, hyphens and underscores only, up to 255.")
            }
            guard seen.insert(name).inserted else { throw .client("Duplicate volume name '\(name)'.") }
            if volume.host != nil, volume.dockerVolumeConfiguration != nil {
                throw .client("Volume '\(name)' has both host and dockerVolumeConfiguration: give one.")
            }
            if let path = volume.host?.sourcePath, !path.isEmpty {
                guard path.hasPrefix("/"), !path.split(separator: "/").contains("..") else {
                    throw .client("Volume '\(name)': host.sourcePath must be an absolute path without '..', got '\(path)'.")
                }
            }
            if var docker = volume.dockerVolumeConfiguration {
                let scope = docker.scope ?? "task"
                guard scope == "task" || scope == "shared" else {
                    throw .client("Volume '\(name)': dockerVolumeConfiguration.scope must be task or shared, got '\(scope)'.")
                }
                if docker.autoprovision == true, scope != "shared" {
                    throw .client("Volume '\(name)': autoprovision is only valid for a shared scope volume.")
                }
                docker.scope = scope
                docker.driver = docker.driver ?? "local"
                if docker.driver == ConfigVolume.driver {
                    guard scope == "task" else { throw .client("Volume '\(name)': a stowage configuration volume belongs to its task: scope must be task.") }
                    guard (docker.labels ?? [:]).isEmpty else { throw .client("Volume '\(name)': labels are refused on a stowage configuration volume (it is not an engine volume).") }
                    _ = try ConfigVolume.parse(docker.driverOpts ?? [:], volume: name)
                }
                volume.dockerVolumeConfiguration = docker
            }
            out.append(volume)
        }
        return out
    }

    /// Mounts, volumesFrom and the engine settings of one container, checked against the definition around it.
    static func containerSettings(_ c: ContainerDefinition, name: String, networkMode: String, containers: [String],
                                  volumes: Set<String>, memoryLimited: Bool) throws(APIError) {
        func refuse(_ text: String) -> APIError { .client("Container '\(name)': \(text)") }
        func absolute(_ path: String?, _ what: String) throws(APIError) {
            guard let path, path.hasPrefix("/") else { throw refuse("\(what) must be an absolute path, got '\(path ?? "")'.") }
        }
        for mount in c.mountPoints ?? [] {
            guard volumes.contains(mount.sourceVolume ?? "") else {
                throw refuse("mountPoints names volume '\(mount.sourceVolume ?? "")', which the task definition does not declare.")
            }
            try absolute(mount.containerPath, "mountPoints.containerPath")
        }
        for from in c.volumesFrom ?? [] {
            guard let source = from.sourceContainer, source != name, containers.contains(source) else {
                throw refuse("volumesFrom names '\(from.sourceContainer ?? "")', which is not another container of this task definition.")
            }
        }
        for limit in c.ulimits ?? [] {
            guard ulimitNames.contains(limit.name) else { throw refuse("unknown ulimit '\(limit.name)'.") }
            guard limit.softLimit >= 0, limit.softLimit <= limit.hardLimit else {
                throw refuse("ulimit \(limit.name): softLimit (\(limit.softLimit)) must be between 0 and hardLimit (\(limit.hardLimit)).")
            }
        }
        if let linux = c.linuxParameters {
            for capability in (linux.capabilities?.add ?? []) + (linux.capabilities?.drop ?? []) where !capabilities.contains(capability) {
                throw refuse("unknown capability '\(capability)' in linuxParameters.capabilities.")
            }
            for device in linux.devices ?? [] {
                try absolute(device.hostPath, "linuxParameters.devices.hostPath")
                if device.containerPath != nil { try absolute(device.containerPath, "linuxParameters.devices.containerPath") }
                for permission in device.permissions ?? [] where !["read", "write", "mknod"].contains(permission) {
                    throw refuse("device permission '\(permission)' must be read, write or mknod.")
                }
            }
            for mount in linux.tmpfs ?? [] {
                try absolute(mount.containerPath, "linuxParameters.tmpfs.containerPath")
                guard let size = mount.size, size > 0 else { throw refuse("linuxParameters.tmpfs.size must be a positive number of MiB.") }
                for option in mount.mountOptions ?? [] {
                    let key = option.split(separator: "=", maxSplits: 1).first.map(String.init) ?? option
                    guard tmpfsOptions.contains(key), !option.contains(",") else { throw refuse("tmpfs mount option '\(option)' is not supported.") }
                }
            }
            if let size = linux.sharedMemorySize, size <= 0 { throw refuse("linuxParameters.sharedMemorySize must be positive (MiB).") }
            if let swappiness = linux.swappiness, !(0...100).contains(swappiness) {
                throw refuse("linuxParameters.swappiness must be between 0 and 100.")
            }
            if let swap = linux.maxSwap {
                guard swap >= 0 else { throw refuse("linuxParameters.maxSwap must be 0 or more (MiB).") }
                guard memoryLimited else { throw refuse("linuxParameters.maxSwap needs a memory limit (the container's or the task's memory).") }
            }
        }
        if networkMode == "host" {
            if c.hostname != nil { throw refuse("hostname cannot be set in host network mode (the container has the host's).") }
            if !(c.dnsServers ?? []).isEmpty || !(c.dnsSearchDomains ?? []).isEmpty {
                throw refuse("dnsServers and dnsSearchDomains cannot be set in host network mode (the container uses the host's resolver).")
            }
            if let control = c.systemControls?.first(where: { ($0.namespace ?? "").hasPrefix("net.") }) {
                throw refuse("systemControls \(control.namespace ?? "") would change the host's network settings in host network mode; refused.")
            }
        }
        if networkMode == "awsvpc", c.hostname != nil {
            throw refuse("hostname cannot be set in awsvpc network mode (the task's namespace has one hostname, as in ECS).")
        }
        if c.disableNetworking == true, !(c.portMappings ?? []).isEmpty {
            throw refuse("portMappings cannot be used with disableNetworking.")
        }
        for control in c.systemControls ?? [] {
            guard let namespace = control.namespace, !namespace.isEmpty, control.value != nil else {
                throw refuse("each systemControls entry needs a namespace and a value.")
            }
        }
        for entry in c.extraHosts ?? [] {
            guard let host = entry.hostname, !host.isEmpty, let address = entry.ipAddress, !address.isEmpty, !host.contains(":") else {
                throw refuse("each extraHosts entry needs a hostname and an ipAddress.")
            }
        }
        if let label = c.dockerLabels?.keys.first(where: { $0.hasPrefix("stowage.") }) {
            throw refuse("dockerLabels key '\(label)' is reserved: the stowage. prefix ties containers to their tasks.")
        }
        if let consistency = c.versionConsistency, consistency != "enabled", consistency != "disabled" {
            throw refuse("versionConsistency must be enabled or disabled, got '\(consistency)'.")
        }
        if let policy = c.restartPolicy, policy.enabled == true {
            if let period = policy.restartAttemptPeriod, !(60...1800).contains(period) {
                throw refuse("restartPolicy.restartAttemptPeriod must be between 60 and 1800 seconds.")
            }
            if (policy.ignoredExitCodes ?? []).count > 50 { throw refuse("restartPolicy.ignoredExitCodes holds at most 50 codes.") }
        }
    }

    /// Task-level pidMode and ipcMode, as ECS defines them. An init process must be PID 1 of its own namespace:
    /// with pidMode host it cannot be, and with task only the first container (whose namespace the rest join) can.
    static func namespaces(pidMode: String?, ipcMode: String?, containers: [ContainerDefinition]) throws(APIError) {
        if let pid = pidMode, pid != "host", pid != "task" { throw .client("pidMode must be host or task, got '\(pid)'.") }
        if let ipc = ipcMode, !["host", "task", "none"].contains(ipc) { throw .client("ipcMode must be host, task or none, got '\(ipc)'.") }
        guard let pid = pidMode else { return }
        let first = ContainerStartOrder.order(containers).first
        for (index, c) in containers.enumerated() where c.linuxParameters?.initProcessEnabled == true {
            if pid == "host" || index != first {
                throw .client("Container '\(c.name ?? "")': linuxParameters.initProcessEnabled needs a PID namespace of its own; with pidMode \(pid) only \(pid == "host" ? "no container" : "the first container to start") can have it.")
            }
        }
    }
}
