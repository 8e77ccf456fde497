import Foundation
import Logging
import Metrics
import ServiceLifecycle
import StowageModel
import StowageStore
import Synchronization

/// What a job handler is given.
public struct JobContext: Sendable {
    public var job: Job
    public var database: Database
    public var queue: JobQueue
    public var logger: Logger
    public var clock: any WallClock

    /// A string field of the job's payload; a job without it cannot be done and fails.
    public func payload(_ key: String) throws -> String {
        guard case .object(let fields) = job.payload, case .string(let value) = fields[key] else {
            throw APIError.invalidParameter("job \(job.kind) is missing payload field '\(key)'")
        }
        return value
    }
}

/// Does one kind of job. Handlers must be idempotent: a job whose worker died is run again.
public typealias JobHandler = @Sendable (JobContext) async throws -> Void

/// A system-wide job enqueued once per period, however many workers run.
public struct PeriodicJob: Sendable {
    public var kind: String
    public var every: TimeInterval
    public init(kind: String, every: TimeInterval) { self.kind = kind; self.every = every }
}

/// Settings of one worker process.
public struct WorkerOptions: Sendable {
    public var id: String
    /// Jobs run at once by this process.
    public var concurrency: Int
    /// Longest sleep between looks at the queue when no NOTIFY arrives.
    public var pollInterval: Duration
    /// How long a taken job stays leased; past it another worker may take it.
    public var lease: TimeInterval
    /// The first retry's delay; each further attempt doubles it (capped at five minutes).
    public var retryBase: TimeInterval
    /// Kinds whose jobs wait on tenants' servers (webhook deliveries, up to their timeout each).
    public var slowKinds: [String] = [JobKind.alarmAction]
    /// Slow jobs run here at once: fewer than `concurrency`, so reconcile and placement jobs always find a slot
    /// however many webhooks hang (default half the slots).
    public var slowSlots: Int
    /// One account's slow jobs running at once on all workers together (default half of `slowSlots`), so one
    /// account's black-holed webhooks leave the other slow slots to other accounts.
    public var slowPerAccount: Int

    public init(id: String = "\(ProcessInfo.processInfo.hostName)-\(getpid())-\(UInt16.random(in: 0...UInt16.max))",
                concurrency: Int = 8, pollInterval: Duration = .seconds(1), lease: TimeInterval = 60,
                retryBase: TimeInterval = 1) {
        self.id = id; self.concurrency = concurrency; self.pollInterval = pollInterval; self.lease = lease
        self.retryBase = retryBase
        slowSlots = max(1, concurrency / 2)
        slowPerAccount = max(1, concurrency / 4)
    }
}

/// Drains the job queue: woken by LISTEN/NOTIFY, polling as a fallback, running up to `concurrency` jobs,
/// retrying failures with backoff. On graceful shutdown it stops taking jobs and finishes the ones it holds.
public final class Worker: Service, Sendable {
    let database: Database
    let queue: JobQueue
    let handlers: [String: JobHandler]
    let periodic: [PeriodicJob]
    let options: WorkerOptions
    let logger: Logger
    let clock: any WallClock
    private let wakeup = Doorbell()
    private let inFlight = Atomic<Int>(0)
    /// Of those, jobs of `options.slowKinds`.
    private let slowInFlight = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)

    public init(database: Database, handlers: [String: JobHandler], periodic: [PeriodicJob] = [],
                options: WorkerOptions = WorkerOptions(), clock: any WallClock = SystemClock(), logger: Logger) {
        self.database = database
        self.queue = JobQueue(logger: logger)
        self.handlers = handlers
        self.periodic = periodic
        self.options = options
        self.clock = clock
        var logger = logger
        logger[metadataKey: "worker"] = .string(options.id)
        self.logger = logger
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.listen() }
                if !self.periodic.isEmpty { group.addTask { await self.schedulePeriodic() } }
                await self.loop(group: &group)
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.stop()
        }
    }

    /// Asks the worker to finish what it holds and return.
    public func stop() {
        stopping.store(true, ordering: .relaxed)
        wakeup.ring()
    }

    private func loop(group: inout DiscardingTaskGroup) async {
        var failures = 0
        while !stopping.load(ordering: .relaxed) && !Task.isCancelled {
            let free = options.concurrency - inFlight.load(ordering: .relaxed)
            let slow = SlowKinds(kinds: options.slowKinds, slots: min(free, options.slowSlots - slowInFlight.load(ordering: .relaxed)),
                                 perAccount: options.slowPerAccount)
            var taken: [Job] = []
            if free > 0 {
                do {
                    taken = try await database.withConnection { conn in
                        try await queue.take(conn, worker: options.id, limit: free, lease: options.lease, slow: slow)
                    }
                    failures = 0
                } catch {
                    failures += 1
                    if failures == 1 || failures % 30 == 0 {
                        logger.warning("cannot take jobs", metadata: ["error": "\(String(reflecting: error))"])
                    }
                }
            }
            for job in taken {
                let isSlow = options.slowKinds.contains(job.kind)
                inFlight.add(1, ordering: .relaxed)
                if isSlow { slowInFlight.add(1, ordering: .relaxed) }
                group.addTask {
                    await self.process(job)
                    if isSlow { self.slowInFlight.subtract(1, ordering: .relaxed) }
                    self.inFlight.subtract(1, ordering: .relaxed)
                    self.wakeup.ring()
                }
            }
            if taken.isEmpty || taken.count < free {
                await wakeup.wait(timeout: options.pollInterval)
            }
        }
        while inFlight.load(ordering: .relaxed) > 0 { await wakeup.wait(timeout: .milliseconds(100)) }
    }

    func process(_ job: Job) async {
        var logger = self.logger
        logger[metadataKey: "job"] = .string("\(job.kind)#\(job.id)")
        logger[metadataKey: "account"] = .string(job.account)
        // Kinds are the handlers' names (a fixed set); anything else is counted as one label.
        let kind = handlers[job.kind] == nil ? "unknown" : job.kind
        let started = ContinuousClock.now
        func count(_ outcome: String) {
            Counter(label: "stowage_worker_jobs_total", dimensions: [("kind", kind), ("outcome", outcome)]).increment()
            Metrics.Timer(label: "stowage_worker_job_duration_seconds", dimensions: [("kind", kind)])
                .record(duration: ContinuousClock.now - started)
        }
        do {
            guard let handler = handlers[job.kind] else { throw UnknownJobKind(kind: job.kind) }
            try await handler(JobContext(job: job, database: database, queue: queue, logger: logger, clock: clock))
            let held = try await database.withConnection { try await queue.complete($0, job, worker: options.id) }
            if !held { logger.warning("lease lost before completion; another worker took the job") }
            count(held ? "completed" : "lease_lost")
        } catch {
            count("failed")
            let message = (error as? APIError)?.description ?? String(describing: error)
            let retryIn = JobQueue.backoff(attempt: job.attempts, base: options.retryBase)
            logger.info("job failed", metadata: ["attempt": "\(job.attempts)", "retry_in": "\(retryIn)", "error": "\(message)"])
            do {
                try await database.withConnection { conn in
                    try await queue.fail(conn, job, worker: options.id, error: message, retryIn: retryIn)
                }
                // Retries send no NOTIFY; one due before the next poll rings this worker's bell itself.
                if .seconds(retryIn) < options.pollInterval {
                    Task { [wakeup] in
                        try? await Task.sleep(for: .seconds(retryIn))
                        wakeup.ring()
                    }
                }
            } catch {
                logger.warning("could not record job failure; its lease will expire", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Turns NOTIFYs on the queue channel into wakeups; after a reconnect it looks for work at once.
    private func listen() async {
        await Listener.run(database, channel: JobQueue.channel, logger: logger,
                           resync: { [wakeup] in wakeup.ring() }, notified: { [wakeup] _ in wakeup.ring() })
    }

    /// Enqueues each periodic kind once per period; the claim in PostgreSQL makes that exact across workers.
    private func schedulePeriodic() async {
        let tick = min(1, periodic.map(\.every).min() ?? 1)
        while !Task.isCancelled {
            let now = clock.now().timeIntervalSince1970
            for job in periodic {
                let period = Date(timeIntervalSince1970: (now / job.every).rounded(.down) * job.every)
                do {
                    try await database.transaction { conn in
                        if try await queue.claimPeriod(conn, kind: job.kind, period: period) {
                            try await queue.enqueue(conn, account: "", kind: job.kind, uniqueKey: job.kind)
                        }
                    }
                } catch {
                    logger.debug("periodic enqueue failed", metadata: ["kind": "\(job.kind)", "error": "\(error)"])
                }
            }
            try? await Task.sleep(for: .seconds(tick))
        }
    }
}

struct UnknownJobKind: Error, CustomStringConvertible {
    var kind: String
    var description: String { "no handler for job kind '\(kind)'" }
}
