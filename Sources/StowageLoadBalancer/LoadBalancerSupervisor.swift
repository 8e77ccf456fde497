import Foundation
import Logging
import ServiceLifecycle
import StowageModel
import StowageMonitoringRules
import StowageProxyConfig
import StowageShell
import StowageStore
import StowageTelemetryStore
import StowageUseCases
import Synchronization

/// `stowage lb`: keeps HAProxy serving what PostgreSQL says. Each step reads every load balancer, listener,
/// rule, target group and target; reloads HAProxy (seamlessly) only when the structure changed; brings its
/// servers to the registered targets through the runtime API; writes the health HAProxy saw back; and forgets
/// targets whose draining ended. A step runs when a write NOTIFYs `load_balancers`, and every `interval`.
/// It also publishes each target group's `RequestCount` (AWS/ApplicationELB) from HAProxy's counters.
///
/// When PostgreSQL is unreachable the step fails and HAProxy keeps serving what it had: a control-plane fault
/// never takes a healthy target out of service.
public final class LoadBalancerSupervisor: Service, Sendable {
    let database: Database
    /// The fleet's rows as the use-case layer reads and writes them; the supervisor holds no connection itself.
    let fleet: LoadBalancerFleet
    let haproxy: HAProxyProcess
    let interval: Duration
    let stopOnExit: Bool
    /// Where targets may send requests and checks (`--allow-target-cidr`, the control plane's own endpoints).
    let policy: TargetPolicy
    let logger: Logger
    private let state = LockedState()

    public init(database: Database, haproxy: HAProxyProcess, interval: Duration = .seconds(1), stopOnExit: Bool = false,
                policy: TargetPolicy = TargetPolicy(), logger: Logger) {
        self.database = database
        self.fleet = LoadBalancerFleet(database: database, logger: logger)
        self.haproxy = haproxy
        self.interval = interval
        self.stopOnExit = stopOnExit
        self.policy = policy
        self.logger = logger
    }

    public func run() async throws {
        try FileManager.default.createDirectory(atPath: haproxy.directory, withIntermediateDirectories: true)
        if haproxy.running, let text = try? String(contentsOfFile: haproxy.configPath, encoding: .utf8) {
            // Adopt the HAProxy a previous `stowage lb` left running: no reload unless the structure changed.
            state.applied = HAProxyConfig.digest(ofRendered: text)
            logger.info("adopted a running haproxy", metadata: ["pids": "\(haproxy.pids())"])
        }
        let bell = Doorbell()
        defer { if stopOnExit { haproxy.stop() } }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await Listener.run(self.database, channel: LoadBalancerStore.channel, logger: self.logger,
                                   resync: { bell.ring() }, notified: { _ in bell.ring() })
            }
            group.addTask {
                await cancelWhenGracefulShutdown {
                    while !Task.isCancelled {
                        await self.step()
                        await bell.wait(timeout: self.interval)
                    }
                }
            }
            group.addTask {
                await cancelWhenGracefulShutdown { await self.taskRoutesLoop() }
            }
            await group.next()
            group.cancelAll()
        }
    }

    /// Keeps this host's routes to every instance's task subnet (awsvpc tasks' addresses, what `ip` targets name) via
    /// that instance's host address. Routes already in place stay while the database cannot be read.
    func taskRoutesLoop() async {
        var lastProblem = ""
        while !Task.isCancelled {
            do {
                let routes = try await fleet.taskRoutes()
                let plan = try await HostRoutes.convergeInBackground(routes, proto: TaskRouting.balancerProtocol)
                if !plan.isEmpty {
                    logger.info("task routes changed", metadata: ["installed": "\(plan.replace.map { "\($0.subnet) via \($0.via)" })",
                                                                 "removed": "\(plan.delete)"])
                }
                lastProblem = ""
            } catch {
                let problem = "\(error)"
                if problem != lastProblem { logger.warning("task routes not updated; the current ones stay", metadata: ["error": "\(problem)"]) }
                lastProblem = problem
            }
            try? await Task.sleep(for: .seconds(5))
        }
    }

    /// One pass: read, reload if needed, converge servers, write health back.
    public func step() async {
        do {
            let snapshot = try await load()
            let now = Date()
            let structure = HAProxyConfig.digest(ofStructure: HAProxyConfig.structure(snapshot.proxy, socket: haproxy.socketPath))
            let stats = haproxy.running ? Data(try haproxy.command("show stat json").utf8) : Data()
            var observed = TargetPlan.parseStats(stats)
            state.countRequests(RequestCounts.totals(stats))
            if structure != state.applied || !haproxy.running {
                let serving = Set(observed.filter { $0.status.hasPrefix("UP") || $0.status == "no check" }.map { "\($0.backend)/\($0.name)" })
                state.refused = try install(snapshot.proxy, serving: serving, policy: snapshot.policy)
                state.applied = structure
                observed = try await freshStats()
            }
            let plan = TargetPlan.plan(snapshot.proxy, observed: observed, registeredAt: state.firstSeen(observed, now: now), now: now,
                                       policy: snapshot.policy)
            for command in plan.commands {
                let answer = try haproxy.command(command).trimmingCharacters(in: .whitespacesAndNewlines)
                if !answer.isEmpty, !answer.hasPrefix("New server registered"), !answer.hasPrefix("Server deleted") {
                    logger.debug("haproxy answered", metadata: ["command": "\(command)", "answer": "\(answer)"])
                }
            }
            let changed = state.unwritten(plan.updates)
            let taskIds = Set(changed.compactMap { snapshot.taskOf["\($0.groupId)/\($0.targetId)/\($0.port)"] })
            let refused = state.refused
            try await fleet.record(changed, tasks: taskIds, active: snapshot.loadBalancerIds.filter { refused[$0] == nil }, failed: refused,
                                   now: now)
            state.written(changed)
            try await publishRequests(snapshot, now: now)
        } catch {
            logger.warning("load balancer step failed; haproxy keeps serving what it had", metadata: ["error": "\(error)"])
        }
    }

    /// Every 10 s at most: the requests each target group answered since the last time, as `RequestCount` (Sum) with
    /// the `TargetGroup` dimension (`targetgroup/<name>/<id>`) in the group's account. Counts that cannot be written
    /// (database down) wait for the next step, bounded by the number of groups.
    func publishRequests(_ snapshot: Loaded, now: Date) async throws {
        guard let counts = state.takeRequests(now: now, every: 10) else { return }
        let minute = Int64(now.timeIntervalSince1970) / 60 * 60
        var byAccount: [String: [MetricPoint]] = [:]
        for (groupId, count) in counts {
            guard let group = snapshot.groups[groupId] else { continue }
            let identity = MetricIdentity(namespace: "AWS/ApplicationELB", name: "RequestCount", dimensions: [
                CloudWatch.Dimension(name: "TargetGroup", value: "targetgroup/\(group.name)/\(groupId)")])
            let value = Double(count)
            byAccount[group.account, default: []].append(MetricPoint(identity: identity, unit: "Count", minute: minute,
                                                                     rollup: Rollup(statisticSet: 1, sum: value, minimum: value, maximum: value)))
        }
        do {
            try await fleet.publish(byAccount)
        } catch {
            state.returnRequests(counts)
            throw error
        }
    }

    /// Renders and installs the configuration, leaving out each load balancer HAProxy refuses so that the others
    /// keep serving: a failure is first traced to the proxies HAProxy names, and failing that each load balancer's
    /// part is checked on its own. Returns the load balancers left out and why.
    func install(_ s: ProxySnapshot, serving: Set<String>, policy: TargetPolicy) throws -> [String: String] {
        var rendered = HAProxyConfig.render(s, socket: haproxy.socketPath, serving: serving, policy: policy)
        var leaving = rendered.refused
        var lastError: (any Error)?
        for attempt in 0..<4 {
            do {
                try haproxy.apply(rendered.text)
                for (id, reason) in leaving where rendered.refused[id] != nil {
                    logger.warning("load balancer left out of haproxy", metadata: ["load_balancer": "\(id)", "reason": "\(reason)"])
                }
                return leaving
            } catch let error as HAProxyError {
                lastError = error
                let before = leaving.count
                for lb in HAProxyConfig.loadBalancers(named: error.message, in: s) where leaving[lb] == nil {
                    leaving[lb] = "haproxy refused it: \(HAProxyConfig.firstAlert(error.message))"
                }
                if leaving.count == before || attempt == 2 {
                    for lb in Set(s.listeners.map(\.loadBalancerId)).sorted() where leaving[lb] == nil {
                        let part = HAProxyConfig.render(HAProxyConfig.only(lb, of: s), socket: haproxy.socketPath, serving: serving, policy: policy)
                        do { try haproxy.check(part.text) } catch {
                            leaving[lb] = "haproxy refused it: \(HAProxyConfig.firstAlert("\(error)"))"
                        }
                    }
                }
                rendered = HAProxyConfig.render(s, socket: haproxy.socketPath, serving: serving, leavingOut: leaving, policy: policy)
            }
        }
        throw lastError ?? HAProxyError(message: "haproxy refused the configuration")
    }

    /// Stats right after a (re)load: the new process's socket takes a moment to answer.
    func freshStats() async throws -> [ObservedServer] {
        var lastError: (any Error)?
        for _ in 0..<50 {
            do { return TargetPlan.parseStats(Data(try haproxy.command("show stat json").utf8)) } catch { lastError = error }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw lastError ?? HAProxyError(message: "haproxy's admin socket did not answer")
    }

    struct Loaded: Sendable {
        var proxy: ProxySnapshot
        var loadBalancerIds: [String]
        /// "group/target/port" -> the ECS task that registered it.
        var taskOf: [String: String]
        /// Target-group id -> its account and name, for the metrics it is published under.
        var groups: [String: (account: String, name: String)] = [:]
        /// The target policy with every server's announced endpoints.
        var policy = TargetPolicy()
    }

    /// Everything HAProxy serves, in one read.
    func load() async throws -> Loaded {
        let rows = try await fleet.read()
        let (lbs, listeners, rules, groups, targets, announced) =
            (rows.loadBalancers, rows.listeners, rows.rules, rows.targetGroups, rows.targets, rows.announced)
        let address = Dictionary(uniqueKeysWithValues: lbs.map { ($0.id, $0.address) })
        let rulesByListener = Dictionary(grouping: rules, by: \.listenerId)
        let proxyListeners = listeners.compactMap { l -> ProxySnapshot.Listener? in
            guard let address = address[l.loadBalancerId] else { return nil }
            return ProxySnapshot.Listener(id: l.id, loadBalancerId: l.loadBalancerId, address: address, port: l.port,
                                          rules: (rulesByListener[l.id] ?? []).map {
                                              ProxySnapshot.Rule(id: $0.id, priority: $0.priority, conditions: $0.conditions, actions: $0.actions)
                                          },
                                          defaultActions: l.defaultActions)
        }
        var used: Set<String> = []
        for l in proxyListeners {
            for a in l.defaultActions + l.rules.flatMap(\.actions) {
                for g in a.targetGroups { used.insert(String(g.targetGroupArn.split(separator: "/").last ?? "")) }
            }
        }
        let targetsByGroup = Dictionary(grouping: targets, by: \.targetGroupId)
        let proxyGroups = groups.filter { used.contains($0.id) }.map { g in
            ProxySnapshot.Group(id: g.id, port: g.port, health: g.health, attributes: g.attributes,
                                targets: (targetsByGroup[g.id] ?? []).map {
                                    ProxySnapshot.Target(id: $0.targetId, port: $0.port, address: $0.address, draining: $0.state == .draining,
                                                         task: $0.taskId != nil)
                                })
        }
        var taskOf: [String: String] = [:]
        for t in targets { if let task = t.taskId { taskOf["\(t.targetGroupId)/\(t.targetId)/\(t.port)"] = task } }
        return Loaded(proxy: ProxySnapshot(listeners: proxyListeners, groups: proxyGroups), loadBalancerIds: lbs.map(\.id), taskOf: taskOf,
                      groups: Dictionary(groups.map { ($0.id, (account: $0.account, name: $0.name)) }, uniquingKeysWith: { a, _ in a }),
                      policy: self.policy.adding(announced.compactMap(\.refused)))
    }
}

/// The supervisor's memory between steps: the structure HAProxy runs, when each server was first seen, and the
/// health last written (so unchanged health costs no write).
final class LockedState: Sendable {
    private struct Memory {
        var applied: String?
        var refused: [String: String] = [:]
        var seen: [String: Date] = [:]
        var health: [String: HealthUpdate] = [:]
        var requests = RequestCounts()
        var published = Date.distantPast
    }
    private let memory = Mutex(Memory())

    var applied: String? {
        get { memory.withLock { $0.applied } }
        set { memory.withLock { $0.applied = newValue } }
    }

    /// The load balancers left out of the running configuration, and why.
    var refused: [String: String] {
        get { memory.withLock { $0.refused } }
        set { memory.withLock { $0.refused = newValue } }
    }

    func firstSeen(_ observed: [ObservedServer], now: Date) -> [String: Date] {
        memory.withLock { m in
            let keys = Set(observed.map { "\($0.backend)/\($0.name)" })
            for key in keys where m.seen[key] == nil { m.seen[key] = now }
            m.seen = m.seen.filter { keys.contains($0.key) }
            return m.seen
        }
    }

    func unwritten(_ updates: [HealthUpdate]) -> [HealthUpdate] {
        memory.withLock { m in updates.filter { m.health["\($0.groupId)/\($0.targetId)/\($0.port)"] != $0 } }
    }

    func countRequests(_ totals: [String: Int]) { memory.withLock { $0.requests.observe(totals) } }

    /// The counts to publish, when `every` seconds have passed since the last time and there are any.
    func takeRequests(now: Date, every: TimeInterval) -> [String: Int]? {
        memory.withLock { m in
            guard now.timeIntervalSince(m.published) >= every, !m.requests.pending.isEmpty else { return nil }
            m.published = now
            return m.requests.take()
        }
    }

    func returnRequests(_ counts: [String: Int]) { memory.withLock { $0.requests.restore(counts) } }

    func written(_ updates: [HealthUpdate]) {
        memory.withLock { m in for u in updates { m.health["\(u.groupId)/\(u.targetId)/\(u.port)"] = u } }
    }
}
