import Foundation
import NIOSSL
import PostgresNIO
import StowageTLS

/// Where the database is, parsed from a libpq-style URL so one string configures every process.
///
/// Accepts `postgres://user:pass@host:port/db` and the unix-socket form
/// `postgres://user@/db?host=/socket/dir&port=5433` (libpq's convention), with libpq's `sslmode`, `sslrootcert`,
/// `sslcert` and `sslkey` for a managed PostgreSQL reached over a network.
public struct DatabaseConfig: Sendable, Equatable {
    /// libpq's `sslmode`: what a TCP connection insists on. `require` with a root certificate verifies the chain
    /// (as libpq does); `verify-full` also checks the server's name (or IP address) against its certificate.
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

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
    /// Connections one account's requests may hold at once (`?account_share=` in the URL); by default half the
    /// pool, at least 2, so one tenant's burst cannot take every connection from the others.
    public var accountShare: Int?
    public var effectiveAccountShare: Int { max(1, accountShare ?? max(2, maxConnections / 2)) }
    /// libpq's default is `prefer`: TLS when the server offers it.
    public var sslMode = SSLMode.prefer
    public var sslRootCert: String?
    public var sslCert: String?
    public var sslKey: String?

    /// The URL's query parameters this understands; any other is refused rather than ignored.
    static let parameters: Set<String> = ["host", "port", "user", "pool", "account_share", "acquire_timeout", "sslmode", "sslrootcert", "sslcert", "sslkey"]

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
        accountShare = query["account_share"].flatMap(Int.init).flatMap { $0 > 0 ? $0 : nil }
        if let seconds = query["acquire_timeout"].flatMap(Double.init), seconds > 0 {
            acquireTimeout = .milliseconds(Int64(seconds * 1000))
        }
        if let unknown = query.keys.sorted().first(where: { !Self.parameters.contains($0) }) {
            throw DatabaseConfigError(message: "database URL parameter '\(unknown)' is not supported (supported: \(Self.parameters.sorted().joined(separator: ", ")))")
        }
        if let mode = query["sslmode"] {
            guard let parsed = SSLMode(rawValue: mode) else {
                throw DatabaseConfigError(message: "sslmode '\(mode)' is not one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            sslMode = parsed
        }
        sslRootCert = query["sslrootcert"].flatMap { $0.isEmpty ? nil : $0 }
        sslCert = query["sslcert"].flatMap { $0.isEmpty ? nil : $0 }
        sslKey = query["sslkey"].flatMap { $0.isEmpty ? nil : $0 }
        if (sslCert == nil) != (sslKey == nil) {
            throw DatabaseConfigError(message: "sslcert and sslkey go together: a client certificate needs its key")
        }
        if socketDirectory != nil, query["sslmode"] != nil, ![.disable, .allow, .prefer].contains(sslMode) {
            throw DatabaseConfigError(message: "sslmode=\(sslMode.rawValue) needs a TCP host: a unix socket (host=\(socketDirectory ?? "")) carries no TLS")
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
        var query = sslMode == .prefer ? [] : ["sslmode=\(sslMode.rawValue)"]
        if let sslRootCert { query.append("sslrootcert=\(sslRootCert)") }
        if let sslCert, let sslKey { query.append(contentsOf: ["sslcert=\(sslCert)", "sslkey=\(sslKey)"]) }
        return "postgres://\(auth)@\(host):\(port)/\(database)" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
    }

    /// The TLS a TCP connection uses, per libpq's `sslmode` semantics.
    func tls() throws -> PostgresClient.Configuration.TLS {
        var tls = try ClientTLS.configuration(caBundle: sslRootCert)
        if let sslCert, let sslKey {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(sslCert).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: sslKey, format: .pem))
        }
        switch sslMode {
        case .disable: return .disable
        case .allow, .prefer:
            tls.certificateVerification = .none
            return .prefer(tls)
        case .require:
            tls.certificateVerification = sslRootCert == nil ? .none : .noHostnameVerification
            return .require(tls)
        case .verifyCA:
            tls.certificateVerification = .noHostnameVerification
            return .require(tls)
        case .verifyFull:
            tls.certificateVerification = .fullVerification
            return .require(tls)
        }
    }

    func clientConfiguration() throws -> PostgresClient.Configuration {
        var config: PostgresClient.Configuration
        if let socketDirectory {
            config = .init(unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: user, password: password,
                           database: database)
        } else {
            config = .init(host: host, port: port, username: user, password: password, database: database, tls: try tls())
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
