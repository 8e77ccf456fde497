import Foundation
import Synchronization

/// Runs each container's command as a host process, for hosts without a container engine.
///
/// No images and no isolation: the command runs with the task's environment and working directory, in its
/// own process group; stdout and stderr go to files the agent ships as logs; CPU and memory come from /proc.
/// Host ports cannot be remapped, so each mapping is announced as `STOWAGE_HOST_PORT_<containerPort>`.
public final class ProcessRuntime: ContainerRuntime, Sendable {
    public let kind = "process"
    let directory: String

    struct Record: Codable {
        var id: String
        var spec: StoredSpec
        var pid: Int32?
        var exitCode: Int?
        var startedAt: Date?
        var finishedAt: Date?
    }

    struct StoredSpec: Codable {
        var name: String
        var argv: [String]
        var environment: [String: String]
        var workingDirectory: String?
        var labels: [String: String]
    }

    private let records = Mutex<[String: Record]>([:])
    private let logOffsets = Mutex<[String: (out: UInt64, err: UInt64)]>([:])

    public init(directory: String) {
        self.directory = directory
        // Its records hold the containers' environments, secret values included: the agent's user alone reads them.
        try? PrivateFiles.directory(directory)
        var loaded: [String: Record] = [:]
        for file in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where file.hasSuffix(".json") {
            if let data = FileManager.default.contents(atPath: "\(directory)/\(file)"),
               let record = try? JSONDecoder().decode(Record.self, from: data) { loaded[record.id] = record }
        }
        records.withLock { $0 = loaded }
    }

    func save(_ record: Record) {
        records.withLock { $0[record.id] = record }
        if let data = try? JSONEncoder().encode(record) {
            try? PrivateFiles.write(data, to: "\(directory)/\(record.id).json")
        }
    }

    func record(_ id: String) -> Record? { records.withLock { $0[id] } }

    public func ping() async -> Bool { true }

    public func create(_ spec: ContainerSpec) async throws -> String {
        // No engine, no isolation: a setting it cannot apply fails the task by name instead of being dropped.
        let unsupported = spec.settings.requested
        guard unsupported.isEmpty else {
            throw RuntimeError.failed("CannotCreateContainerError: the process runtime cannot apply \(unsupported.joined(separator: ", ")); run this task on an instance with a container engine")
        }
        let argv = (spec.entryPoint ?? []) + (spec.command ?? [])
        guard !argv.isEmpty else { throw RuntimeError.failed("CannotStartContainerError: no command to run for \(spec.name)") }
        var env = ProcessInfo.processInfo.environment.filter { ["PATH", "HOME", "LANG"].contains($0.key) }
        for (k, v) in spec.environment { env[k] = v }
        for port in spec.ports { env["STOWAGE_HOST_PORT_\(port.containerPort)"] = String(port.hostPort) }
        let id = UUID().uuidString.lowercased()
        save(Record(id: id, spec: StoredSpec(name: spec.name, argv: argv, environment: env, workingDirectory: spec.workingDirectory,
                                             labels: spec.labels)))
        return id
    }

    public func start(_ id: String) async throws {
        guard var record = record(id) else { throw RuntimeError.notFound(id) }
        if let pid = record.pid, Self.alive(pid) { return }
        record.pid = try spawn(record.spec, stdout: "\(directory)/\(id).out", stderr: "\(directory)/\(id).err")
        record.startedAt = Date()
        record.exitCode = nil
        record.finishedAt = nil
        save(record)
    }

    func spawn(_ spec: StoredSpec, stdout: String, stderr: String) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // A new process group, default signal handling and an empty mask: the agent ignores SIGTERM itself
        // (its shutdown is handled elsewhere), and children must not inherit that.
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        posix_spawnattr_setpgroup(&attributes, 0)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        // Change directory through the shell, since posix_spawn's chdir action is not available here.
        let words = spec.workingDirectory.map { ["/bin/sh", "-c", "cd \"$1\" && shift && exec \"$@\"", "sh", $0] + spec.argv } ?? spec.argv
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = spec.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, words[0], &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw RuntimeError.failed("CannotStartContainerError: \(spec.argv[0]): \(String(cString: strerror(result)))")
        }
        return pid
    }

    static func alive(_ pid: Int32) -> Bool { kill(pid, 0) == 0 }

    /// Collects the exit status of a child that has ended; nil while it runs.
    func reap(_ id: String) -> Record? {
        guard var record = record(id) else { return nil }
        guard let pid = record.pid, record.finishedAt == nil else { return record }
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == pid {
            record.exitCode = Int((status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f))
            record.finishedAt = Date()
            save(record)
        } else if result < 0 && !Self.alive(pid) {
            // Not our child (the agent restarted): it is gone, and its exit code is unknown.
            record.finishedAt = Date()
            save(record)
        }
        return record
    }

    public func stop(_ id: String, timeout: Int) async throws {
        guard let record = reap(id), let pid = record.pid, record.finishedAt == nil else { return }
        kill(-pid, SIGTERM)
        let deadline = Date().addingTimeInterval(TimeInterval(timeout))
        while Date() < deadline {
            if reap(id)?.finishedAt != nil { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        kill(-pid, SIGKILL)
        for _ in 0..<100 where reap(id)?.finishedAt == nil { try await Task.sleep(for: .milliseconds(20)) }
    }

    public func remove(_ id: String) async throws {
        if let record = reap(id), let pid = record.pid, record.finishedAt == nil { kill(-pid, SIGKILL); _ = reap(id) }
        records.withLock { $0[id] = nil }
        for suffix in ["json", "out", "err"] { try? FileManager.default.removeItem(atPath: "\(directory)/\(id).\(suffix)") }
    }

    public func inspect(_ id: String) async throws -> ContainerStatus? {
        guard let record = reap(id) else { return nil }
        let running = record.pid != nil && record.finishedAt == nil
        return ContainerStatus(running: running, exitCode: running ? nil : record.exitCode, startedAt: record.startedAt,
                               finishedAt: record.finishedAt, error: nil)
    }

    public func list(label: String) async throws -> [ListedContainer] {
        let parts = label.split(separator: "=", maxSplits: 1).map(String.init)
        return records.withLock { Array($0.values) }.filter { record in
            guard let value = record.spec.labels[parts[0]] else { return false }
            return parts.count == 1 || value == parts[1]
        }.map { record in
            let current = reap(record.id) ?? record
            return ListedContainer(id: record.id, name: record.spec.name, labels: record.spec.labels,
                                   running: current.pid != nil && current.finishedAt == nil)
        }
    }

    public func exec(_ id: String, command: [String], timeout: Duration) async throws -> Int {
        guard let record = record(id), !command.isEmpty else { throw RuntimeError.notFound(id) }
        var spec = record.spec
        spec.argv = command
        let pid = try spawn(spec, stdout: "/dev/null", stderr: "/dev/null")
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                return Int((status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f))
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        kill(-pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        throw RuntimeError.failed("health check timed out")
    }

    /// The lines written since the previous call (stamped when read: a plain process writes no timestamps).
    public func logs(_ id: String, since: Int64?) async throws -> [LogLine] {
        let offsets = logOffsets.withLock { $0[id] ?? (0, 0) }
        let (out, outEnd) = Self.read("\(directory)/\(id).out", from: offsets.out)
        let (err, errEnd) = Self.read("\(directory)/\(id).err", from: offsets.err)
        logOffsets.withLock { $0[id] = (outEnd, errEnd) }
        let now = Date()
        return out.map { LogLine(stderr: false, timestamp: now, message: $0) } + err.map { LogLine(stderr: true, timestamp: now, message: $0) }
    }

    static func read(_ path: String, from offset: UInt64) -> ([String], UInt64) {
        guard let handle = FileHandle(forReadingAtPath: path) else { return ([], offset) }
        defer { try? handle.close() }
        try? handle.seek(toOffset: offset)
        let data = (try? handle.readToEnd()) ?? Data()
        guard let lastNewline = data.lastIndex(of: 0x0a) else { return ([], offset) }
        let complete = data[data.startIndex...lastNewline]
        let lines = String(decoding: complete, as: UTF8.self).split(separator: "\n").map(String.init)
        return (lines, offset + UInt64(complete.count))
    }

    public func stats(_ id: String) async throws -> ContainerStats? {
        guard let record = reap(id), let pid = record.pid, record.finishedAt == nil,
              let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        let ticks = UInt64(sysconf(Int32(_SC_CLK_TCK)))
        let utime = UInt64(fields.count > 11 ? fields[11] : "0") ?? 0
        let stime = UInt64(fields.count > 12 ? fields[12] : "0") ?? 0
        var rss: UInt64 = 0
        if let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) {
            rss = (UInt64(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
        }
        var system: UInt64?
        if let all = try? String(contentsOfFile: "/proc/stat", encoding: .utf8), let cpu = all.split(separator: "\n").first {
            system = cpu.split(separator: " ").dropFirst().compactMap { UInt64($0) }.reduce(0, +) * 1_000_000_000 / max(ticks, 1)
        }
        return ContainerStats(cpuNanos: (utime + stime) * 1_000_000_000 / max(ticks, 1), systemNanos: system,
                              onlineCPUs: ProcessInfo.processInfo.activeProcessorCount, memoryBytes: rss,
                              networkRxBytes: nil, networkTxBytes: nil, blockReadBytes: nil, blockWriteBytes: nil)
    }

    // Host processes have no images: nothing to pull, hold or clean up.
    public let hasImages = false
    public func image(_ reference: String) async throws -> ImageInfo? { ImageInfo(id: reference) }
    public func pull(_ reference: String, auth: String?) async throws {}
    public func images() async throws -> [ImageInfo] { [] }
    public func removeImage(_ id: String) async throws -> Bool { false }
    public func imageStorePath() async -> String? { nil }

    // Volumes are refused at create (settings.requested), so there are none to find or remove.
    public func volumeExists(_ name: String) async throws -> Bool { false }

    public func createVolume(_ name: String, driver: String, options: [String: String], labels: [String: String]) async throws {
        throw RuntimeError.failed("CannotCreateContainerError: the process runtime has no volumes")
    }

    public func removeVolumes(label: String) async throws {}
}
