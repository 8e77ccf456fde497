import ArgumentParser
import Foundation
import ServiceLifecycle
import StowageLoadBalancer
import StowageStore

/// `stowage lb`: the load balancers' data plane on this host, HAProxy driven from PostgreSQL.
struct LBCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lb",
        abstract: "Run HAProxy for the load balancers in the database: configuration, target changes, health checks.",
        discussion: """
            Each load balancer listens on its own address from STOWAGE_LB_ADDRESSES (set the same on servers; \
            default 127.0.10.1-254, which only this host reaches); this host must own those addresses. HAProxy \
            keeps running if this process stops, and the next `stowage lb` adopts it.
            """)
    @OptionGroup var db: DatabaseOptions
    @OptionGroup var targets: TargetPolicyOptions
    @Option(help: "The HAProxy executable.") var haproxy = "/usr/sbin/haproxy"
    @Option(help: "Directory for HAProxy's configuration, pid file and admin socket.") var stateDir = "/var/lib/stowage-lb"
    @Option(help: "Seconds between passes when nothing is notified.") var interval = 1.0
    @Flag(help: "Stop HAProxy when this process stops (by default it keeps serving).") var stopOnExit = false

    func run() async throws {
        Stowage.bootstrapObservability()
        guard FileManager.default.isExecutableFile(atPath: haproxy) else {
            throw ValidationError("no HAProxy at \(haproxy): install it (apt-get install haproxy) or give --haproxy")
        }
        guard interval > 0 else { throw ValidationError("--interval must be positive") }
        let logger = Environment.logger("stowage.lb")
        let config = try db.config()
        let database = try Database(config: config, logger: Environment.logger("stowage.db"))
        let supervisor = LoadBalancerSupervisor(
            database: database, haproxy: HAProxyProcess(executable: haproxy, directory: absolute(stateDir), logger: logger),
            interval: .milliseconds(Int(interval * 1000)), stopOnExit: stopOnExit,
            policy: try targets.policy(database: config, listening: []), logger: logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: database.client), .init(service: supervisor)],
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
