import Foundation

/// A program that could not be run or did not succeed, with what it printed.
public struct ShellError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
    public init(message: String) { self.message = message }
}

/// Runs external programs (PostgreSQL's tools, HAProxy) with posix_spawn and waitpid,
/// which behave the same whether or not the program leaves a daemon behind.
public enum Shell {
    public static func run(_ args: [String]) throws { _ = try output(args) }

    /// Runs a command and returns its trimmed output (stdout and stderr together).
    @discardableResult
    public static func output(_ args: [String]) throws -> String {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw ShellError(message: "pipe failed") }
        let (status, text) = try spawn(args, stdoutFD: fds[1], readFrom: fds[0])
        guard status == 0 else {
            throw ShellError(message: "\(args.joined(separator: " ")) failed (\(status)): \(text)")
        }
        return text
    }

    /// For commands that leave a daemon behind: a daemon would hold a captured pipe open forever.
    public static func runDetached(_ args: [String]) throws {
        let null = open("/dev/null", O_WRONLY)
        let (status, _) = try spawn(args, stdoutFD: null, readFrom: nil)
        guard status == 0 else {
            throw ShellError(message: "\(args.joined(separator: " ")) failed (\(status)); see server.log in the data directory")
        }
    }

    /// For a daemon's own command line whose words matter when it fails: output goes to a file (a daemon may keep
    /// the descriptor, so never a pipe), read back once the command returns. Returns the exit status and the output.
    /// `environment` (`NAME=value` entries) replaces this process's environment when given.
    public static func runLogged(_ args: [String], log path: String, environment: [String]? = nil) throws -> (status: Int32, output: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw ShellError(message: "cannot write \(path): errno \(errno)") }
        let (status, _) = try spawn(args, stdoutFD: fd, readFrom: nil, environment: environment)
        let output = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return (status, output.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    private static func spawn(_ args: [String], stdoutFD: Int32, readFrom: Int32?, environment: [String]? = nil) throws -> (Int32, String) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdoutFD, 1)
        posix_spawn_file_actions_adddup2(&actions, stdoutFD, 2)
        if let readFrom { posix_spawn_file_actions_addclose(&actions, readFrom) }
        let argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envp: [UnsafeMutablePointer<CChar>?]? = environment.map { $0.map { strdup($0) } + [nil] }
        defer { envp?.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = envp.map { envp in envp.withUnsafeBufferPointer { posix_spawnp(&pid, args[0], &actions, nil, argv, $0.baseAddress) } }
            ?? posix_spawnp(&pid, args[0], &actions, nil, argv, environ)
        close(stdoutFD)
        guard spawned == 0 else {
            if let readFrom { close(readFrom) }
            throw ShellError(message: "cannot run \(args[0]): \(String(cString: strerror(spawned)))")
        }
        var output = [UInt8]()
        if let readFrom {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = read(readFrom, &buffer, buffer.count)
                if n <= 0 { break }
                output += buffer[0..<n]
            }
            close(readFrom)
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exit, String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
