import ArgumentParser
import Foundation
import Hummingbird
import ServiceLifecycle
import StowageAPI
import StowageModel
import StowageStore
import StowageUseCases
import StowageWorker

/// The worker settings shared by `worker` and `dev`.
struct WorkerFlags: ParsableArguments {
    @Option(help: "Jobs this process runs at once.") var concurrency = 8
    @Option(help: "Seconds between looks at the queue when no notification arrives.") var pollInterval = 1.0
    @Option(help: "Seconds a taken job stays leased before another worker may take it.") var lease = 60.0
    @Option(help: "Seconds without an agent heartbeat before its instance is marked disconnected.") var heartbeatTimeout = 30.0
    @Option(help: "Further seconds before a disconnected instance's tasks are stopped as host lost.") var hostLostGrace = 30.0
    @Option(help: "Share of a cluster's instances silent at once above which nothing is stopped (mass silence).") var massSilenceShare = 0.5
    @Option(help: "Share of a cluster's instances (at least one) whose tasks one sweep may stop as host lost.") var hostLossRate = 0.1

    @Option(help: "Days of logs kept.") var logRetentionDays = 15
    @Option(help: "Days of per-task metrics and 1-minute metric rollups kept.") var metricRetentionDays = 15
    @Option(help: "Days of audit trail kept.") var auditRetentionDays = 90
    @Option(help: "Seconds between computations of the built-in AWS/ECS metrics.") var metricsInterval = 15.0
    @Option(help: "Seconds between alarm evaluations.") var alarmInterval = 60.0
    @Option(help: "Seconds between auto scaling evaluations (target tracking, scheduled actions).") var scalingInterval = 60.0
    @Option(help: "1-minute datapoints above target before target tracking scales out.") var scaleOutDatapoints = 3
    @Option(help: "1-minute datapoints below 90% of target before target tracking scales in.") var scaleInDatapoints = 15
    @Option(help: ArgumentHelp(
        "Address ranges alarm webhooks may call although private, loopback or link-local (comma-separated CIDRs).",
        discussion: "Also STOWAGE_WEBHOOK_ALLOW. By default webhooks reach only public addresses."))
    var webhookAllow = ProcessInfo.processInfo.environment["STOWAGE_WEBHOOK_ALLOW"] ?? ""

    /// The allow-list as a policy (validated already).
    var outbound: OutboundPolicy { OutboundPolicy(allowed: (try? OutboundPolicy.parseList(webhookAllow).get()) ?? []) }

    func validate() throws {
        if case .failure(let error) = OutboundPolicy.parseList(webhookAllow) {
            throw ValidationError("--webhook-allow: \(error)")
        }
    }

    var monitoring: MonitoringSettings {
        var settings = MonitoringSettings(metricsInterval: metricsInterval, alarmInterval: alarmInterval, scalingInterval: scalingInterval,
                                          scaleOutDatapoints: scaleOutDatapoints, scaleInDatapoints: scaleInDatapoints)
        settings.outbound = outbound
        return settings
    }

    var sweep: StandardJobs.SweepSettings {
        var settings = StandardJobs.SweepSettings(timeout: heartbeatTimeout, grace: hostLostGrace, interval: min(5, max(1, heartbeatTimeout / 3)),
                                                  logRetentionDays: logRetentionDays, metricRetentionDays: metricRetentionDays)
        settings.auditRetentionDays = auditRetentionDays
        settings.massSilenceShare = massSilenceShare
        settings.stopsPerSweepShare = hostLossRate
        return settings
    }

    var options: WorkerOptions {
        WorkerOptions(concurrency: concurrency, pollInterval: .milliseconds(Int(pollInterval * 1000)), lease: lease)
    }
}

func makeWorker(database: Database, flags: WorkerFlags) -> Worker {
    Worker(database: database, handlers: StandardJobs.handlers(sweep: flags.sweep, monitoring: flags.monitoring),
           periodic: StandardJobs.periodic(sweep: flags.sweep, monitoring: flags.monitoring),
           options: flags.options, logger: Environment.logger("stowage.worker"))
}

/// Who sees `/metrics` whole: the server's and the worker's leave out series that name a tenant (account ids,
/// cluster names) unless the scrape presents this token as `Authorization: Bearer <token>`.
struct MetricsOptions: ParsableArguments {
    @Option(name: .customLong("metrics-token"), help: ArgumentHelp(
        "Bearer token that shows /metrics whole, tenant-labelled series included.",
        discussion: "Better given as STOWAGE_METRICS_TOKEN (a command line is visible to every user of the host). Without it, /metrics never shows series that name a tenant."))
    var tokenText = ProcessInfo.processInfo.environment["STOWAGE_METRICS_TOKEN"] ?? ""

    var token: String? { tokenText.isEmpty ? nil : tokenText }
}

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker", abstract: "Run jobs from the queue: placement, reconciliation, sweeps.")
    @OptionGroup var db: DatabaseOptions
    @OptionGroup var flags: WorkerFlags
    @Option(help: "Serve the worker's /metrics (jobs by kind and outcome, durations, its database pool) on this port; 0 serves none.")
    var metricsPort = 0
    @Option(help: "Address the worker's /metrics listens on.") var metricsHost = "127.0.0.1"
    @OptionGroup var metrics: MetricsOptions

    func run() async throws {
        Stowage.bootstrapObservability()
        let database = try Database(config: try db.config(), logger: Environment.logger("stowage.db"))
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: database.client), .init(service: makeWorker(database: database, flags: flags)),
        ]
        if metricsPort > 0 {
            let router = Router()
            let token = metrics.token
            router.get("/metrics") { request, _ in
                let access = MetricsExport.access(authorization: request.headers[.authorization], token: token)
                guard access != .refused else {
                    return Response(status: .unauthorized, headers: [.wwwAuthenticate: "Bearer"],
                                    body: .init(byteBuffer: ByteBuffer(string: "The bearer token is not the metrics token (STOWAGE_METRICS_TOKEN).\n")))
                }
                return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                                body: .init(byteBuffer: ByteBuffer(bytes: MetricsExport.render(tenantSeries: access == .whole))))
            }
            services.append(.init(service: Application(
                router: router, configuration: .init(address: .hostname(metricsHost, port: metricsPort), serverName: "stowage-worker"),
                logger: Environment.logger("stowage.worker.metrics"))))
        }
        let group = ServiceGroup(configuration: .init(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: Environment.logger("stowage.worker")))
        try await group.run()
    }
}

struct Jobs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the job queue: depth, running, retrying and dead jobs.")
    @OptionGroup var db: DatabaseOptions

    func run() async throws {
        let (stats, dead) = try await withDatabase(try db.config()) { database in try await Operator(database: database).jobs() }
        print("pending \(stats.pending) (ready \(stats.ready), retrying \(stats.retrying))  running \(stats.running)  lease expired \(stats.expired)  dead \(stats.dead)")
        for job in dead {
            print("dead  \(job.kind)#\(job.id)  account=\(job.account.isEmpty ? "-" : job.account)  attempts=\(job.attempts)  \(job.lastError ?? "")")
        }
    }
}
