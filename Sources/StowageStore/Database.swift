import Logging
import PostgresNIO
import Synchronization

/// The connection pool and the one way handlers reach PostgreSQL: a transaction or a single connection.
///
/// Counts leased connections so `/metrics` can report pool usage without reaching into PostgresNIO.
public final class Database: Sendable {
    public let client: PostgresClient
    public let config: DatabaseConfig
    public let logger: Logger
    private let leased = Atomic<Int>(0)

    public init(config: DatabaseConfig, logger: Logger) {
        self.config = config
        self.logger = logger
        self.client = PostgresClient(configuration: config.clientConfiguration(), backgroundLogger: logger)
    }

    /// Runs the pool; returns when the surrounding task is cancelled.
    public func run() async { await client.run() }

    public var connectionsInUse: Int { leased.load(ordering: .relaxed) }
    public var maxConnections: Int { config.maxConnections }

    public func withConnection<R: Sendable>(_ body: (PostgresConnection) async throws -> R) async throws -> R {
        leased.add(1, ordering: .relaxed)
        defer { leased.subtract(1, ordering: .relaxed) }
        return try await client.withConnection { try await body($0) }
    }

    /// Every write goes through here: all of it commits or none of it does. A transaction PostgreSQL chose as
    /// a deadlock victim (40P01) was rolled back whole, so it is run again, up to three times.
    public func transaction<R: Sendable>(_ body: (PostgresConnection) async throws -> R) async throws -> R {
        leased.add(1, ordering: .relaxed)
        defer { leased.subtract(1, ordering: .relaxed) }
        var attempt = 1
        while true {
            do {
                return try await client.withTransaction(logger: logger) { try await body($0) }
            } catch let error as PostgresTransactionError {
                // The handler's own error (a validation failure, say) is what the caller must see; the rollback is done.
                if let closureError = error.closureError, error.rollbackError == nil {
                    if attempt < 3, let psql = closureError as? PSQLError, psql.serverInfo?[.sqlState] == "40P01" {
                        logger.notice("deadlock victim; running the transaction again", metadata: ["attempt": "\(attempt)"])
                        attempt += 1
                        try await Task.sleep(for: .milliseconds(5 * attempt))
                        continue
                    }
                    throw closureError
                }
                throw error
            }
        }
    }

    /// Whether the database answers, for `/healthz`.
    public func ping() async -> Bool {
        do {
            return try await withConnection { conn in
                let rows = try await conn.query("SELECT 1", logger: logger)
                for try await value in rows.decode(Int.self) { return value == 1 }
                return false
            }
        } catch {
            return false
        }
    }
}

extension PostgresConnection {
    /// The first row of a query decoded as `T`, or nil when the query returned no rows.
    public func first<T: PostgresDecodable & Sendable>(_ query: PostgresQuery, as: T.Type, logger: Logger) async throws -> T? {
        for try await value in try await self.query(query, logger: logger).decode(T.self) { return value }
        return nil
    }

    /// Every row's single column decoded as `T`.
    public func column<T: PostgresDecodable & Sendable>(_ query: PostgresQuery, as: T.Type, logger: Logger) async throws -> [T] {
        var out: [T] = []
        for try await value in try await self.query(query, logger: logger).decode(T.self) { out.append(value) }
        return out
    }
}

/// LIKE patterns built from what callers typed: their `%`, `_` and backslashes match themselves.
public enum SQLPattern {
    /// Matches every text that starts with `prefix`.
    public static func prefix(_ prefix: String) -> String {
        prefix.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_") + "%"
    }
}
