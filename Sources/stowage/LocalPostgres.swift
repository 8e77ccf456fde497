import Foundation
import StowageStore
import StowageShell

/// A private PostgreSQL in a directory of ours, on a unix socket only: for `stowage dev` and `make test`.
///
/// `initdb` refuses to run as root, so as root the server runs as the `postgres` user, who owns the directory.
struct LocalPostgres {
    let directory: String
    let port: Int
    /// fsync off: faster, but a crash of the machine can lose acknowledged writes. Only when asked (throwaway
    /// test databases, or `stowage dev --unsafe-fast-database`).
    var unsafeFast = false
    /// A TCP address to listen on besides the socket (tests of TLS to the database).
    var listen: String?
    /// Certificate and key files for TLS on the TCP listener; copied into the data directory for the server's user.
    var tls: (certificate: String, key: String)?

    var config: DatabaseConfig {
        DatabaseConfig(port: port, socketDirectory: directory, user: "postgres", database: "stowage")
    }

    static func binDirectory() throws -> String {
        let fm = FileManager.default
        if let configured = ProcessInfo.processInfo.environment["PG_BINDIR"] { return configured }
        if let out = try? Shell.output(["pg_config", "--bindir"]), fm.fileExists(atPath: out + "/initdb") { return out }
        let root = "/usr/lib/postgresql"
        let versions = ((try? fm.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        if let newest = versions.last, fm.fileExists(atPath: "\(root)/\(newest)/bin/initdb") { return "\(root)/\(newest)/bin" }
        throw ShellError(message: "PostgreSQL server binaries not found: install postgresql (apt-get install postgresql) or set PG_BINDIR")
    }

    private var asRoot: Bool { getuid() == 0 }

    /// Runs a PostgreSQL tool as the user that owns the data.
    private func pg(_ tool: String, _ args: [String], detached: Bool = false) throws {
        let bin = try Self.binDirectory()
        let command = [bin + "/" + tool] + args
        let full = asRoot ? ["runuser", "-u", "postgres", "--"] + command : command
        if detached { try Shell.runDetached(full) } else { try Shell.run(full) }
    }

    func start() throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if asRoot {
            try Shell.run(["chown", "-R", "postgres:postgres", directory])
            try Shell.run(["chmod", "o+x", URL(fileURLWithPath: directory).deletingLastPathComponent().path])
        }
        if !fm.fileExists(atPath: directory + "/PG_VERSION") {
            try pg("initdb", ["-D", directory, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-instructions"])
        }
        if fm.fileExists(atPath: directory + "/postmaster.pid") {
            // Left by a crash: pg_ctl status says whether a server really owns it.
            if (try? pg("pg_ctl", ["-D", directory, "status"])) != nil { return }
        }
        var options = "-k \(directory) -c listen_addresses='\(listen ?? "")' -p \(port) -c max_connections=200\(unsafeFast ? " -c fsync=off" : "")"
        if let tls {
            // PostgreSQL refuses a key readable by others, and reads both as its own user.
            for (source, name, mode) in [(tls.certificate, "server.crt", "0644"), (tls.key, "server.key", "0600")] {
                try Shell.run(["install", "-m", mode] + (asRoot ? ["-o", "postgres", "-g", "postgres"] : []) + [source, "\(directory)/\(name)"])
            }
            options += " -c ssl=on -c ssl_cert_file=\(directory)/server.crt -c ssl_key_file=\(directory)/server.key"
        }
        try pg("pg_ctl", [
            "-D", directory, "-l", directory + "/server.log", "-w", "-t", "60", "-o", options, "start",
        ], detached: true)
    }

    func stop() {
        _ = try? pg("pg_ctl", ["-D", directory, "-m", "fast", "-w", "stop"])
    }

    /// Creates the named database when it is missing.
    func ensureDatabase(_ name: String) throws {
        let bin = try Self.binDirectory()
        let exists = try Shell.output([bin + "/psql", "-h", directory, "-p", String(port), "-U", "postgres", "-d", "postgres",
                                       "-tAc", "SELECT 1 FROM pg_database WHERE datname = '\(name)'"])  // layering: bootstrap through psql
        if exists != "1" {
            try Shell.run([bin + "/createdb", "-h", directory, "-p", String(port), "-U", "postgres", name])
        }
    }
}

