import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import StowageAPI
import StowageAgent
import StowageIAM
import StowageModel
import StowageOrchestrator
import StowageStore
import StowageTLS
import StowageUseCases
import HummingbirdTLS

@main
struct Stowage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stowage",
        abstract: "A self-hosted container orchestrator that speaks the Amazon ECS API.",
        subcommands: [Server.self, WorkerCommand.self, AgentCommand.self, LBCommand.self, Migrate.self, Dev.self, Jobs.self, Admin.self, Postgres.self, Routes.self, Members.self])

    /// Logging (JSON lines unless STOWAGE_LOG_FORMAT=text) and metrics, before anything logs or makes a metric.
    static func bootstrapObservability() {
        MetricsExport.bootstrap()
        if ProcessInfo.processInfo.environment["STOWAGE_LOG_FORMAT"] == "text" {
            LoggingSystem.bootstrap(StreamLogHandler.standardError)
        } else {
            LoggingSystem.bootstrap { JSONLogHandler(label: $0) }
        }
    }
}

/// Where the API listens: HTTPS with a certificate reloaded from its files, plain HTTP (loopback unless an
/// operator allows more), or both at once (HTTPS for the network, plain HTTP for scripts on this machine).
struct Listeners {
    struct Plain { var host: String; var port: Int }
    struct Secure { var host: String; var port: Int; var tls: ServerTLS }
    var secure: Secure?
    var plain: Plain?

    /// Every address and port served.
    var all: [(host: String, port: Int)] {
        (secure.map { [($0.host, $0.port)] } ?? []) + (plain.map { [($0.host, $0.port)] } ?? [])
    }

    /// The endpoint printed for users: HTTPS when served.
    var endpoints: [String] {
        (secure.map { ["https://\(display($0.host)):\($0.port)"] } ?? []) + (plain.map { ["http://\(display($0.host)):\($0.port)"] } ?? [])
    }

    private func display(_ host: String) -> String {
        if host == "0.0.0.0" || host == "::" { return "127.0.0.1" }
        return host.contains(":") ? "[\(host)]" : host
    }
}

/// Builds the HTTP application around a database: shared by `server` and `dev`.
func makeApplication(database: Database, sealer: SecretSealer, listeners: Listeners, extraServices: [any Service] = [],
                     outbound: OutboundPolicy = OutboundPolicy(), metricsToken: String? = nil, targetPolicy: TargetPolicy? = nil,
                     beforeStart: @escaping @Sendable () async throws -> Void) throws -> any ApplicationProtocol {
    let tenancy = Tenancy(database: database, sealer: sealer, scope: Environment.scope)
    var agentConfig = database.config
    agentConfig.maxConnections = Environment.agentPoolSize
    agentConfig.poolName = "agent"
    // Agents are patient (their polls wait anyway): under a fleet-wide burst they queue longer before a 503.
    agentConfig.acquireTimeout = max(agentConfig.acquireTimeout, .seconds(10))
    let agentDatabase = try Database(config: agentConfig, logger: Environment.logger("stowage.db.agents"))
    var backend = Backend(database: database, agentDatabase: agentDatabase, tenancy: tenancy, maxBodyBytes: Environment.maxBodyBytes)
    backend.loadBalancerAddresses = try Environment.loadBalancerAddresses()
    backend.outbound = outbound
    backend.metricsToken = metricsToken
    backend.targetPolicy = targetPolicy ?? TargetPolicy(controlPlane: ControlPlaneEndpoints.of(database: database.config, listening: listeners.all))
    let notifier = InstanceNotifier(database: database, logger: Environment.logger("stowage.notifier"))
    backend.notifier = notifier
    let console = ConsoleAssets.installed()
    if console.folder == nil { Environment.logger("stowage.server").warning("console files not found: /console answers 404 (set STOWAGE_CONSOLE)") }
    let logger = Environment.logger("stowage.server")
    var services: [any Service] = [database.client, agentDatabase.client, notifier, backend.audit, PolicyInvalidator(backend: backend),
                                   ControlPlanePulse(database: database, logger: Environment.logger("stowage.pulse")),
                                   EndpointAnnouncer(database: database, endpoints: backend.targetPolicy.controlPlane.filter { $0.what == ControlPlaneEndpoints.api },
                                                     logger: Environment.logger("stowage.server"))] + extraServices
    guard let secure = listeners.secure else {
        guard let plain = listeners.plain else { throw ValidationError("no listener: give a port") }
        var app = Application(router: APIRouter.build(backend: backend, console: console), configuration: .init(address: .hostname(plain.host, port: plain.port), serverName: "stowage"),
                              services: services, logger: logger)
        app.beforeServerStarts(perform: beforeStart)
        return app
    }
    services.append(secure.tls.reloader)
    if let plain = listeners.plain {
        services.append(Application(router: APIRouter.build(backend: backend, console: console), configuration: .init(address: .hostname(plain.host, port: plain.port), serverName: "stowage"),
                                    logger: logger))
    }
    var app = Application(router: APIRouter.build(backend: backend, secureTransport: true, console: console), server: try .tls(.http1(), tlsConfiguration: secure.tls.configuration),
                          configuration: .init(address: .hostname(secure.host, port: secure.port), serverName: "stowage"),
                          services: services, logger: logger)
    app.beforeServerStarts(perform: beforeStart)
    return app
}

/// The listener options `server` takes.
struct ListenerOptions: ParsableArguments {
    @Option(help: "Address to listen on (default: 0.0.0.0 with TLS, 127.0.0.1 without).") var host: String?
    @Option(help: "Port to listen on.") var port = 8080
    @Option(help: "PEM certificate (chain) for HTTPS on --host/--port; re-read when the file changes.") var tlsCert: String?
    @Option(help: "PEM private key of --tls-cert.") var tlsKey: String?
    @Option(help: "Seconds between checks of the certificate and key files for a renewed pair.") var tlsReloadInterval = 5.0
    @Option(help: "With TLS, also serve plain HTTP on this port of --plain-http-host (for scripts on this machine).") var plainHttpPort: Int?
    @Option(help: "Address of --plain-http-port.") var plainHttpHost = "127.0.0.1"
    @Flag(help: "Allow plain HTTP on an address other than loopback (behind a TLS-terminating proxy): credentials and secrets would cross the network in clear.")
    var allowPlainHttp = false

    func listeners() throws -> Listeners {
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
        guard tlsReloadInterval > 0 else { throw ValidationError("--tls-reload-interval must be positive") }
        do {
            if let tlsCert, let tlsKey {
                let tls = try ServerTLS(certificatePath: absolute(tlsCert), keyPath: absolute(tlsKey),
                                        refreshInterval: .milliseconds(Int(tlsReloadInterval * 1000)), logger: Environment.logger("stowage.tls"))
                var listeners = Listeners(secure: .init(host: host ?? "0.0.0.0", port: port, tls: tls))
                if let plainHttpPort {
                    try PlainHTTP.checkListener(host: plainHttpHost, port: plainHttpPort, allowed: allowPlainHttp)
                    listeners.plain = .init(host: plainHttpHost, port: plainHttpPort)
                }
                return listeners
            }
            guard plainHttpPort == nil else { throw ValidationError("--plain-http-port is for a second listener beside HTTPS: give --tls-cert and --tls-key") }
            let address = host ?? "127.0.0.1"
            try PlainHTTP.checkListener(host: address, port: port, allowed: allowPlainHttp)
            return Listeners(plain: .init(host: address, port: port))
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("\(error)")
        }
    }
}

struct Server: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the API (ECS door, REST, /healthz, /metrics).",
        discussion: """
            HTTPS with --tls-cert/--tls-key (the pair is re-read when the files change, no restart); plain HTTP only on \
            loopback unless --allow-plain-http. `stowage admin make-certificates` makes a private CA and a server certificate.
            """)
    @OptionGroup var db: DatabaseOptions
    @OptionGroup var listen: ListenerOptions
    @OptionGroup var metrics: MetricsOptions
    @OptionGroup var targets: TargetPolicyOptions
    @Flag(help: "Apply pending migrations before serving.") var migrate = false
    @Option(help: ArgumentHelp(
        "Address ranges alarm webhook URLs may name although private, loopback or link-local (comma-separated CIDRs).",
        discussion: "Also STOWAGE_WEBHOOK_ALLOW; give the workers the same (a URL naming such an address is refused when written)."))
    var webhookAllow = ProcessInfo.processInfo.environment["STOWAGE_WEBHOOK_ALLOW"] ?? ""

    func validate() throws {
        if case .failure(let error) = OutboundPolicy.parseList(webhookAllow) { throw ValidationError("--webhook-allow: \(error)") }
    }

    func run() async throws {
        Stowage.bootstrapObservability()
        let listeners = try listen.listeners()
        let config = try db.config()
        let database = try Database(config: config, logger: Environment.logger("stowage.db"))
        let pending = migrate ? try migrations() : []
        let targetPolicy = try targets.policy(database: config, listening: listeners.all)
        let outbound = OutboundPolicy(allowed: (try? OutboundPolicy.parseList(webhookAllow).get()) ?? [])
        let app = try makeApplication(database: database, sealer: try Environment.sealer(), listeners: listeners, outbound: outbound,
                                      metricsToken: metrics.token, targetPolicy: targetPolicy) {
            if !pending.isEmpty { try await Migrator(database: database).migrate(pending) }
        }
        try await app.runService()
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending migrations, once each, under an advisory lock.")
    @OptionGroup var db: DatabaseOptions

    func run() async throws {
        let all = try migrations()
        let applied = try await withDatabase(try db.config()) { try await Migrator(database: $0).migrate(all) }
        print(applied.isEmpty ? "schema is current (\(all.count) migrations)" : "applied \(applied.map(String.init).joined(separator: ", "))")
    }
}

struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bootstrap tenants: accounts, users and access keys.",
        subcommands: [CreateAccount.self, CreateUser.self, CreateAccessKey.self, CreateAgent.self, SetQuota.self, RotateKey.self,
                      MakeCertificates.self])

    struct CreateAgent: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create-agent",
            abstract: "Create an agent identity for one cluster (role + user with StowageAgentPolicy) and print the user's key.")
        @OptionGroup var db: DatabaseOptions
        @Option(help: "Account id.") var account: String
        @Option(help: "The cluster the agent may register in and report for.") var cluster: String
        @Option(help: "Also write the key to this file in AWS shared-credentials format.") var credentialsFile: String?

        func run() async throws {
            let sealer = try Environment.sealer()
            let key = try await withDatabase(try db.config()) { database in
                try await Tenancy(database: database, sealer: sealer, scope: Environment.scope).createAgentIdentity(account: account, cluster: cluster)
            }
            if let credentialsFile { try writeCredentials(key, to: credentialsFile) }
            print("user = \(Environment.scope.iamUser(account, key.userName))")
            print("role = \(Environment.scope.iamRole(account, key.userName))")
            print("aws_access_key_id = \(key.accessKeyId)\naws_secret_access_key = \(key.secretAccessKey)")
        }
    }

    struct MakeCertificates: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "make-certificates",
            abstract: "Make a private CA (kept if present) and a server certificate for the given names, for `server --tls-cert`.",
            discussion: """
                Writes ca.pem, ca-key.pem, server.pem and server-key.pem (keys 0600) in --dir. Run again with other names \
                to issue a new server certificate under the same CA: a running server picks it up without a restart. \
                Clients trust ca.pem: `aws --ca-bundle`, boto3's `verify=`, curl's `--cacert`, the agent's `--ca-bundle`.
                """)
        @Option(help: "Directory for the files.") var dir: String
        @Option(name: .customLong("name"), help: "DNS name or IP address the certificate is for (repeatable).") var names: [String] = ["localhost", "127.0.0.1", "::1"]

        func run() throws {
            let paths = try LocalCertificates.ensure(directory: absolute(dir), names: names)
            print("ca = \(paths.authority)\ncertificate = \(paths.certificate)\nkey = \(paths.key)")
        }
    }

    struct RotateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-key",
            abstract: "Reseal stored secrets under the current server key, or give tenants new data keys.",
            discussion: """
                Server key: start every process with the new key in STOWAGE_SERVER_KEY and the old one in \
                STOWAGE_PREVIOUS_SERVER_KEYS (comma-separated base64), run `stowage admin rotate-key`, then drop the old \
                key. Only the tenants' data keys and the access-key secrets are resealed, not every value.
                Data key: `--account ID` (repeatable) or `--all-accounts` gives those tenants new data keys and reseals \
                their parameters and secrets under them; the old data keys are deleted.
                """)
        @OptionGroup var db: DatabaseOptions
        @Option(help: "Give this account a new data key (repeatable).") var account: [String] = []
        @Flag(help: "Give every account that has a data key a new one.") var allAccounts = false

        func run() async throws {
            let vault = Vault(sealer: try Environment.sealer(), logger: Environment.logger("stowage.admin"))
            let reports = try await withDatabase(try db.config()) { database in
                try await Operator(database: database).rotateKeys(vault, accounts: account, allAccounts: allAccounts)
            }
            for (what, r) in reports {
                print("\(what): \(r.dataKeysRewrapped) data keys rewrapped, \(r.accessKeysResealed) access keys and \(r.sessionsResealed) sessions resealed, \(r.valuesResealed) values resealed")
            }
        }
    }

    struct SetQuota: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-quota", abstract: "Set one account's value for a quota (\(Quotas.names.sorted().joined(separator: ", "))).")
        @OptionGroup var db: DatabaseOptions
        @Option(help: "Account id.") var account: String
        @Option(help: "Quota name.") var name: String
        @Option(help: "New value.") var value: Int

        func run() async throws {
            try await withDatabase(try db.config()) { database in
                try await Operator(database: database).setQuota(account: account, name: name, value: value)
            }
            print("\(name) = \(value) for account \(account)")
        }
    }

    struct CreateAccount: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create-account",
            abstract: "Create an account (tenant) with an administrator user `admin` and its access key (shown this once).")
        @OptionGroup var db: DatabaseOptions
        @Option(help: "Unique account name.") var name: String
        @Option(help: "Also write the key to this file in AWS shared-credentials format.") var credentialsFile: String?

        func run() async throws {
            let sealer = try Environment.sealer()
            let key = try await withDatabase(try db.config()) { database in
                try await Tenancy(database: database, sealer: sealer, scope: Environment.scope).createAccountWithAdministrator(name: name)
            }
            if let credentialsFile { try writeCredentials(key, to: credentialsFile) }
            print("account_id = \(key.accountId)\nuser = admin\naws_access_key_id = \(key.accessKeyId)\naws_secret_access_key = \(key.secretAccessKey)")
        }
    }

    struct CreateUser: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create-user", abstract: "Create a user in an account.")
        @OptionGroup var db: DatabaseOptions
        @Option(help: "Account id.") var account: String
        @Option(help: "User name.") var name: String

        func run() async throws {
            let sealer = try Environment.sealer()
            try await withDatabase(try db.config()) { database in
                try await Tenancy(database: database, sealer: sealer, scope: Environment.scope).createUser(account: account, name: name)
            }
            print(Environment.scope.iamUser(account, name))
        }
    }

    struct CreateAccessKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create-access-key", abstract: "Create an access key; the secret is shown this once.")
        @OptionGroup var db: DatabaseOptions
        @Option(help: "Account id.") var account: String
        @Option(help: "User name.") var user: String
        @Option(help: "Also write the key to this file in AWS shared-credentials format.") var credentialsFile: String?

        func run() async throws {
            let sealer = try Environment.sealer()
            let key = try await withDatabase(try db.config()) { database in
                try await Tenancy(database: database, sealer: sealer, scope: Environment.scope).createAccessKey(account: account, user: user)
            }
            if let credentialsFile { try writeCredentials(key, to: credentialsFile) }
            print("aws_access_key_id = \(key.accessKeyId)\naws_secret_access_key = \(key.secretAccessKey)")
        }
    }
}

/// Made 0600 from its first byte (not narrowed after an atomic write that others could read in between).
func writeCredentials(_ key: NewAccessKey, to path: String) throws {
    try PrivateFiles.write(Data(key.sharedCredentials().utf8), to: path)
}

struct Postgres: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start or stop a private PostgreSQL in a directory (used by make test).",
        subcommands: [Start.self, Stop.self])

    struct Start: AsyncParsableCommand {
        @Option(help: "Data directory (also holds the socket).") var dir: String
        @Option(help: "Port number naming the socket.") var port = 5432
        @Option(help: "Database to create if missing.") var database = "stowage"
        @Flag(help: "Run with fsync off: faster, and a machine crash can lose acknowledged writes (throwaway test databases only).")
        var unsafeFast = false
        @Option(help: "Also listen on this TCP address (the socket stays).") var listen: String?
        @Option(help: "PEM certificate for TLS on the TCP listener (with --tls-key).") var tlsCert: String?
        @Option(help: "PEM key of --tls-cert.") var tlsKey: String?

        func run() async throws {
            guard (tlsCert == nil) == (tlsKey == nil), tlsCert == nil || listen != nil else {
                throw ValidationError("--tls-cert and --tls-key go together, with --listen")
            }
            var pg = LocalPostgres(directory: absolute(dir), port: port, unsafeFast: unsafeFast)
            pg.listen = listen
            if let tlsCert, let tlsKey { pg.tls = (absolute(tlsCert), absolute(tlsKey)) }
            try pg.start()
            try pg.ensureDatabase(database)
            print(pg.config.with(database: database).url)
        }
    }

    struct Stop: AsyncParsableCommand {
        @Option(help: "Data directory.") var dir: String
        @Option var port = 5432
        func run() async throws { LocalPostgres(directory: absolute(dir), port: port).stop() }
    }
}

func absolute(_ path: String) -> String {
    path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
}

struct Routes: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the HTTP routes the server serves.")
    func run() { print(APIRouter.routeList.joined(separator: "\n")) }
}

struct Members: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List which members of the ECS request shapes Stowage honours and which it refuses, and why.")
    @Flag(help: "Print the Markdown of docs/ECS-MEMBERS.md instead of JSON.") var markdown = false

    func run() throws {
        if markdown {
            print(MemberSupport.markdown(), terminator: "")
            return
        }
        var table: [String: [String: [String: String]]] = [:]
        for (shape, members) in MemberSupport.shapes {
            for (member, status) in members {
                switch status {
                case .honoured(let how): table[shape, default: [:]][member] = ["status": "honoured", "how": how]
                case .refused(let why): table[shape, default: [:]][member] = ["status": "refused", "why": why]
                }
            }
        }
        let data = try JSONSerialization.data(withJSONObject: table, options: [.sortedKeys, .prettyPrinted])
        print(String(decoding: data, as: UTF8.self))
    }
}
