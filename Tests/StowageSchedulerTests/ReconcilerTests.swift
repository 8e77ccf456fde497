import Foundation
import StowageModel
import StowageScheduler
import Testing

/// Plays a service forward: applies each plan, then lets the "agent" advance tasks one step.
struct Simulation {
    var service: ServiceSpec
    var deployments: [DeploymentSpec]
    var tasks: [TaskSpec] = []
    var hosts: [HostSpec] = (0..<10).map { HostSpec(id: "h\($0)") }
    var now = Date(timeIntervalSince1970: 1_000_000)
    var nextId = 0
    /// Tasks of these deployments fail to start.
    var failing: Set<String> = []
    var events: [String] = []
    /// Placement is a separate step, as in the control plane: a new task waits this many rounds unplaced.
    var placementDelay = 0
    /// Hosts with no room left: a task bound to one of them is never placed.
    var full: Set<String> = []
    var waiting: [String: Int] = [:]

    init(service: ServiceSpec, deployments: [DeploymentSpec]) {
        self.service = service
        self.deployments = deployments
    }

    mutating func add(_ deployment: String, count: Int, host: String? = nil) {
        for _ in 0..<count {
            nextId += 1
            tasks.append(TaskSpec(id: "t\(nextId)", deploymentId: deployment, hostId: host ?? "h\(nextId % hosts.count)",
                                  lastStatus: .running, health: "HEALTHY", startedAt: now, createdAt: now))
        }
    }

    func plan() -> ReconcilePlan {
        Reconciler.plan(service: service, deployments: deployments, tasks: tasks, hosts: hosts, now: now)
    }

    /// One round: reconcile, apply, then the agent moves every task one step.
    @discardableResult
    mutating func step() -> ReconcilePlan {
        let plan = plan()
        events += plan.events
        for stop in plan.stop {
            if let i = tasks.firstIndex(where: { $0.id == stop.taskId }) { tasks[i].desiredRunning = false }
        }
        for (deployment, count) in plan.start {
            for _ in 0..<count {
                nextId += 1
                tasks.append(TaskSpec(id: "t\(nextId)", deploymentId: deployment, hostId: "h\(nextId % hosts.count)",
                                      lastStatus: .pending, health: "UNKNOWN", createdAt: now))
                delayPlacement(of: tasks.count - 1)
            }
        }
        for start in plan.startOn {
            nextId += 1
            tasks.append(TaskSpec(id: "t\(nextId)", deploymentId: start.deploymentId, hostId: start.hostId,
                                  requiredHostId: start.hostId, lastStatus: .pending, health: "UNKNOWN", createdAt: now))
            delayPlacement(of: tasks.count - 1)
        }
        for (id, change) in plan.rollout {
            if let i = deployments.firstIndex(where: { $0.id == id }) { deployments[i].rolloutState = change.state }
        }
        deployments.removeAll { plan.retire.contains($0.id) }
        if let target = plan.rollbackTo {
            for i in deployments.indices { deployments[i].primary = false }
            deployments.append(DeploymentSpec(id: "rollback\(nextId)", primary: true, taskDefinition: target, createdAt: now))
        }
        now = now.addingTimeInterval(10)
        // Placement binds what has waited long enough, where there is room.
        for (id, rounds) in waiting {
            guard let i = tasks.firstIndex(where: { $0.id == id }) else { continue }
            if rounds > 1 || !tasks[i].desiredRunning { waiting[id] = rounds - 1; continue }
            guard let host = tasks[i].requiredHostId ?? placedHost[id], !full.contains(host) else { continue }
            tasks[i].hostId = host
            waiting[id] = nil
        }
        // The agent: stop what should stop, start what should start (or fail it).
        for i in tasks.indices where tasks[i].lastStatus != .stopped {
            if !tasks[i].desiredRunning {
                if tasks[i].hostId == nil { waiting[tasks[i].id] = nil }
                tasks[i].lastStatus = .stopped
            } else if tasks[i].lastStatus == .pending, tasks[i].hostId != nil {
                if failing.contains(tasks[i].deploymentId) {
                    tasks[i].lastStatus = .stopped
                    tasks[i].stopCode = .taskFailedToStart
                } else {
                    tasks[i].lastStatus = .running
                    tasks[i].health = "HEALTHY"
                    tasks[i].startedAt = now
                }
            }
        }
        return plan
    }

    /// Where a delayed task not bound to a host will go once placed.
    var placedHost: [String: String] = [:]

    mutating func delayPlacement(of index: Int) {
        guard placementDelay > 0 || full.contains(tasks[index].hostId ?? "") else { return }
        placedHost[tasks[index].id] = tasks[index].hostId
        tasks[index].hostId = nil
        waiting[tasks[index].id] = max(1, placementDelay)
    }

    var active: [TaskSpec] { tasks.filter(\.isActive) }
    var healthy: [TaskSpec] { tasks.filter(\.isHealthy) }
    func active(_ deployment: String) -> Int { active.filter { $0.deploymentId == deployment }.count }
    func state(_ deployment: String) -> String? { deployments.first { $0.id == deployment }?.rolloutState }
}

@Suite struct ReconcilerTests {
    func service(_ desired: Int, min: Int = 100, max: Int = 200, breaker: DeploymentCircuitBreaker? = nil) -> ServiceSpec {
        ServiceSpec(name: "web", desiredCount: desired, minimumHealthyPercent: min, maximumPercent: max, circuitBreaker: breaker)
    }

    @Test func scalesUpThenReachesSteadyState() {
        var sim = Simulation(service: service(4), deployments: [DeploymentSpec(id: "d1", primary: true, taskDefinition: "web:1")])
        #expect(sim.step().start == ["d1": 4])
        // Running, but not yet for the stability window: reconciled again when it ends.
        let started = sim.now
        #expect(sim.step().retryAt == started.addingTimeInterval(Reconciler.stabilityWindow))
        #expect(sim.state("d1") == "IN_PROGRESS")
        sim.step()
        #expect(sim.active("d1") == 4)
        #expect(sim.state("d1") == "COMPLETED")
        #expect(sim.events.contains("(service web) has reached a steady state."))
        #expect(sim.step().isEmpty, "a steady service needs nothing")
    }

    @Test func scalesDownStoppingUnhealthyFirst() {
        var sim = Simulation(service: service(4), deployments: [DeploymentSpec(id: "d1", primary: true, taskDefinition: "web:1", rolloutState: "COMPLETED")])
        sim.add("d1", count: 4)
        sim.tasks[3].health = "UNHEALTHY"
        sim.tasks[3].startedAt = nil
        sim.service.desiredCount = 2
        sim.service.healthCheckGracePeriod = 1_000_000_000
        let plan = sim.plan()
        #expect(plan.stop.count == 2)
        #expect(plan.stop.contains { $0.taskId == "t4" }, "the unhealthy task goes first")
        sim.step()
        #expect(sim.active("d1") == 2)
    }

    @Test func protectedTasksAreLeftOutOfScaleInAndDeploymentsUntilTheirProtectionEnds() {
        var sim = Simulation(service: service(3), deployments: [DeploymentSpec(id: "d1", primary: true, taskDefinition: "web:1", rolloutState: "COMPLETED")])
        sim.add("d1", count: 3)
        let until = sim.now.addingTimeInterval(600)
        sim.tasks[0].protectedUntil = until
        sim.tasks[1].protectedUntil = until
        sim.service.desiredCount = 0
        var plan = sim.plan()
        #expect(plan.stop.map(\.taskId) == ["t3"], "only the unprotected task is scaled in")
        #expect(plan.retryAt == until, "reconciled again when the protection ends")
        sim.now = until.addingTimeInterval(1)
        plan = sim.plan()
        #expect(Set(plan.stop.map(\.taskId)) == ["t1", "t2", "t3"], "expired protection protects nothing")

        // A new deployment leaves a protected task of the old one running until its protection ends.
        var rolling = Simulation(service: service(1), deployments: [
            DeploymentSpec(id: "d1", primary: false, taskDefinition: "web:1", rolloutState: "COMPLETED"),
            DeploymentSpec(id: "d2", primary: true, taskDefinition: "web:2")])
        rolling.add("d1", count: 1)
        rolling.tasks[0].protectedUntil = rolling.now.addingTimeInterval(600)
        for _ in 0..<10 { rolling.step() }
        #expect(rolling.active("d1") == 1 && rolling.active("d2") == 1, "the protected old task is kept, the new one runs beside it")
        #expect(rolling.state("d2") != "COMPLETED")
    }

    /// Rolls d1 -> d2 and checks ECS's limits at every step: never more than maximumPercent running,
    /// never fewer than minimumHealthyPercent healthy.
    func rollingUpdate(desired: Int, min: Int, max: Int) {
        var sim = Simulation(service: service(desired, min: min, max: max),
                             deployments: [DeploymentSpec(id: "d1", primary: false, taskDefinition: "web:1", rolloutState: "COMPLETED"),
                                           DeploymentSpec(id: "d2", primary: true, taskDefinition: "web:2")])
        sim.add("d1", count: desired)
        let maxTotal = desired * max / 100
        let minHealthy = Int((Double(desired) * Double(min) / 100).rounded(.up))
        for round in 0..<30 {
            sim.step()
            #expect(sim.active.count <= maxTotal, "round \(round): \(sim.active.count) running > \(maxTotal)")
            #expect(sim.healthy.count >= minHealthy, "round \(round): \(sim.healthy.count) healthy < \(minHealthy)")
            if sim.state("d2") == "COMPLETED" { break }
        }
        #expect(sim.state("d2") == "COMPLETED", "\(min)/\(max) completes")
        #expect(sim.active("d2") == desired && sim.active("d1") == 0)
        #expect(!sim.deployments.contains { $0.id == "d1" }, "the old deployment is retired")
    }

    @Test func rollingUpdate100_200() { rollingUpdate(desired: 4, min: 100, max: 200) }
    @Test func rollingUpdate50_100() { rollingUpdate(desired: 4, min: 50, max: 100) }
    @Test func rollingUpdate0_100() { rollingUpdate(desired: 4, min: 0, max: 100) }
    @Test func rollingUpdateOddCounts() {
        rollingUpdate(desired: 5, min: 50, max: 150)
        rollingUpdate(desired: 1, min: 100, max: 200)
        rollingUpdate(desired: 7, min: 75, max: 125)
    }

    @Test func circuitBreakerTripsAndRollsBack() {
        var sim = Simulation(service: service(4, breaker: DeploymentCircuitBreaker(enable: true, rollback: true)),
                             deployments: [DeploymentSpec(id: "d1", primary: false, taskDefinition: "web:1", rolloutState: "COMPLETED"),
                                           DeploymentSpec(id: "d2", primary: true, taskDefinition: "web:2", createdAt: Date(timeIntervalSince1970: 5))])
        sim.add("d1", count: 4)
        sim.failing = ["d2"]
        #expect(Reconciler.failureThreshold(desired: 4) == 3)
        #expect(Reconciler.failureThreshold(desired: 1000) == 200)
        #expect(Reconciler.failureThreshold(desired: 10) == 5)
        var tripped = false
        for _ in 0..<10 {
            let plan = sim.step()
            #expect(sim.healthy.count >= 4, "the old tasks keep serving while the new ones fail")
            if plan.rollbackTo != nil {
                #expect(plan.rollbackTo == "web:1")
                #expect(plan.rollout["d2"]?.state == "FAILED")
                tripped = true
                break
            }
        }
        #expect(tripped)
        #expect(sim.events.contains { $0.contains("deployment failed") })
        #expect(sim.events.contains { $0.contains("rolling back to web:1") })
        sim.failing = []
        for _ in 0..<10 { sim.step() }
        let rolledBack = sim.deployments.first { $0.primary }
        #expect(rolledBack?.taskDefinition == "web:1" && rolledBack?.rolloutState == "COMPLETED")
        #expect(sim.active.count == 4)
    }

    @Test func circuitBreakerWithoutRollbackStopsLaunching() {
        var sim = Simulation(service: service(2, breaker: DeploymentCircuitBreaker(enable: true, rollback: false)),
                             deployments: [DeploymentSpec(id: "d2", primary: true, taskDefinition: "web:2")])
        sim.failing = ["d2"]
        for _ in 0..<8 { sim.step() }
        #expect(sim.state("d2") == "FAILED")
        let launched = sim.tasks.count
        for _ in 0..<3 { sim.step() }
        #expect(sim.tasks.count == launched, "a FAILED deployment launches nothing more")
    }

    @Test func stoppedTasksAreReplaced() {
        var sim = Simulation(service: service(3), deployments: [DeploymentSpec(id: "d1", primary: true, taskDefinition: "web:1", rolloutState: "COMPLETED")])
        sim.add("d1", count: 3)
        sim.tasks[0].lastStatus = .stopped
        sim.tasks[0].stopCode = .essentialContainerExited
        #expect(sim.step().start == ["d1": 1])
        sim.step()
        #expect(sim.active("d1") == 3)
    }

    @Test func drainingInstanceTasksAreReplacedFirst() {
        var sim = Simulation(service: service(4, min: 100, max: 200),
                             deployments: [DeploymentSpec(id: "d1", primary: true, taskDefinition: "web:1", rolloutState: "COMPLETED")])
        sim.add("d1", count: 2, host: "h1")
        sim.add("d1", count: 2, host: "h2")
        sim.hosts[1].draining = true
        let first = sim.plan()
        #expect(first.start == ["d1": 2], "replacements start first")
        #expect(first.stop.isEmpty, "nothing on the draining host stops before its replacements are healthy")
        for _ in 0..<4 {
            sim.step()
            #expect(sim.healthy.count >= 4)
        }
        #expect(sim.active.filter { $0.hostId == "h1" }.isEmpty)
        #expect(sim.active("d1") == 4)
    }

    @Test func daemonRunsOnePerEligibleInstanceAsTheyJoinAndLeave() {
        var sim = Simulation(service: ServiceSpec(name: "agent", desiredCount: 0, daemon: true, minimumHealthyPercent: 0, maximumPercent: 100),
                             deployments: [DeploymentSpec(id: "d1", primary: true, taskDefinition: "agent:1")])
        sim.hosts = [HostSpec(id: "a"), HostSpec(id: "b"), HostSpec(id: "c", eligible: false)]
        let first = sim.step()
        #expect(Set(first.startOn.map(\.hostId)) == ["a", "b"])
        #expect(first.daemonDesired == 2)
        for _ in 0..<2 { sim.step() }
        #expect(sim.state("d1") == "COMPLETED")
        sim.hosts.append(HostSpec(id: "d"))
        #expect(sim.step().startOn.map(\.hostId) == ["d"], "a joining instance gets its task")
        sim.hosts.removeAll { $0.id == "a" }
        let leaving = sim.step()
        #expect(leaving.stop.count == 1, "the departed instance's task is stopped")
        #expect(sim.active.map { $0.hostId ?? "" }.sorted() == ["b", "d"])
        // A new revision replaces each daemon task in place.
        sim.deployments = [DeploymentSpec(id: "d1", primary: false, taskDefinition: "agent:1", rolloutState: "COMPLETED"),
                           DeploymentSpec(id: "d2", primary: true, taskDefinition: "agent:2")]
        for _ in 0..<4 { sim.step() }
        #expect(sim.active.allSatisfy { $0.deploymentId == "d2" } && sim.active.count == 2)
        #expect(sim.state("d2") == "COMPLETED")
    }

    /// A DAEMON task created for a host but not yet placed is that host's task: the next reconcile must not
    /// take it for a lost task, stop it and start another (forever, when the host is full).
    @Test func daemonTasksWaitingForPlacementAreNotReplaced() {
        var sim = Simulation(service: ServiceSpec(name: "agent", desiredCount: 0, daemon: true, minimumHealthyPercent: 0, maximumPercent: 100),
                             deployments: [DeploymentSpec(id: "d1", primary: true, taskDefinition: "agent:1")])
        sim.hosts = [HostSpec(id: "a"), HostSpec(id: "b")]
        sim.placementDelay = 3
        sim.full = ["b"]
        var stops = 0
        for _ in 0..<8 { stops += sim.step().stop.count }
        #expect(stops == 0, "no waiting daemon task was stopped")
        #expect(sim.tasks.count == 2, "one task per host, none replaced")
        #expect(sim.active.first { $0.requiredHostId == "a" }?.lastStatus == .running)
        #expect(sim.active.first { $0.requiredHostId == "b" }?.hostId == nil, "the full host's task still waits")
        #expect(sim.state("d1") == "IN_PROGRESS")
    }

    /// A replica task still waiting for placement counts toward the desired count: nothing more is started.
    @Test func replicaTasksWaitingForPlacementCount() {
        var sim = Simulation(service: service(3), deployments: [DeploymentSpec(id: "d1", primary: true, taskDefinition: "web:1")])
        sim.placementDelay = 2
        var started = 0
        for _ in 0..<6 { started += sim.step().start.values.reduce(0, +) }
        #expect(started == 3)
        #expect(sim.healthy.count == 3 && sim.state("d1") == "COMPLETED")
    }

    @Test func deletedServiceStopsEverything() {
        var sim = Simulation(service: service(3), deployments: [DeploymentSpec(id: "d1", primary: true, taskDefinition: "web:1")])
        sim.add("d1", count: 3)
        sim.service.active = false
        #expect(sim.step().stop.count == 3)
        #expect(sim.active.isEmpty)
    }

    @Test func unhealthyTasksWaitForTheGracePeriod() {
        var sim = Simulation(service: service(2), deployments: [DeploymentSpec(id: "d1", primary: true, taskDefinition: "web:1", rolloutState: "COMPLETED")])
        sim.service.healthCheckGracePeriod = 60
        sim.add("d1", count: 2)
        sim.tasks[0].health = "UNHEALTHY"
        #expect(sim.plan().stop.isEmpty, "inside the grace period")
        sim.now = sim.now.addingTimeInterval(61)
        #expect(sim.plan().stop.map(\.taskId) == ["t1"])
    }
}

@Suite struct CrashLoopTests {
    @Test func failuresBackOffExponentiallyAndSayWhy() {
        let now = Date(timeIntervalSince1970: 2_000_000)
        func failed(_ id: String, _ secondsAgo: Double) -> TaskSpec {
            TaskSpec(id: id, deploymentId: "d1", lastStatus: .stopped, desiredRunning: false, stopCode: .essentialContainerExited,
                     stoppedAt: now.addingTimeInterval(-secondsAgo), exitCode: 1)
        }
        let service = ServiceSpec(name: "web", desiredCount: 1)
        let deployments = [DeploymentSpec(id: "d1", primary: true, taskDefinition: "web:1", rolloutState: "COMPLETED")]
        let two = [failed("a", 50), failed("b", 30)]
        #expect(Reconciler.plan(service: service, deployments: deployments, tasks: two, hosts: [], now: now).start == ["d1": 1],
                "two failures are not yet a loop")
        let three = two + [failed("c", 4)]
        let held = Reconciler.plan(service: service, deployments: deployments, tasks: three, hosts: [], now: now)
        #expect(held.start.isEmpty)
        #expect(held.retryAt == now.addingTimeInterval(6))
        #expect(held.events.contains("(service web) task c exited 1; tasks failed three times in 1 minute; backing off 10 s before starting more."))
        let later = Reconciler.plan(service: service, deployments: deployments, tasks: three, hosts: [], now: now.addingTimeInterval(7))
        #expect(later.start == ["d1": 1], "after the backoff a replacement starts")
        let five = three + [failed("d", 3), failed("e", 2)]
        #expect(Reconciler.plan(service: service, deployments: deployments, tasks: five, hosts: [], now: now).retryAt == now.addingTimeInterval(-2 + 40))
        let old = [failed("x", 400), failed("y", 390), failed("z", 380)]
        #expect(Reconciler.plan(service: service, deployments: deployments, tasks: old, hosts: [], now: now).start == ["d1": 1],
                "failures older than five minutes do not count")
    }
}
