import Foundation
import Logging
import StowageShell

/// One HAProxy, driven the way its manual says: a configuration file checked with `-c` before use, seamless
/// reloads (`-x` hands the listening sockets to the new process, `-sf` lets the old one finish its connections),
/// and the runtime API on an admin socket for everything that needs no reload.
///
/// HAProxy runs detached with a pid file: if `stowage lb` stops or crashes, traffic keeps flowing, and the
/// next `stowage lb` adopts the running process (its servers, their health) instead of starting over.
public struct HAProxyProcess: Sendable {
    public let executable: String
    public let directory: String
    let logger: Logger

    public init(executable: String, directory: String, logger: Logger) {
        self.executable = executable
        self.directory = directory
        self.logger = logger
    }

    public var configPath: String { directory + "/haproxy.cfg" }
    public var socketPath: String { directory + "/admin.sock" }
    var pidPath: String { directory + "/haproxy.pid" }

    /// The pids of the running HAProxy processes (after a reload, old ones finishing their connections too).
    public func pids() -> [Int32] {
        guard let text = try? String(contentsOfFile: pidPath, encoding: .utf8) else { return [] }
        return text.split(whereSeparator: \.isWhitespace).compactMap { Int32($0) }.filter { kill($0, 0) == 0 }
    }

    public var running: Bool { !pids().isEmpty && FileManager.default.fileExists(atPath: socketPath) }

    /// Checks a configuration with `haproxy -c`; throws HAProxy's own words when it refuses it (not `-q`, which
    /// silences the alerts that say why, and those become the failed load balancer's reason).
    public func check(_ config: String) throws {
        let candidate = directory + "/haproxy.cfg.new"
        try writePrivate(config, to: candidate)
        let (status, output) = try run([executable, "-c", "-f", candidate])
        guard status == 0 else { throw HAProxyError(message: "haproxy refused the configuration: \(output)") }
    }

    /// Writes the candidate 0600 from its first byte (it becomes haproxy.cfg by a rename): the configuration names
    /// every tenant's load balancers, rules and targets, and nobody but this user needs to read it.
    func writePrivate(_ text: String, to path: String) throws {
        unlink(path)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw HAProxyError(message: "cannot write \(path): errno \(errno)") }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
            throw HAProxyError(message: "cannot write \(path): errno \(errno)")
        }
    }

    /// Starts HAProxy on a checked configuration, or reloads the running one onto it without dropping connections.
    public func apply(_ config: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try check(config)
        guard rename(directory + "/haproxy.cfg.new", configPath) == 0 else { throw HAProxyError(message: "cannot install \(configPath)") }
        var args = [executable, "-D", "-f", configPath, "-p", pidPath]
        let old = pids()
        if !old.isEmpty {
            if FileManager.default.fileExists(atPath: socketPath) { args += ["-x", socketPath] }
            args += ["-sf"] + old.map(String.init)
        }
        let (status, output) = try run(args)
        guard status == 0 else { throw HAProxyError(message: "haproxy did not start: \(output)") }
        logger.info(old.isEmpty ? "haproxy started" : "haproxy reloaded", metadata: ["pids": "\(pids())"])
    }

    /// Stops every HAProxy process of this directory (tests and `--stop-on-exit`).
    public func stop() {
        for pid in pids() { kill(pid, SIGTERM) }
    }

    /// Sends runtime API commands, one connection each, and returns the answers. Throws when the socket is gone.
    public func command(_ line: String) throws -> String {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HAProxyError(message: "socket: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array(socketPath.utf8)
        guard path.count < MemoryLayout.size(ofValue: address.sun_path) else { throw HAProxyError(message: "socket path too long: \(socketPath)") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path)
            raw[path.count] = 0
        }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw HAProxyError(message: "cannot reach haproxy's admin socket \(socketPath): errno \(errno)") }
        let bytes = Array((line + "\n").utf8)
        guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else { throw HAProxyError(message: "write failed") }
        var out = Data()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            out.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// HAProxy runs with an empty environment: its configuration expands `"${NAME}"` from the environment, and
    /// this process's holds the database URL and the server key. It needs nothing from it.
    func run(_ args: [String]) throws -> (Int32, String) {
        let (status, output) = try Shell.runLogged(args, log: directory + "/haproxy-command.log", environment: [])
        return (status, output)
    }
}

public struct HAProxyError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
