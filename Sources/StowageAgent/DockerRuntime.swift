import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import StowageModel
import Synchronization

/// The Docker Engine API over a unix socket; works against Docker and against Podman's compatible service.
public final class DockerRuntime: ContainerRuntime, Sendable {
    public let kind = "docker"
    public let hasImages = true
    public let socketPath: String
    let client: HTTPClient
    static let apiVersion = "v1.41"

    /// Whether the engine is Podman, learned from /version: its compatible exec leaves idle conmon processes
    /// behind (Podman 4.3), so health checks go through Podman's own healthcheck endpoint instead.
    let podman = Mutex<Bool?>(nil)

    /// The engine's own connection pool: slow calls (a stop waits out its timeout) must not starve the rest.
    /// Lives as long as the process, so it is never shut down.
    public static let engineClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// The nofile/nproc limits a container gets when its definition names other ulimits but not these (dockerd's
    /// --default-ulimit): given any ulimit, Podman replaces its configured defaults with built-in ones that can
    /// exceed what the engine itself may grant. Empty: the agent's own limits.
    let defaultUlimits: [Ulimit]

    public init(socketPath: String = "/var/run/docker.sock", client: HTTPClient = DockerRuntime.engineClient,
                defaultUlimits: [Ulimit] = []) {
        self.socketPath = socketPath
        self.client = client
        self.defaultUlimits = defaultUlimits
    }

    func isPodman() async -> Bool {
        if let known = podman.withLock({ $0 }) { return known }
        guard let answer = try? await call(.GET, "/version", timeout: .seconds(10)), answer.status == 200 else { return false }
        let components = (answer.json as? [String: Any])?["Components"] as? [[String: Any]] ?? []
        let found = components.contains { ($0["Name"] as? String)?.contains("Podman") == true }
        podman.withLock { $0 = found }
        return found
    }

    public func bridgeGateway() async -> String? {
        await bridgeConfigs().compactMap { $0["Gateway"] as? String }.first { !$0.contains(":") }
    }

    public func bridgeSubnets() async -> [String] {
        await bridgeConfigs().compactMap { $0["Subnet"] as? String }
    }

    /// The default bridge network's IPAM entries (gateway and subnet each).
    func bridgeConfigs() async -> [[String: Any]] {
        let name = await isPodman() ? "podman" : "bridge"
        guard let answer = try? await call(.GET, "/networks/\(name)", timeout: .seconds(10)), answer.status == 200,
              let configs = ((answer.json as? [String: Any])?["IPAM"] as? [String: Any])?["Config"] as? [[String: Any]] else { return [] }
        return configs
    }

    struct Answer {
        var status: Int
        var body: ByteBuffer
        var json: Any? { try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) }
        var message: String { (json as? [String: Any])?["message"] as? String ?? String(buffer: body) }
    }

    func call(_ method: HTTPMethod, _ path: String, body: Any? = nil, timeout: TimeAmount = .seconds(60),
              api: String = DockerRuntime.apiVersion) async throws -> Answer {
        guard let url = URL(httpURLWithSocketPath: socketPath, uri: "/\(api)\(path)") else {
            throw RuntimeError.failed("bad Docker API path \(path)")
        }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = method
        // Go's HTTP server (Podman) refuses requests without a Host header, which unix-socket URLs do not imply.
        request.headers.add(name: "Host", value: "localhost")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
        }
        let response = try await client.execute(request, timeout: timeout)
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return Answer(status: Int(response.status.code), body: bytes)
    }

    func expect(_ answer: Answer, _ ok: Set<Int>, _ what: String) throws {
        guard ok.contains(answer.status) else { throw RuntimeError.failed("\(what): \(answer.status) \(answer.message)") }
    }

    /// Whether the engine answers; a freshly started Podman service can take seconds over its first request.
    public func ping() async -> Bool {
        for _ in 0..<2 where (try? await call(.GET, "/version", timeout: .seconds(10)).status) == 200 { return true }
        return false
    }

    public func create(_ spec: ContainerSpec) async throws -> String {
        var exposed: [String: Any] = [:]
        var bindings: [String: Any] = [:]
        for port in spec.ports {
            let key = "\(port.containerPort)/\(port.udp ? "udp" : "tcp")"
            exposed[key] = [String: Any]()
            bindings[key] = [["HostIp": "", "HostPort": String(port.hostPort)]]
        }
        var host: [String: Any] = ["PortBindings": bindings]
        if spec.networkMode == "host" || spec.networkMode == "none" || spec.networkMode?.hasPrefix("container:") == true {
            // An awsvpc task's container joins its holder's namespace: its ports are on the task's address, not the host's.
            host = ["NetworkMode": spec.networkMode ?? "bridge"]
            exposed = [:]
        }
        if let memory = spec.memoryMiB { host["Memory"] = memory << 20 }
        if let reservation = spec.memoryReservationMiB { host["MemoryReservation"] = reservation << 20 }
        if let shares = spec.cpuShares, shares >= 2 { host["CpuShares"] = shares }
        var config: [String: Any] = [
            "Image": spec.image, "Labels": spec.labels, "ExposedPorts": exposed,
            "Env": spec.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" },
        ]
        if let command = spec.command { config["Cmd"] = command }
        if let entryPoint = spec.entryPoint { config["Entrypoint"] = entryPoint }
        if let dir = spec.workingDirectory { config["WorkingDir"] = dir }
        if let health = spec.healthCommand, await isPodman() {
            // Defined on the container so Podman's healthcheck endpoint can run it; the agent keeps its own schedule.
            // One shell-quoted CMD-SHELL string: Podman re-splits CMD arguments on spaces.
            let shell = health.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
            config["Healthcheck"] = ["Test": ["CMD-SHELL", shell], "Interval": 3_600_000_000_000,
                                     "Timeout": (spec.healthTimeout ?? 5) * 1_000_000_000, "Retries": 1]
        }
        if let user = spec.user { config["User"] = user }
        Self.apply(spec.settings, config: &config, host: &host, defaultUlimits: defaultUlimits)
        config["HostConfig"] = host
        let answer = try await call(.POST, "/containers/create?name=\(Self.escape(spec.name))", body: config)
        if answer.status == 404, answer.message.lowercased().contains("image") { throw RuntimeError.imageNotFound(spec.image) }
        guard [200, 201].contains(answer.status) else {
            // Engines refuse an unknown log driver without naming it.
            let driver = answer.message.contains("log driver") ? spec.settings.logDriver.map { " (logDriver \($0))" } ?? "" : ""
            throw RuntimeError.failed("CannotCreateContainerError: \(answer.message)\(driver)")
        }
        guard let id = (answer.json as? [String: Any])?["Id"] as? String else { throw RuntimeError.failed("create returned no id") }
        return id
    }

    /// The engine settings as Docker Engine API create fields.
    static func apply(_ s: EngineSettings, config: inout [String: Any], host: inout [String: Any], defaultUlimits: [Ulimit] = []) {
        let binds = s.mounts.filter { !$0.volume }.map { "\($0.source):\($0.target)\($0.readOnly ? ":ro" : "")" }
        if !binds.isEmpty { host["Binds"] = binds }
        let volumes = s.mounts.filter(\.volume).map { ["Type": "volume", "Source": $0.source, "Target": $0.target, "ReadOnly": $0.readOnly] as [String: Any] }
        if !volumes.isEmpty { host["Mounts"] = volumes }
        if !s.volumesFrom.isEmpty { host["VolumesFrom"] = s.volumesFrom }
        if s.readonlyRootFilesystem { host["ReadonlyRootfs"] = true }
        if s.privileged { host["Privileged"] = true }
        if !s.ulimits.isEmpty { host["Ulimits"] = Self.completed(s.ulimits, defaults: defaultUlimits).map { ["Name": $0.name, "Soft": $0.softLimit, "Hard": $0.hardLimit] } }
        if !s.capAdd.isEmpty { host["CapAdd"] = s.capAdd }
        if !s.capDrop.isEmpty { host["CapDrop"] = s.capDrop }
        if s.initProcess { host["Init"] = true }
        if let shm = s.shmSizeMiB { host["ShmSize"] = shm << 20 }
        if !s.tmpfs.isEmpty { host["Tmpfs"] = s.tmpfs }
        if !s.devices.isEmpty {
            host["Devices"] = s.devices.map { ["PathOnHost": $0.hostPath, "PathInContainer": $0.containerPath, "CgroupPermissions": $0.permissions] }
        }
        if let swap = s.memorySwapMiB { host["MemorySwap"] = swap << 20 }
        if let swappiness = s.swappiness { host["MemorySwappiness"] = swappiness }
        if !s.dns.isEmpty { host["Dns"] = s.dns }
        if !s.dnsSearch.isEmpty { host["DnsSearch"] = s.dnsSearch }
        if !s.extraHosts.isEmpty { host["ExtraHosts"] = s.extraHosts }
        if let hostname = s.hostname { config["Hostname"] = hostname }
        if !s.securityOptions.isEmpty { host["SecurityOpt"] = s.securityOptions }
        if !s.sysctls.isEmpty { host["Sysctls"] = s.sysctls }
        if let pid = s.pidMode { host["PidMode"] = pid }
        if let ipc = s.ipcMode { host["IpcMode"] = ipc }
        if s.interactive { config["OpenStdin"] = true; config["AttachStdin"] = false }
        if s.tty { config["Tty"] = true }
        if s.networkDisabled { config["NetworkDisabled"] = true; host["NetworkMode"] = "none"; host["PortBindings"] = [String: Any]() }
        if let driver = s.logDriver { host["LogConfig"] = ["Type": driver, "Config": s.logOptions] }
        if let units = s.cpuLimitUnits { host["NanoCpus"] = units * 1_000_000_000 / 1024 }
    }

    /// Ulimits with nofile and nproc filled in, when the definition does not name them, from the defaults given
    /// or else from the agent's own limits.
    static func completed(_ limits: [Ulimit], defaults: [Ulimit]) -> [Ulimit] {
        var out = limits
        // Linux's resource numbers (glibc does not export RLIMIT_NPROC to Swift).
        for (name, resource) in [("nofile", UInt32(7)), ("nproc", UInt32(6))] where !limits.contains(where: { $0.name == name }) {
            if let given = defaults.first(where: { $0.name == name }) {
                out.append(given)
                continue
            }
            var current = rlimit()
            guard getrlimit(__rlimit_resource_t(resource), &current) == 0 else { continue }
            let cap = UInt64(Int.max)
            out.append(Ulimit(name: name, softLimit: Int(min(UInt64(current.rlim_cur), cap)), hardLimit: Int(min(UInt64(current.rlim_max), cap))))
        }
        return out
    }

    public func image(_ reference: String) async throws -> ImageInfo? {
        let answer = try await call(.GET, "/images/\(Self.escape(reference))/json")
        if answer.status == 404 { return nil }
        try expect(answer, [200], "inspect image \(reference)")
        guard let json = answer.json as? [String: Any], let id = json["Id"] as? String else { return nil }
        return ImageInfo(id: id, repoDigests: json["RepoDigests"] as? [String] ?? [], tags: json["RepoTags"] as? [String] ?? [],
                         created: Self.date(json["Created"]), size: (json["Size"] as? NSNumber)?.int64Value ?? 0)
    }

    /// Pulls through `/images/create`. Docker answers 200 and reports a failure inside its progress stream, so
    /// the stream is read for an `error`; a reference without a tag pulls `latest` (not every tag).
    public func pull(_ reference: String, auth: String?) async throws {
        let (name, tag) = ImageReference.split(reference)
        var query = "/images/create?fromImage=\(Self.escape(name))"
        if let tag { query += "&tag=\(Self.escape(tag))" }
        guard let url = URL(httpURLWithSocketPath: socketPath, uri: "/\(Self.apiVersion)\(query)") else {
            throw RuntimeError.failed("bad image reference \(reference)")
        }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .POST
        request.headers.add(name: "Host", value: "localhost")
        if let auth { request.headers.add(name: "X-Registry-Auth", value: auth) }
        let response = try await client.execute(request, timeout: .minutes(30))
        let body = try await response.body.collect(upTo: 64 << 20)
        let lines = String(buffer: body).split(separator: "\n")
        let failure = lines.compactMap { line -> String? in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return (object["errorDetail"] as? [String: Any])?["message"] as? String ?? object["error"] as? String
        }.last
        if let failure { throw RuntimeError.pullFailed(image: reference, message: failure) }
        guard response.status.code == 200 else {
            let answer = Answer(status: Int(response.status.code), body: body)
            throw RuntimeError.pullFailed(image: reference, message: answer.message.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    public func images() async throws -> [ImageInfo] {
        let answer = try await call(.GET, "/images/json?all=false")
        try expect(answer, [200], "list images")
        return (answer.json as? [[String: Any]] ?? []).compactMap { i in
            guard let id = i["Id"] as? String else { return nil }
            let created = (i["Created"] as? NSNumber).map { Date(timeIntervalSince1970: $0.doubleValue) }
            return ImageInfo(id: id, repoDigests: i["RepoDigests"] as? [String] ?? [], tags: i["RepoTags"] as? [String] ?? [],
                             created: created, size: (i["Size"] as? NSNumber)?.int64Value ?? 0)
        }
    }

    public func removeImage(_ id: String) async throws -> Bool {
        let answer = try await call(.DELETE, "/images/\(Self.escape(id))")
        return [200, 204].contains(answer.status)
    }

    public func imageStorePath() async -> String? {
        guard let answer = try? await call(.GET, "/info"), let json = answer.json as? [String: Any] else { return nil }
        // Docker names its root directory; Podman's compatible /info does too (its graph root).
        return json["DockerRootDir"] as? String
    }

    public func volumeExists(_ name: String) async throws -> Bool {
        let answer = try await call(.GET, "/volumes/\(Self.escape(name))")
        if answer.status == 404 { return false }
        try expect(answer, [200], "inspect volume \(name)")
        return true
    }

    public func createVolume(_ name: String, driver: String, options: [String: String], labels: [String: String]) async throws {
        let answer = try await call(.POST, "/volumes/create", body: ["Name": name, "Driver": driver, "DriverOpts": options, "Labels": labels])
        guard [200, 201].contains(answer.status) else {
            throw RuntimeError.failed("ResourceInitializationError: failed to create volume \(name) (driver \(driver)): \(answer.message)")
        }
    }

    public func removeVolumes(label: String) async throws {
        let filters = "{\"label\":[\"\(label)\"]}".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        let answer = try await call(.GET, "/volumes?filters=\(filters)")
        try expect(answer, [200], "list volumes")
        let volumes = (answer.json as? [String: Any])?["Volumes"] as? [[String: Any]] ?? []
        for name in volumes.compactMap({ $0["Name"] as? String }) {
            _ = try? await call(.DELETE, "/volumes/\(Self.escape(name))")
        }
    }

    static func escape(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text }

    public func start(_ id: String) async throws {
        let answer = try await call(.POST, "/containers/\(id)/start")
        guard [204, 304].contains(answer.status) else { throw RuntimeError.failed("CannotStartContainerError: \(answer.message)") }
    }

    public func stop(_ id: String, timeout: Int) async throws {
        let answer = try await call(.POST, "/containers/\(id)/stop?t=\(timeout)", timeout: .seconds(Int64(timeout) + 30))
        try expect(answer, [204, 304, 404], "stop \(id)")
    }

    public func remove(_ id: String) async throws {
        try expect(try await call(.DELETE, "/containers/\(id)?force=true&v=true"), [200, 204, 404], "remove \(id)")
    }

    public func inspect(_ id: String) async throws -> ContainerStatus? {
        let answer = try await call(.GET, "/containers/\(id)/json")
        if answer.status == 404 { return nil }
        try expect(answer, [200], "inspect \(id)")
        let json = answer.json as? [String: Any] ?? [:]
        let state = json["State"] as? [String: Any] ?? [:]
        let running = state["Running"] as? Bool ?? false
        let status = state["Status"] as? String ?? ""
        let exited = !running && (status == "exited" || status == "stopped" || status == "dead")
        let error = (state["Error"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        return ContainerStatus(running: running, exitCode: exited ? state["ExitCode"] as? Int : nil,
                               startedAt: Self.date(state["StartedAt"]), finishedAt: exited ? Self.date(state["FinishedAt"]) : nil,
                               error: error, imageId: json["Image"] as? String, createdAt: Self.date(json["Created"]),
                               addresses: Self.addresses(json["NetworkSettings"]))
    }

    /// The container's IPv4 addresses, one per network it is on.
    static func addresses(_ settings: Any?) -> [String] {
        let networks = (settings as? [String: Any])?["Networks"] as? [String: [String: Any]] ?? [:]
        return networks.values.compactMap { $0["IPAddress"] as? String }.filter { !$0.isEmpty }.sorted()
    }

    public func statsDocument(_ id: String) async throws -> [String: Any]? {
        let answer = try await call(.GET, "/containers/\(id)/stats?stream=false")
        if answer.status == 404 { return nil }
        try expect(answer, [200], "stats \(id)")
        return answer.json as? [String: Any]
    }

    public func list(label: String) async throws -> [ListedContainer] {
        let filters = "{\"label\":[\"\(label)\"]}".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        let answer = try await call(.GET, "/containers/json?all=true&filters=\(filters)")
        try expect(answer, [200], "list")
        return (answer.json as? [[String: Any]] ?? []).map { c in
            ListedContainer(id: c["Id"] as? String ?? "", name: ((c["Names"] as? [String])?.first ?? "").trimmingCharacters(in: ["/"]),
                            labels: c["Labels"] as? [String: String] ?? [:], running: (c["State"] as? String) == "running")
        }
    }

    public func exec(_ id: String, command: [String], timeout: Duration) async throws -> Int {
        let created = try await call(.POST, "/containers/\(id)/exec", body: ["Cmd": command, "AttachStdout": true, "AttachStderr": true])
        guard let execId = (created.json as? [String: Any])?["Id"] as? String else {
            throw RuntimeError.failed("exec in \(id): \(created.message)")
        }
        let seconds = Int64(timeout.components.seconds) + (timeout.components.attoseconds > 0 ? 1 : 0)
        _ = try await call(.POST, "/exec/\(execId)/start", body: ["Detach": false, "Tty": false], timeout: .seconds(max(1, seconds)))
        let result = try await call(.GET, "/exec/\(execId)/json")
        guard let code = (result.json as? [String: Any])?["ExitCode"] as? Int else { throw RuntimeError.failed("exec gave no exit code") }
        return code
    }

    public func healthCheck(_ id: String, command: [String], timeout: Duration) async throws -> Int {
        guard await isPodman() else { return try await exec(id, command: command, timeout: timeout) }
        let seconds = Int64(timeout.components.seconds) + 5
        let answer = try await call(.GET, "/libpod/containers/\(id)/healthcheck", timeout: .seconds(seconds), api: "v4.0.0")
        try expect(answer, [200], "healthcheck \(id)")
        return ((answer.json as? [String: Any])?["Status"] as? String) == "healthy" ? 0 : 1
    }

    public func logs(_ id: String, since: Int64?) async throws -> [LogLine] {
        let sinceArg = since.map { "&since=\($0 / 1_000_000_000).\(String(format: "%09lld", $0 % 1_000_000_000))" } ?? ""
        let answer = try await call(.GET, "/containers/\(id)/logs?stdout=true&stderr=true&timestamps=true\(sinceArg)")
        if answer.status == 404 { return [] }
        try expect(answer, [200], "logs \(id)")
        return Self.isMultiplexed(answer.body) ? Self.demultiplex(answer.body) : Self.rawLines(answer.body)
    }

    /// A container with a TTY (pseudoTerminal) has one raw stream, without frame headers: each frame header
    /// starts with the stream (0, 1 or 2) and three zero bytes, which a timestamped raw line never does.
    static func isMultiplexed(_ buffer: ByteBuffer) -> Bool {
        guard buffer.readableBytes >= 8, let head = buffer.getBytes(at: buffer.readerIndex, length: 4) else { return true }
        return head[0] <= 2 && head[1] == 0 && head[2] == 0 && head[3] == 0
    }

    /// The lines of a raw (TTY) log stream, all as stdout; a last line without its newline is left for the next read.
    static func rawLines(_ buffer: ByteBuffer) -> [LogLine] {
        let text = String(buffer: buffer).replacingOccurrences(of: "\r\n", with: "\n")
        let pieces = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        return pieces.map { raw in
            let (stamp, message) = Self.splitTimestamp(raw)
            let nanos = stamp.flatMap(Self.nanos)
            return LogLine(stderr: false, timestamp: nanos.map { Date(timeIntervalSince1970: TimeInterval($0) / 1e9) } ?? Date(),
                           message: message.hasSuffix("\r") ? String(message.dropLast()) : message, nanos: nanos)
        }
    }

    /// Splits the Docker log stream (8-byte frame headers: stream, 3 zero bytes, big-endian size) into lines.
    /// A frame without a trailing newline is part of a longer line (Podman splits long writes): it is joined with
    /// the next frame of its stream, and a fragment still open at the end is left for the next read.
    static func demultiplex(_ buffer: ByteBuffer) -> [LogLine] {
        var buffer = buffer
        var lines: [LogLine] = []
        var open: [UInt8: (stamp: String?, text: String)] = [:]
        while buffer.readableBytes >= 8,
              let stream = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
              let size = buffer.getInteger(at: buffer.readerIndex + 4, as: UInt32.self),
              buffer.readableBytes >= 8 + Int(size) {
            buffer.moveReaderIndex(forwardBy: 8)
            let payload = buffer.readString(length: Int(size)) ?? ""
            let complete = payload.hasSuffix("\n")
            let pieces = payload.split(separator: "\n", omittingEmptySubsequences: false).dropLast(complete ? 1 : 0)
            for (i, raw) in pieces.enumerated() {
                var (stamp, message) = Self.splitTimestamp(raw)
                if let fragment = open.removeValue(forKey: stream) {
                    stamp = fragment.stamp
                    message = fragment.text + message
                }
                if i == pieces.count - 1 && !complete {
                    open[stream] = (stamp, message)
                    continue
                }
                let nanos = stamp.flatMap(Self.nanos)
                let date = nanos.map { Date(timeIntervalSince1970: TimeInterval($0) / 1e9) } ?? Date()
                lines.append(LogLine(stderr: stream == 2, timestamp: date, message: message, nanos: nanos))
            }
        }
        return lines
    }

    static func splitTimestamp(_ raw: Substring) -> (String?, String) {
        guard let space = raw.firstIndex(of: " ") else { return (nil, String(raw)) }
        return (String(raw[..<space]), String(raw[raw.index(after: space)...]))
    }

    /// An engine timestamp as nanoseconds since the epoch, exactly.
    static func nanos(_ stamp: String) -> Int64? { UTCTime.parseRFC3339(stamp) }

    public func stats(_ id: String) async throws -> ContainerStats? {
        let answer = try await call(.GET, "/containers/\(id)/stats?stream=false")
        if answer.status == 404 { return nil }
        try expect(answer, [200], "stats \(id)")
        guard let json = answer.json as? [String: Any] else { return nil }
        let cpu = json["cpu_stats"] as? [String: Any] ?? [:]
        let usage = cpu["cpu_usage"] as? [String: Any] ?? [:]
        let memory = json["memory_stats"] as? [String: Any] ?? [:]
        let networks = (json["networks"] as? [String: [String: Any]] ?? [:]).values
        func number(_ value: Any?) -> UInt64? { (value as? NSNumber)?.uint64Value }
        let blkio = (json["blkio_stats"] as? [String: Any])?["io_service_bytes_recursive"] as? [[String: Any]] ?? []
        return ContainerStats(
            cpuNanos: number(usage["total_usage"]) ?? 0, systemNanos: number(cpu["system_cpu_usage"]),
            onlineCPUs: (cpu["online_cpus"] as? Int) ?? ProcessInfo.processInfo.activeProcessorCount,
            memoryBytes: number(memory["usage"]) ?? 0,
            networkRxBytes: networks.isEmpty ? nil : networks.compactMap { number($0["rx_bytes"]) }.reduce(0, +),
            networkTxBytes: networks.isEmpty ? nil : networks.compactMap { number($0["tx_bytes"]) }.reduce(0, +),
            blockReadBytes: blkio.filter { ($0["op"] as? String)?.lowercased() == "read" }.compactMap { number($0["value"]) }.reduce(0, +),
            blockWriteBytes: blkio.filter { ($0["op"] as? String)?.lowercased() == "write" }.compactMap { number($0["value"]) }.reduce(0, +))
    }

    static func date(_ value: Any?) -> Date? {
        (value as? String).flatMap(UTCTime.parseRFC3339).map(UTCTime.date(nanos:))
    }
}
