import Foundation
import Logging
import PostgresNIO

/// One forward-only schema change: `Migrations/0001_name.sql`.
public struct Migration: Sendable, Equatable {
    public var version: Int
    public var name: String
    public var sql: String

    public init(version: Int, name: String, sql: String) { self.version = version; self.name = name; self.sql = sql }

    /// Loads `NNNN_name.sql` files from a directory, ordered by number; rejects duplicates.
    public static func load(from directory: String) throws -> [Migration] {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".sql") }
        var result: [Migration] = []
        for file in files {
            let stem = file.dropLast(4)
            guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]) else {
                throw DatabaseConfigError(message: "migration file '\(file)' must be named NNNN_name.sql")
            }
            let sql = try String(contentsOfFile: "\(directory)/\(file)", encoding: .utf8)
            result.append(Migration(version: version, name: String(stem[stem.index(after: underscore)...]), sql: sql))
        }
        result.sort { $0.version < $1.version }
        for (a, b) in zip(result, result.dropFirst()) where a.version == b.version {
            throw DatabaseConfigError(message: "two migrations share number \(a.version)")
        }
        return result
    }

    /// Finds the Migrations folder: configured (STOWAGE_MIGRATIONS), beside the working directory, or installed.
    public static func defaultDirectory() -> String? { InstalledFolder.find("Migrations", configured: "STOWAGE_MIGRATIONS") }
}

/// Folders that ship beside the binary (migrations, the console's files): one search order for all of them,
/// so a source checkout, `make dev` and an installed copy find the same things.
public enum InstalledFolder {
    /// The folder named by the environment variable, else `name` in the working directory, else installed under
    /// `../share/stowage/` beside the binary, else in the source tree two levels above a `.build` binary.
    public static func find(_ name: String, configured variable: String) -> String? {
        var candidates: [String] = []
        if let configured = ProcessInfo.processInfo.environment[variable] { candidates.append(configured) }
        candidates.append(FileManager.default.currentDirectoryPath + "/" + name)
        // Where the binary really is: argv[0] is a bare name when it was found through PATH.
        let selfPath = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments.first ?? ""
        let executable = URL(fileURLWithPath: selfPath).deletingLastPathComponent()
        candidates.append(executable.appendingPathComponent("../share/stowage/" + name).path)
        candidates.append(executable.appendingPathComponent("../../" + name).path)
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }
}

/// Applies migrations once each, each in its own transaction, serialized across processes by an advisory lock.
public struct Migrator: Sendable {
    /// Arbitrary constant naming the migration lock; every Stowage process uses the same one.
    static let lockKey: Int64 = 0x5354_4f57_4d49_47

    public let database: Database

    public init(database: Database) { self.database = database }

    /// Returns the versions it applied (empty when the schema was current).
    @discardableResult
    public func migrate(_ migrations: [Migration]) async throws -> [Int] {
        let logger = database.logger
        return try await database.withConnection { conn in
            try await conn.query("SELECT pg_advisory_lock(\(Self.lockKey))", logger: logger)
            do {
                try await conn.query("""
                    CREATE TABLE IF NOT EXISTS schema_migrations (
                        version integer PRIMARY KEY,
                        name text NOT NULL,
                        applied_at timestamptz NOT NULL DEFAULT now()
                    )
                    """, logger: logger)
                var applied = Set<Int>()
                for try await version in try await conn.query("SELECT version FROM schema_migrations", logger: logger)
                    .decode(Int.self) { applied.insert(version) }
                var done: [Int] = []
                for migration in migrations where !applied.contains(migration.version) {
                    try await conn.withTransaction(logger: logger) { tx in
                        for statement in SQLScript.statements(migration.sql) {
                            try await tx.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                        }
                        try await tx.query(
                            "INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                            logger: logger)
                    }
                    logger.info("applied migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
                    done.append(migration.version)
                }
                try await conn.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
                return done
            } catch {
                _ = try? await conn.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
                throw error
            }
        }
    }
}
