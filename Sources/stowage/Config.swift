import ArgumentParser
import Foundation
import Logging
import StowageIAM
import StowageModel
import StowageStore

/// Options every command that reaches the database shares; each falls back to an environment variable.
struct DatabaseOptions: ParsableArguments {
    @Option(help: "PostgreSQL URL (env STOWAGE_DATABASE_URL), e.g. postgres://user:pass@host:5432/stowage or postgres://user@/db?host=/socket/dir")
    var databaseURL: String?

    /// The URL given, else `make dev`'s private PostgreSQL in the state directory when there is one.
    func config() throws -> DatabaseConfig {
        var config: DatabaseConfig
        if let url = databaseURL ?? ProcessInfo.processInfo.environment["STOWAGE_DATABASE_URL"] {
            config = try DatabaseConfig(url: url)
        } else if let local = Environment.devInstallation {
            config = LocalPostgres(directory: local + "/pg", port: 5432).config
        } else {
            throw ValidationError("Give --database-url or set STOWAGE_DATABASE_URL (or run from the folder where `make dev` keeps .stowage).")
        }
        if let seconds = ProcessInfo.processInfo.environment["STOWAGE_DB_ACQUIRE_TIMEOUT"].flatMap(Double.init), seconds > 0 {
            config.acquireTimeout = .milliseconds(Int64(seconds * 1000))
        }
        return config
    }
}

/// Settings that shape ARNs and secrets, from the environment so every process of a deployment agrees.
struct Environment {
    static var values: [String: String] { ProcessInfo.processInfo.environment }

    static var scope: ARNScope {
        ARNScope(partition: values["STOWAGE_PARTITION"] ?? "aws", region: values["STOWAGE_REGION"] ?? "us-east-1")
    }

    /// `make dev`'s state directory (STOWAGE_DIR, default ./.stowage) when it holds a database: admin commands
    /// run there need no flags, since they read the same database and server key that `make dev` made.
    static var devInstallation: String? {
        let dir = absolute(values["STOWAGE_DIR"] ?? ".stowage")
        return FileManager.default.fileExists(atPath: dir + "/pg/PG_VERSION") ? dir : nil
    }

    /// The server key: STOWAGE_SERVER_KEY, else the file STOWAGE_SERVER_KEY_FILE names, else `make dev`'s.
    /// Earlier server keys (STOWAGE_PREVIOUS_SERVER_KEYS, comma-separated) still accepted while `rotate-key` runs.
    static func sealer(keyFile: String? = nil) throws -> SecretSealer {
        let previous = (values["STOWAGE_PREVIOUS_SERVER_KEYS"] ?? "").split(separator: ",").map(String.init).filter { !$0.isEmpty }
        if let key = values["STOWAGE_SERVER_KEY"] { return try SecretSealer(base64Key: key, previous: previous) }
        if let path = values["STOWAGE_SERVER_KEY_FILE"] ?? keyFile ?? devInstallation.map({ $0 + "/server.key" }),
           let text = try? String(contentsOfFile: path, encoding: .utf8) { return try SecretSealer(base64Key: text, previous: previous) }
        throw ValidationError("Set STOWAGE_SERVER_KEY (base64 of 32 bytes; `openssl rand -base64 32`) or STOWAGE_SERVER_KEY_FILE.")
    }

    static var maxBodyBytes: Int { values["STOWAGE_MAX_BODY_BYTES"].flatMap(Int.init) ?? (1 << 20) }

    /// Connections of the agent protocol's pool, apart from the tenants' pool (whose size is the URL's `pool`).
    static var agentPoolSize: Int { values["STOWAGE_AGENT_POOL"].flatMap(Int.init).map { max(1, $0) } ?? 12 }

    /// The addresses load balancers get (STOWAGE_LB_ADDRESSES: addresses and CIDR blocks); the same on every server.
    static func loadBalancerAddresses() throws -> [String] {
        guard let text = values["STOWAGE_LB_ADDRESSES"] else { return ELB.defaultAddresses }
        do { return try ELB.addressPool(text) } catch { throw ValidationError("STOWAGE_LB_ADDRESSES: \(error.message)") }
    }

    static func logger(_ label: String) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = values["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        return logger
    }
}

/// Runs a body with a database pool that is up for exactly as long as the body runs.
func withDatabase<R: Sendable>(_ config: DatabaseConfig, _ body: @Sendable (Database) async throws -> R) async throws -> R {
    // Short-lived commands lease before the pool's run loop is scheduled; PostgresNIO warns about that
    // harmless race, so their pool logs errors only (failures still surface as thrown errors).
    var logger = Environment.logger("stowage.db")
    logger.logLevel = .error
    let database = try Database(config: config, logger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await database.run() }
        defer { group.cancelAll() }
        return try await body(database)
    }
}

func migrations() throws -> [Migration] {
    guard let directory = Migration.defaultDirectory() else {
        throw ValidationError("Migrations folder not found: run from the repository or set STOWAGE_MIGRATIONS.")
    }
    return try Migration.load(from: directory)
}
