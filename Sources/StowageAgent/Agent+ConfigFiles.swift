import Foundation
import StowageModel

/// Configuration volumes: files from parameters, secrets and inline text, written on a tmpfs (so a secret never
/// reaches the host's disk), bind-mounted read-only, and rewritten in place for volumes that ask for it.
extension Agent {
    /// Whether a directory lives on a tmpfs: the filesystem of the longest mount point containing it, per /proc/mounts.
    nonisolated static func onTmpfs(_ path: String) -> Bool {
        guard let mounts = try? String(contentsOfFile: "/proc/mounts", encoding: .utf8) else { return false }
        return filesystem(of: (path as NSString).resolvingSymlinksInPath, mounts: mounts) == "tmpfs"
    }

    /// The filesystem type a path is on, given /proc/mounts' text (mount points escape spaces as \\040).
    nonisolated static func filesystem(of path: String, mounts: String) -> String? {
        var best: (length: Int, type: String)?
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 3 else { continue }
            let point = fields[1].replacingOccurrences(of: "\\040", with: " ")
            let inside = point == "/" || path == point || path.hasPrefix(point + "/")
            if inside, point.count >= (best?.length ?? -1) { best = (point.count, String(fields[2])) }
        }
        return best?.type
    }

    /// Writes a configuration volume's files (only those whose content changed); returns the paths written.
    @discardableResult
    func writeConfigFiles(_ arn: String, volume: String, directory: String, _ config: ConfigVolume) throws -> [String] {
        let root = configFilesRoot
        // The root and each task's directory are the agent's alone (0700, its own, not a link someone made first
        // under the world-writable /dev/shm): a task's files are reached only through the volume mounted into it.
        do {
            try PrivateFiles.directory(root)
        } catch {
            throw RuntimeError.failed("ResourceInitializationError: volume \(volume): \(error)")
        }
        guard Self.onTmpfs(root) else {
            throw RuntimeError.failed("ResourceInitializationError: volume \(volume): \(root) is not a tmpfs; configuration files are only written to memory (set --config-files-dir to a tmpfs)")
        }
        let taskDirectory = (directory as NSString).deletingLastPathComponent
        try PrivateFiles.directory(taskDirectory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let values = taskSecrets[arn]?.files[volume] ?? [:]
        var written: [String] = []
        for file in config.files {
            let content: Data
            switch file.source {
            case .text(let text): content = Data(text.utf8)
            case .parameter, .secret:
                guard let value = values[file.path] else {
                    throw RuntimeError.failed("ResourceInitializationError: volume \(volume): no value was read for \(file.path)")
                }
                content = value
            }
            let path = "\(directory)/\(file.path)"
            if FileManager.default.contents(atPath: path) == content { continue }
            let parent = (path as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            // Written beside and renamed over: a reader sees the old file or the new one, never half of one.
            let staging = "\(parent)/.stowage-\(UUID().uuidString)"
            guard FileManager.default.createFile(atPath: staging, contents: content, attributes: [.posixPermissions: 0o600]) else {
                throw RuntimeError.failed("ResourceInitializationError: volume \(volume): \(file.path) could not be written")
            }
            do {
                try FileManager.default.setAttributes([.ownerAccountID: file.uid, .groupOwnerAccountID: file.gid, .posixPermissions: file.mode],
                                                      ofItemAtPath: staging)
                guard rename(staging, path) == 0 else { throw RuntimeError.failed("rename failed (errno \(errno))") }
            } catch {
                try? FileManager.default.removeItem(atPath: staging)
                throw RuntimeError.failed("ResourceInitializationError: volume \(volume): \(file.path): \(error)")
            }
            written.append(file.path)
        }
        return written
    }

    var configFilesRoot: String { config.configFilesDirectory }

    /// Removes a task's configuration files (its whole directory on the tmpfs).
    func removeConfigFiles(taskId: String) {
        try? FileManager.default.removeItem(atPath: "\(configFilesRoot)/\(taskId)")
    }

    /// Re-reads the values of running tasks' in-place configuration volumes and rewrites what changed. A failed
    /// read leaves the files as they are: a control-plane fault never disturbs a running task.
    func configRefreshLoop() async {
        guard let interval = config.configRefreshInterval else { return }
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            await refreshConfigFiles()
        }
    }

    func refreshConfigFiles() async {
        for (arn, task) in tasks where task.status == .running {
            let volumes = TaskSettings.volumes(task.assignment.taskDefinition, taskArn: arn, taskId: task.taskId, filesRoot: configFilesRoot)
            let inPlace = volumes.compactMap { name, source -> (String, String, ConfigVolume)? in
                guard case .files(let directory, let config) = source, config.updates == .inPlace else { return nil }
                return (name, directory, config)
            }
            guard !inPlace.isEmpty else { continue }
            do {
                let values: AgentProtocol.TaskSecrets = try await server.get(
                    "/agent/v1/clusters/\(self.config.cluster)/container-instances/\(instanceId)/tasks/\(task.taskId)/secrets")
                if let failure = values.failure {
                    logger.warning("configuration files not refreshed", metadata: ["task": "\(arn)", "reason": "\(failure)"])
                    continue
                }
                guard tasks[arn]?.status == .running else { continue }
                taskSecrets[arn] = values
                for (name, directory, config) in inPlace {
                    let written = try writeConfigFiles(arn, volume: name, directory: directory, config)
                    if !written.isEmpty {
                        logger.info("configuration files updated in place", metadata: ["task": "\(arn)", "volume": "\(name)", "files": "\(written)"])
                    }
                }
            } catch {
                logger.warning("configuration files not refreshed", metadata: ["task": "\(arn)", "error": "\(error)"])
            }
        }
    }
}
