import Foundation
import PostgresNIO

/// Where the database is, parsed from a libpq-style URL so one string configures every process.
///
/// Accepts `postgres://user:pass@host:port/db` and the unix-socket form
/// `postgres://user@/db?host=/socket/dir&port=5433` (libpq's convention).
public struct DatabaseConfig: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var socketDirectory: String?
    public var user: String
    public var password: String?
    public var database: String
    public var maxConnections: Int
    /// Longest wait for a pooled connection before a request fails with 503 instead of hanging
    /// (`?acquire_timeout=` seconds in the URL, or STOWAGE_DB_ACQUIRE_TIMEOUT).
    public var acquireTimeout: Duration = .seconds(3)
    /// Names the pool in metrics (`pool` dimension): a process may run several (the API's and the agents').
    public var poolName = "main"

    public init(host: String = "127.0.0.1", port: Int = 5432, socketDirectory: String? = nil, user: String,
                password: String? = nil, database: String, maxConnections: Int = 16) {
        self.host = host; self.port = port; self.socketDirectory = socketDirectory; self.user = user
        self.password = password; self.database = database; self.maxConnections = maxConnections
    }

    public init(url: String) throws {
        guard let components = URLComponents(string: url),
              components.scheme == "postgres" || components.scheme == "postgresql" else {
            throw DatabaseConfigError(message: "database URL must look like postgres://user:password@host:port/database")
        }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        host = components.host.flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1"
        port = components.port ?? query["port"].flatMap(Int.init) ?? 5432
        socketDirectory = query["host"].flatMap { $0.hasPrefix("/") ? $0 : nil }
        user = components.user ?? query["user"] ?? "postgres"
        password = components.password
        let path = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        database = path.isEmpty ? "stowage" : path
        maxConnections = query["pool"].flatMap(Int.init) ?? 16
        if let seconds = query["acquire_timeout"].flatMap(Double.init), seconds > 0 {
            acquireTimeout = .milliseconds(Int64(seconds * 1000))
        }
    }

    /// The same server, another database: used to create and drop test databases.
    public func with(database: String) -> DatabaseConfig {
        var copy = self
        copy.database = database
        return copy
    }

    public var url: String {
        let auth = password.map { "\(user):\($0)" } ?? user
        if let socketDirectory { return "postgres://\(auth)@/\(database)?host=\(socketDirectory)&port=\(port)" }
        return "postgres://\(auth)@\(host):\(port)/\(database)"
    }

    func clientConfiguration() -> PostgresClient.Configuration {
        var config: PostgresClient.Configuration
        if let socketDirectory {
            config = .init(unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: user, password: password,
                           database: database)
        } else {
            config = .init(host: host, port: port, username: user, password: password, database: database, tls: .disable)
        }
        config.options.maximumConnections = maxConnections
        config.options.minimumConnections = 0
        // A database that does not answer is found out within the acquire timeout, not after a TCP timeout.
        config.options.connectTimeout = acquireTimeout
        return config
    }
}

public struct DatabaseConfigError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
