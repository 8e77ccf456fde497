import Foundation
import Logging
import PostgresNIO
import StowageStore
import StowageTestSupport
import Testing

@Suite struct SQLScriptTests {
    @Test func splitsOnSemicolonsOutsideQuotesAndComments() {
        let script = """
            -- a comment; with a semicolon
            CREATE TABLE t (a text DEFAULT 'x;y');
            /* block; comment */ INSERT INTO t VALUES ('it''s; fine');
            CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END; $body$ LANGUAGE plpgsql;
            SELECT "odd;name" FROM t
            """
        let statements = SQLScript.statements(script)
        #expect(statements.count == 4)
        #expect(statements[0] == "CREATE TABLE t (a text DEFAULT 'x;y')")
        #expect(statements[1] == "INSERT INTO t VALUES ('it''s; fine')")
        #expect(statements[2].hasSuffix("$body$ LANGUAGE plpgsql"))
        #expect(statements[3] == #"SELECT "odd;name" FROM t"#)
    }

    @Test func dollarSignsInIdentifiersAreNotQuotes() {
        #expect(SQLScript.statements("SELECT $1; SELECT 2").count == 2)
    }
}

@Suite struct MigratorTests {
    func count(_ db: Database, _ sql: String) async throws -> Int {
        try await db.withConnection { try await $0.first(PostgresQuery(unsafeSQL: sql), as: Int.self, logger: db.logger) } ?? -1
    }

    @Test func appliesEachMigrationOnceInOrder() async throws {
        let db = try await TestDatabase.makeEmpty(prefix: "migrate")
        let migrations = [
            Migration(version: 1, name: "one", sql: "CREATE TABLE m1 (a int); INSERT INTO m1 VALUES (1);"),
            Migration(version: 2, name: "two", sql: "INSERT INTO m1 VALUES (2);"),
        ]
        #expect(try await Migrator(database: db).migrate(migrations) == [1, 2])
        #expect(try await Migrator(database: db).migrate(migrations) == [])
        #expect(try await count(db, "SELECT count(*) FROM m1") == 2)
        #expect(try await count(db, "SELECT count(*) FROM schema_migrations") == 2)
    }

    @Test func aFailingMigrationLeavesNothingBehind() async throws {
        let db = try await TestDatabase.makeEmpty(prefix: "migrate_fail")
        let bad = [Migration(version: 1, name: "bad", sql: "CREATE TABLE half (a int); SELECT no_such_column FROM half;")]
        await #expect(throws: (any Error).self) { _ = try await Migrator(database: db).migrate(bad) }
        #expect(try await count(db, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'half'") == 0)
        #expect(try await count(db, "SELECT count(*) FROM schema_migrations") == 0)
    }

    @Test func concurrentMigratorsApplyOnce() async throws {
        let db = try await TestDatabase.makeEmpty(prefix: "migrate_race")
        let migrations = [Migration(version: 1, name: "one", sql: "CREATE TABLE once (a int); INSERT INTO once VALUES (1);")]
        let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<4 { group.addTask { try await Migrator(database: db).migrate(migrations) } }
            var all: [Int] = []
            for try await result in group { all += result }
            return all
        }
        #expect(applied == [1])
        #expect(try await count(db, "SELECT count(*) FROM once") == 1)
    }

    @Test func repositoryMigrationsLoadAndApply() async throws {
        let migrations = try Migration.load(from: TestDatabase.migrationsDirectory)
        #expect(migrations.first?.version == 1)
        #expect(zip(migrations, migrations.dropFirst()).allSatisfy { $0.version < $1.version })
        let db = try await TestDatabase.shared()
        #expect(try await count(db, "SELECT count(*) FROM schema_migrations") == migrations.count)
    }

    @Test func everyTenantTableLeadsItsKeyWithAccountId() async throws {
        let db = try await TestDatabase.shared()
        let rows = try await db.withConnection { conn in
            var result: [(String, String)] = []
            let query: PostgresQuery = """
                SELECT tc.table_name, kcu.column_name
                FROM information_schema.table_constraints tc
                JOIN information_schema.key_column_usage kcu
                  ON tc.constraint_name = kcu.constraint_name AND tc.table_schema = kcu.table_schema
                WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = 'public' AND kcu.ordinal_position = 1
                """
            for try await row in try await conn.query(query, logger: db.logger).decode((String, String).self) { result.append(row) }
            return result
        }
        #expect(!rows.isEmpty)
        // Tables that belong to no tenant: the migration ledger, the periodic-job clock, the control plane's pulse, and
        // the platform-wide allocation of task subnets (an index must not repeat whoever holds it; each row names its
        // account).
        let systemTables: Set<String> = ["schema_migrations", "periodic_jobs", "control_plane_health", "control_plane_endpoints",
                                         "task_subnets"]
        for (table, column) in rows where !systemTables.contains(table) {
            #expect(column == "account_id", "table \(table) leads its primary key with \(column)")
        }
    }
}

@Suite struct DatabaseConfigTests {
    @Test func parsesTCPAndSocketURLs() throws {
        let tcp = try DatabaseConfig(url: "postgres://u:p@db.example:6543/app?pool=4")
        #expect(tcp.host == "db.example" && tcp.port == 6543 && tcp.user == "u" && tcp.password == "p")
        #expect(tcp.database == "app" && tcp.maxConnections == 4)
        let socket = try DatabaseConfig(url: "postgres://postgres@/stowage?host=/tmp/pg&port=5433")
        #expect(socket.socketDirectory == "/tmp/pg" && socket.database == "stowage" && socket.user == "postgres")
        #expect(socket.port == 5433)
        #expect(try DatabaseConfig(url: socket.url) == socket)
        #expect(throws: (any Error).self) { try DatabaseConfig(url: "mysql://x/y") }
    }

    @Test func takesLibpqSSLModesAndRefusesWhatItDoesNotUnderstand() throws {
        #expect(try DatabaseConfig(url: "postgres://u@db:5432/app").sslMode == .prefer, "libpq's default")
        let full = try DatabaseConfig(url: "postgres://u@db:5432/app?sslmode=verify-full&sslrootcert=/etc/ssl/rds.pem")
        #expect(full.sslMode == .verifyFull && full.sslRootCert == "/etc/ssl/rds.pem")
        #expect(try DatabaseConfig(url: full.url) == full, "the URL round-trips")
        #expect(throws: DatabaseConfigError.self) { try DatabaseConfig(url: "postgres://u@db/app?sslmode=sometimes") }
        #expect(throws: DatabaseConfigError.self) { try DatabaseConfig(url: "postgres://u@db/app?sslcrl=/x") }
        #expect(throws: DatabaseConfigError.self) { try DatabaseConfig(url: "postgres://u@db/app?sslcert=/x") }
        #expect(throws: DatabaseConfigError.self) { try DatabaseConfig(url: "postgres://u@/app?host=/tmp/pg&sslmode=require") }
        // A root certificate that is not there fails when the pool is made, not at the first query.
        let missing = try DatabaseConfig(url: "postgres://u@db/app?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem")
        #expect(throws: (any Error).self) { try Database(config: missing, logger: Logger(label: "test")) }
    }
}

/// What counts as the database failing rather than the statement: the API answers those 503 (retry), not 500.
@Suite struct DatabaseUnavailableTests {
    @Test func insufficientResourcesAreUnavailableAndAStatementsOwnErrorsAreNot() async throws {
        let db = try await TestDatabase.makeEmpty(prefix: "unavailable")
        func failure(_ sqlState: String) async -> (any Error)? {
            do {
                try await db.withConnection { conn in
                    for try await _ in try await conn.query(PostgresQuery(unsafeSQL: "DO $$ BEGIN RAISE EXCEPTION 'raised' USING ERRCODE = '\(sqlState)'; END $$"),
                                                            logger: db.logger) {}
                }
                return nil
            } catch { return error }
        }
        // Too many connections (53300), as when every pool reconnects after a restart: the control plane's fault, 503.
        let tooMany = await failure("53300")
        #expect(tooMany.map(DatabaseUnavailable.matches) == true, "\(tooMany.map { String(reflecting: $0) } ?? "no error")")
        // A statement timeout (57014) may be the statement's own cost: Bulk splits such a batch, so it is not counted.
        let timeout = await failure("57014")
        #expect(timeout.map(DatabaseUnavailable.matches) == false)
        // A statement that is wrong (42P01, no such table) is not either.
        let wrong = await failure("42P01")
        #expect(wrong.map(DatabaseUnavailable.matches) == false)
    }
}
