import ArgumentParser
import Foundation
import Hummingbird
import ServiceLifecycle
import StowageAgent
import StowageIAM
import StowageLoadBalancer
import StowageModel
import StowageSigning
import StowageStore
import StowageTLS
import StowageUseCases

/// Everything on one machine: a private PostgreSQL in ./.stowage, migrations, the API, and first-run credentials.
struct Dev: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run Stowage on this machine with a private database.")
    @Option(help: "State directory.") var dir = ".stowage"
    @Option(help: "Plain-HTTP API port, on 127.0.0.1 only.") var port = 8080
    @Option(help: "HTTPS API port, with a certificate from a local CA made in <dir>/tls.") var tlsPort = 8443
    @Option(help: "HTTPS API address (0.0.0.0 to reach it from other machines).") var host = "127.0.0.1"
    @OptionGroup var workerFlags: WorkerFlags
    @OptionGroup var metrics: MetricsOptions
    @OptionGroup var targets: TargetPolicyOptions
    @Option(help: "Runtime of the local agent: auto, docker or process.") var driver = "auto"
    @Option(help: "Docker Engine API socket for the local agent.") var dockerSocket = "/var/run/docker.sock"
    @Flag(help: "Run no local agent.") var noAgent = false
    @Option(name: .customLong("default-ulimit"), help: "The local agent's --default-ulimit (repeatable).") var defaultUlimits: [String] = []
    @Flag(help: "Run PostgreSQL with fsync off: faster, but a crash of the machine can lose acknowledged writes.")
    var unsafeFastDatabase = false

    func run() async throws {
        Stowage.bootstrapObservability()
        let state = absolute(dir)
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let sealer = try serverKey(state)
        let pg = LocalPostgres(directory: state + "/pg", port: 5432, unsafeFast: unsafeFastDatabase)
        if unsafeFastDatabase {
            FileHandle.standardError.write(Data("WARNING: --unsafe-fast-database: PostgreSQL runs with fsync off; a crash of this machine can lose acknowledged writes.\n".utf8))
        }
        try pg.start()
        defer { pg.stop() }
        try pg.ensureDatabase("stowage")
        let all = try migrations()
        let credentialsPath = state + "/credentials"
        let key = try await withDatabase(pg.config) { database in
            try await Migrator(database: database).migrate(all)
            let key = try await Self.firstRunCredentials(database: database, sealer: sealer, path: credentialsPath)
            try await Self.defaultCluster(database: database, account: key.account)
            return key
        }
        let database = try Database(config: pg.config, logger: Environment.logger("stowage.db"))
        var names = ["localhost", "127.0.0.1", "::1", ProcessInfo.processInfo.hostName]
        if !["0.0.0.0", "::", "127.0.0.1", "localhost"].contains(host) { names.append(host) }
        let certificates = try LocalCertificates.ensure(directory: state + "/tls", names: names.filter(LocalCertificates.isNameOrAddress))
        let tls = try ServerTLS(certificatePath: certificates.certificate, keyPath: certificates.key, logger: Environment.logger("stowage.tls"))
        let listeners = Listeners(secure: .init(host: host, port: tlsPort, tls: tls), plain: .init(host: "127.0.0.1", port: port))
        let endpoint = "http://127.0.0.1:\(port)"
        let secureEndpoint = listeners.endpoints[0]
        let worker = makeWorker(database: database, flags: workerFlags)
        var extra: [any Service] = [worker]
        let runtime = noAgent ? nil : try await AgentCommand.pickRuntime(driver, socket: dockerSocket, stateDir: state + "/agent",
                                                                          defaultUlimits: try AgentCommand.ulimits(defaultUlimits))
        // Load balancer targets may be this machine's own container hosts (the local agent's address: loopback, or the
        // engine's bridge gateway), and what --allow-target-cidr adds: one machine, one user. The API and database stay
        // refused whatever is allowed.
        var hostRanges = [CIDR("127.0.0.1/32")].compactMap { $0 } + (try targets.ranges())
        if let gateway = await runtime?.bridgeGateway(), let range = CIDR(gateway + "/32") { hostRanges.append(range) }
        let targetPolicy = TargetPolicy(outbound: OutboundPolicy(allowed: hostRanges),
                                        controlPlane: ControlPlaneEndpoints.of(database: pg.config, listening: listeners.all))
        // The load balancers' data plane: HAProxy for the load balancers tenants create, on the pool's addresses.
        var lbLine = "  load balancer: none (no HAProxy at /usr/sbin/haproxy: apt-get install haproxy)"
        if FileManager.default.isExecutableFile(atPath: "/usr/sbin/haproxy") {
            let lbLogger = Environment.logger("stowage.lb")
            extra.append(LoadBalancerSupervisor(database: database, haproxy: HAProxyProcess(executable: "/usr/sbin/haproxy", directory: state + "/lb",
                                                                                            logger: lbLogger),
                                                stopOnExit: true, policy: targetPolicy, logger: lbLogger))
            let pool = try Environment.loadBalancerAddresses()
            let range = pool == ELB.defaultAddresses ? "127.0.10.x" : (pool.count == 1 ? pool[0] : "\(pool[0]) … \(pool[pool.count - 1])")
            lbLine = "  load balancer: HAProxy (stowage lb); load balancers listen on \(range) (STOWAGE_LB_ADDRESSES)"
        }
        var agentLine = "  agent:        none (--no-agent)"
        if let runtime {
            var config = AgentConfig(cluster: "default", stateDirectory: state + "/agent", zone: "local")
            config.credentialsKey = key.secret
            config.dnsAddress = "auto"
            // The one local host is Fargate capacity, so a Fargate task definition runs here as written.
            config.attributes[AgentProtocol.capacityProviderAttribute] = "FARGATE"
            // The local agent takes the HTTPS door, verifying the server against the local CA, as a remote one would.
            var server = ServerClient(endpoint: "https://127.0.0.1:\(tlsPort)", accessKeyId: key.id, secret: key.secret,
                                      region: Environment.scope.region)
            server.tls = try ClientTLS.configuration(caBundle: certificates.authority)
            let agent = Agent(config: config, server: server, runtime: runtime, logger: Environment.logger("stowage.agent"))
            extra.append(TaskEndpointsServer(agent: agent, port: 51679, logger: Environment.logger("stowage.agent")))
            extra.append(AgentService(agent: agent))
            agentLine = "  agent:        cluster default, driver \(runtime.kind)\(runtime.kind == "docker" ? " (\(dockerSocket))" : ""), FARGATE capacity (awsvpc with Podman)"
        }
        let agentSummary = agentLine + "\n" + lbLine
        let app = try makeApplication(database: database, sealer: sealer, listeners: listeners, extraServices: extra,
                                      outbound: workerFlags.outbound, metricsToken: metrics.token, targetPolicy: targetPolicy) {
            FileHandle.standardOutput.write(Data("""

                Stowage is running: API, a worker and a local agent.
                  endpoint:     \(endpoint)   (plain HTTP, this machine only)
                  HTTPS:        \(secureEndpoint)   (CA bundle: \(certificates.authority))
                  console:      \(endpoint)/console   (sign in with the access key and secret key below;
                                also \(secureEndpoint)/console once the browser trusts the CA bundle)
                \(agentSummary)
                  account:      \(key.account)
                  access key:   \(key.id)
                  secret key:   \(key.secret)
                  credentials:  \(credentialsPath)

                Try:
                  AWS_SHARED_CREDENTIALS_FILE=\(credentialsPath) aws ecs list-clusters --endpoint-url \(endpoint) --region us-east-1
                  AWS_SHARED_CREDENTIALS_FILE=\(credentialsPath) aws ecs list-clusters --endpoint-url \(secureEndpoint) --ca-bundle \(certificates.authority) --region us-east-1
                  boto3.client("ecs", endpoint_url="\(secureEndpoint)", verify="\(certificates.authority)", region_name="us-east-1")
                  curl --cacert \(certificates.authority) \(secureEndpoint)/healthz

                Ctrl-C stops everything; the data stays in \(state).


                """.utf8))
        }
        try await app.runService()
    }

    /// ECS's `default` cluster, which the local agent joins and commands without --cluster use.
    static func defaultCluster(database: Database, account: String) async throws {
        try await Operator(database: database).createDefaultCluster(account: account)
    }

    /// The server key that seals secrets at rest, made once and kept beside the data.
    func serverKey(_ state: String) throws -> SecretSealer {
        let path = state + "/server.key"
        if !FileManager.default.fileExists(atPath: path) {
            try PrivateFiles.write(Data(SecretSealer.generateKey().utf8), to: path)
        }
        return try SecretSealer(base64Key: try String(contentsOfFile: path, encoding: .utf8))
    }

    /// On first start: a `default` account, an `admin` user and a key, written as AWS shared credentials.
    /// Later starts read the file back; a lost file gets a new key.
    static func firstRunCredentials(database: Database, sealer: SecretSealer, path: String) async throws
        -> (account: String, id: String, secret: String)
    {
        let tenancy = Tenancy(database: database, sealer: sealer, scope: Environment.scope)
        if let text = try? String(contentsOfFile: path, encoding: .utf8), let (id, secret) = SharedCredentials.parse(text),
           let account = AccessKeyID.account(of: id), (try? await tenancy.credential(for: id)) != nil {
            return (account, id, secret)
        }
        let key = if let existing = try await tenancy.accountId(named: "default") {
            try await tenancy.createAccessKey(account: existing, user: "admin")
        } else {
            try await tenancy.createAccountWithAdministrator(name: "default")
        }
        try writeCredentials(key, to: path)
        return (key.accountId, key.accessKeyId, key.secretAccessKey)
    }
}
