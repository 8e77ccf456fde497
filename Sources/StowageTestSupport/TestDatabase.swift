import Foundation
import Logging
import PostgresNIO
import StowageStore

/// A real PostgreSQL database for tests: one fresh database per test process, migrated once.
///
/// `make test` starts a throwaway server and sets STOWAGE_TEST_DATABASE_URL; without it the tests fail
/// rather than skip, because a skipped test proves nothing.
public enum TestDatabase {
    public struct MissingConfiguration: Error, CustomStringConvertible {
        public var description: String {
            "STOWAGE_TEST_DATABASE_URL is not set: run the tests with `make test`, which starts a PostgreSQL for them."
        }
    }

    private static let state = SharedDatabase()

    /// The migrated test database, created on first use.
    public static func shared() async throws -> Database { try await state.get() }

    /// The repository's Migrations folder, found from this source file.
    public static var migrationsDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Migrations").path
    }

    public static func config() throws -> DatabaseConfig {
        guard let url = ProcessInfo.processInfo.environment["STOWAGE_TEST_DATABASE_URL"] else { throw MissingConfiguration() }
        return try DatabaseConfig(url: url)
    }

    /// A new empty database on the test server, for tests of migrations themselves.
    public static func makeEmpty(prefix: String) async throws -> Database {
        let base = try config()
        let name = "\(prefix)_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
        let admin = try Database(config: base.with(database: "postgres"), logger: logger)
        _ = try await running(admin) { db in
            try await db.withConnection { conn in
                try await conn.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
            }
        }
        let database = try Database(config: base.with(database: name), logger: logger)
        Task { await database.run() }
        return database
    }

    /// A new database with every migration applied, for tests that need the whole queue to themselves.
    public static func fresh(prefix: String) async throws -> Database {
        let db = try await makeEmpty(prefix: prefix)
        try await Migrator(database: db).migrate(try Migration.load(from: migrationsDirectory))
        return db
    }

    static var logger: Logger {
        var logger = Logger(label: "stowage.test")
        logger.logLevel = .warning
        return logger
    }

    /// Runs the pool around `body` and shuts it down afterwards.
    static func running<R: Sendable>(_ db: Database, _ body: @Sendable (Database) async throws -> R) async throws -> R {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await db.run() }
            defer { group.cancelAll() }
            return try await body(db)
        }
    }
}

private actor SharedDatabase {
    var database: Database?

    func get() async throws -> Database {
        if let database { return database }
        let db = try await TestDatabase.makeEmpty(prefix: "stowage_test")
        try await Migrator(database: db).migrate(try Migration.load(from: TestDatabase.migrationsDirectory))
        database = db
        return db
    }
}
