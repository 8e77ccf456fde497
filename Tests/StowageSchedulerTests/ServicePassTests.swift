import Foundation
import StowageModel
import StowageScheduler
import Testing

/// Whole service passes without a database: a cluster snapshot built in memory, `ClusterPlanner.plan`, and the plan's
/// writes asserted (which tasks stop and why, which rows are made and where they are bound, deployment changes,
/// events, agents woken).
@Suite struct ServicePassTests {
    static let now = Date(timeIntervalSince1970: 2_000_000)
    static let definitions: [String: TaskDefinition] = ["web:1": definition(memory: 256), "web:2": definition(memory: 256)]

    static func definition(memory: Int) -> TaskDefinition {
        var container = ContainerDefinition(name: "app", image: "busybox")
        container.cpu = 128
        container.memory = memory
        var definition = TaskDefinition()
        definition.family = "web"
        definition.containerDefinitions = [container]
        return definition
    }

    static func instance(_ id: String, status: String = "ACTIVE", connected: Bool = true, memory: Int = 2048) -> SnapshotInstance {
        SnapshotInstance(id: id, ec2InstanceId: "i-\(id)", status: status, agentConnected: connected,
                         registeredResources: [Resource(name: "CPU", integer: 2048), Resource(name: "MEMORY", integer: memory)])
    }

    /// A task of the service, RUNNING and HEALTHY on `host` unless told otherwise; older ids were made earlier.
    static func task(_ id: String, on host: String?, deployment: String = "d1", revision: Int = 1, lastStatus: String = "RUNNING",
                     desiredStatus: String = "RUNNING", stopCode: StopCode? = nil, age: TimeInterval = 600) -> SnapshotTask {
        let made = now.addingTimeInterval(-age)
        return SnapshotTask(id: id, family: "web", revision: revision, service: "web", deploymentId: deployment, startedBy: "ecs-svc/\(deployment)",
                            group: "service:web", instanceId: host, lastStatus: lastStatus, desiredStatus: desiredStatus,
                            healthStatus: lastStatus == "RUNNING" ? "HEALTHY" : "UNKNOWN", cpu: 128, memory: 256,
                            containers: [Container(name: "app")], createdAt: made, startedAt: lastStatus == "RUNNING" ? made : nil,
                            stoppedAt: lastStatus == "STOPPED" ? now.addingTimeInterval(-30) : nil, stopCode: stopCode?.rawValue)
    }

    static func service(desired: Int, daemon: Bool = false, config: DeploymentConfiguration = DeploymentConfiguration(),
                        deployments: [SnapshotDeployment] = [SnapshotDeployment(id: "d1", status: "PRIMARY", family: "web", revision: 1)],
                        tasks: [SnapshotTask]) -> SnapshotService {
        SnapshotService(name: "web", desiredCount: desired, schedulingStrategy: daemon ? "DAEMON" : "REPLICA", deploymentConfiguration: config,
                        deployments: deployments, tasks: tasks)
    }

    static func snapshot(_ instances: [SnapshotInstance], _ service: SnapshotService, events: [String] = []) -> ClusterSnapshot {
        ClusterSnapshot(account: "123456789012", cluster: "default", instances: instances,
                        liveTasks: service.tasks.filter { $0.lastStatus != "STOPPED" }, definitions: definitions, service: service,
                        recentEvents: ["web": events.map { ServiceEvent(id: nil, createdAt: now.addingTimeInterval(-60), message: $0) }])
    }

    /// The plan, with new task ids n1, n2, ... so tests can name them.
    static func plan(_ snapshot: ClusterSnapshot) throws -> ClusterPlan {
        var minted = 0
        return try ClusterPlanner.plan(snapshot, now: now) {
            minted += 1
            return "n\(minted)"
        }
    }

    static func bound(_ plan: ClusterPlan) -> [String: String] {
        Dictionary(plan.bindings.map { ($0.taskId, $0.instanceId) }, uniquingKeysWith: { a, _ in a })
    }

    static func messages(_ plan: ClusterPlan) -> [String] { plan.events.map(\.message) }

    // MARK: Replica

    @Test func aReplicaServiceScalesUpOntoTheEmptierInstances() throws {
        let plan = try Self.plan(Self.snapshot([Self.instance("h0"), Self.instance("h1")],
                                               Self.service(desired: 3, tasks: [Self.task("t1", on: "h0")])))
        #expect(plan.stops.isEmpty)
        #expect(plan.newTasks.map(\.id) == ["n1", "n2"])
        #expect(plan.newTasks.allSatisfy { $0.deploymentId == "d1" && $0.startedBy == "ecs-svc/d1" && $0.group == "service:web" && $0.memory == 256 })
        // Spread by instance: the first goes where nothing of the service runs, the second breaks the tie by order.
        #expect(Self.bound(plan) == ["n1": "h1", "n2": "h0"])
        #expect(plan.notify == ["h0", "h1"])
        #expect(Self.messages(plan) == ["(service web) has started 2 tasks: (task n1) (task n2)."])
    }

    @Test func aReplicaServiceScalesDownByStoppingItsNewestTasks() throws {
        let tasks = [Self.task("t1", on: "h0", age: 900), Self.task("t2", on: "h1", age: 600), Self.task("t3", on: "h0", age: 300)]
        let plan = try Self.plan(Self.snapshot([Self.instance("h0"), Self.instance("h1")], Self.service(desired: 1, tasks: tasks)))
        #expect(plan.newTasks.isEmpty && plan.bindings.isEmpty)
        #expect(plan.stops.map(\.taskId).sorted() == ["t2", "t3"])
        #expect(plan.stops.allSatisfy { $0.reason == "Scaling activity initiated by (deployment d1)" && $0.code == .serviceSchedulerInitiated })
        #expect(plan.notify == ["h0", "h1"])
        #expect(Self.messages(plan).contains { $0.hasPrefix("(service web) has stopped 2 running tasks:") })
    }

    @Test func aTaskThatFitsNowhereIsStillMadeAndSaysWhyOnce() throws {
        let full = [Self.instance("h0", memory: 256)]
        let reason = "(service web) was unable to place a task because no container instance met all of its requirements. The closest matching container instance has insufficient memory available (RESOURCE:MEMORY)."
        let plan = try Self.plan(Self.snapshot(full, Self.service(desired: 2, tasks: [Self.task("t1", on: "h0")])))
        #expect(plan.newTasks.map(\.id) == ["n1"])
        #expect(plan.bindings.isEmpty)
        #expect(plan.placement.failed == ["n1": "RESOURCE:MEMORY"])
        #expect(Self.messages(plan) == [reason])
        // Said within the last five minutes already: not again.
        let again = try Self.plan(Self.snapshot(full, Self.service(desired: 2, tasks: [Self.task("t1", on: "h0")]), events: [reason]))
        #expect(again.newTasks.count == 1 && again.events.isEmpty)
    }

    // MARK: Daemon

    @Test func aDaemonServiceStartsOneTaskOnANewInstance() throws {
        let tasks = [Self.task("t1", on: "h0"), Self.task("t2", on: "h1")]
        let plan = try Self.plan(Self.snapshot([Self.instance("h0"), Self.instance("h1"), Self.instance("h2")],
                                               Self.service(desired: 2, daemon: true, tasks: tasks)))
        #expect(plan.stops.isEmpty)
        #expect(plan.newTasks.map(\.requiredInstanceId) == ["h2"])
        #expect(Self.bound(plan) == ["n1": "h2"])
        #expect(plan.desiredCount == 3)
        #expect(plan.notify == ["h2"])
    }

    // MARK: Deployments

    @Test func aRollingDeploymentKeepsHalfHealthyAndNeverRunsMoreThanDesired() throws {
        let config = DeploymentConfiguration(maximumPercent: 100, minimumHealthyPercent: 50)
        let deployments = [SnapshotDeployment(id: "d2", status: "PRIMARY", family: "web", revision: 2, createdAt: Self.now),
                           SnapshotDeployment(id: "d1", status: "ACTIVE", family: "web", revision: 1, rolloutState: "COMPLETED")]
        let hosts = [Self.instance("h0"), Self.instance("h1")]
        var tasks = (1...4).map { Self.task("t\($0)", on: "h\($0 % 2)", age: TimeInterval(1000 - $0)) }
        // No room above 100%: two old tasks stop first (the oldest), two stay healthy.
        let first = try Self.plan(Self.snapshot(hosts, Self.service(desired: 4, config: config, deployments: deployments, tasks: tasks)))
        #expect(first.newTasks.isEmpty)
        #expect(first.stops.map(\.taskId) == ["t1", "t2"])
        #expect(first.stops.allSatisfy { $0.reason == "Replaced by (deployment d2)" })
        // Once they have stopped, two of the new revision start; the two old ones stay until those are healthy.
        for i in 0..<2 {
            tasks[i].desiredStatus = "STOPPED"
            tasks[i].lastStatus = "STOPPED"
        }
        let second = try Self.plan(Self.snapshot(hosts, Self.service(desired: 4, config: config, deployments: deployments, tasks: tasks)))
        #expect(second.stops.isEmpty)
        #expect(second.newTasks.count == 2)
        #expect(second.newTasks.allSatisfy { $0.deploymentId == "d2" && $0.revision == 2 })
        #expect(Set(Self.bound(second).values) == ["h0", "h1"])
        #expect(second.rollouts.isEmpty)
    }

    @Test func theCircuitBreakerRollsBackAfterFailedTasks() throws {
        let config = DeploymentConfiguration(circuitBreaker: DeploymentCircuitBreaker(enable: true, rollback: true))
        let deployments = [SnapshotDeployment(id: "d2", status: "PRIMARY", family: "web", revision: 2, createdAt: Self.now),
                           SnapshotDeployment(id: "d1", status: "ACTIVE", family: "web", revision: 1, rolloutState: "COMPLETED")]
        let failed = (1...3).map {
            Self.task("f\($0)", on: "h0", deployment: "d2", revision: 2, lastStatus: "STOPPED", desiredStatus: "STOPPED", stopCode: .taskFailedToStart)
        }
        let plan = try Self.plan(Self.snapshot([Self.instance("h0")], Self.service(
            desired: 2, config: config, deployments: deployments, tasks: [Self.task("t1", on: "h0"), Self.task("t2", on: "h0")] + failed)))
        #expect(plan.rollouts["d2"]?.state == "FAILED")
        #expect(plan.rollback?.family == "web" && plan.rollback?.revision == 1)
        #expect(plan.reconcileAfter == [0])
        #expect(plan.stops.isEmpty && plan.newTasks.isEmpty)
        #expect(Self.messages(plan) == ["(service web) (deployment d2) deployment failed: 3 tasks failed to start.",
                                        "(service web) (deployment d2) rolling back to web:1."])
    }

    /// The user's report: `bad:1`'s container exits a moment after RUNNING. One RUNNING report must not complete the
    /// deployment; its crashes count toward the breaker, which rolls back to the revision still kept.
    @Test func aCrashRightAfterRunningTripsTheBreakerAndRollsBack() throws {
        let config = DeploymentConfiguration(circuitBreaker: DeploymentCircuitBreaker(enable: true, rollback: true))
        let deployments = [SnapshotDeployment(id: "d2", status: "PRIMARY", family: "web", revision: 2, createdAt: Self.now),
                           SnapshotDeployment(id: "d1", status: "ACTIVE", family: "web", revision: 1, rolloutState: "COMPLETED")]
        let hosts = [Self.instance("h0")]
        func pass(_ tasks: [SnapshotTask]) throws -> ClusterPlan {
            try Self.plan(Self.snapshot(hosts, Self.service(desired: 1, config: config, deployments: deployments, tasks: tasks)))
        }
        var old = Self.task("t1", on: "h0")
        let fresh = Self.task("b1", on: "h0", deployment: "d2", revision: 2, age: 1)
        // The new task runs: the old one may stop (100% healthy stays), but the deployment is not done.
        let first = try pass([old, fresh])
        #expect(first.stops.map(\.taskId) == ["t1"])
        #expect(first.rollouts.isEmpty && first.retire.isEmpty)
        old.lastStatus = "STOPPED"
        old.desiredStatus = "STOPPED"
        old.stopCode = StopCode.serviceSchedulerInitiated.rawValue
        let running = try pass([old, fresh])
        #expect(running.rollouts.isEmpty && running.retire.isEmpty, "one RUNNING moment is not a steady state")
        #expect(running.reconcileAfter == [Reconciler.stabilityWindow - 1 + 0.5], "reconciled again when the window ends")
        // It exits; so do its replacements (one replaced for failing its health checks): three failures trip the breaker.
        func crashed(_ id: String, _ code: StopCode) -> SnapshotTask {
            var task = Self.task(id, on: "h0", deployment: "d2", revision: 2, lastStatus: "STOPPED", desiredStatus: "STOPPED", stopCode: code)
            task.stoppedAt = Self.now.addingTimeInterval(-2)
            return task
        }
        var unhealthy = crashed("b3", .serviceSchedulerInitiated)
        unhealthy.healthStatus = "UNHEALTHY"
        let two = try pass([old, crashed("b1", .essentialContainerExited), crashed("b2", .essentialContainerExited)])
        #expect(two.rollouts.isEmpty && two.rollback == nil && two.newTasks.count == 1, "two failures: a replacement starts")
        let tripped = try pass([old, crashed("b1", .essentialContainerExited), crashed("b2", .essentialContainerExited), unhealthy])
        #expect(tripped.rollouts["d2"]?.state == "FAILED")
        #expect(tripped.rollback?.family == "web" && tripped.rollback?.revision == 1)
        #expect(Self.messages(tripped).contains("(service web) (deployment d2) rolling back to web:1."))
        // The rollback deployment starts at once: the failed revision's crashes do not back it off.
        let rolledBack = [SnapshotDeployment(id: "d3", status: "PRIMARY", family: "web", revision: 1, createdAt: Self.now),
                          SnapshotDeployment(id: "d2", status: "ACTIVE", family: "web", revision: 2, rolloutState: "FAILED"),
                          SnapshotDeployment(id: "d1", status: "ACTIVE", family: "web", revision: 1, rolloutState: "COMPLETED")]
        let back = try Self.plan(Self.snapshot(hosts, Self.service(desired: 1, config: config, deployments: rolledBack, tasks: [
            old, crashed("b1", .essentialContainerExited), crashed("b2", .essentialContainerExited), crashed("b4", .essentialContainerExited)])))
        #expect(back.newTasks.map(\.deploymentId) == ["d3"] && back.newTasks.first?.revision == 1)
    }

    @Test func aHealthyDeploymentCompletesOnlyAfterTheStabilityWindow() throws {
        let deployments = [SnapshotDeployment(id: "d2", status: "PRIMARY", family: "web", revision: 2, createdAt: Self.now),
                           SnapshotDeployment(id: "d1", status: "ACTIVE", family: "web", revision: 1, rolloutState: "COMPLETED")]
        func pass(ages: [TimeInterval]) throws -> ClusterPlan {
            let tasks = ages.enumerated().map { Self.task("n\($0.offset)", on: "h0", deployment: "d2", revision: 2, age: $0.element) }
            return try Self.plan(Self.snapshot([Self.instance("h0")], Self.service(desired: 2, deployments: deployments, tasks: tasks)))
        }
        let early = try pass(ages: [6, 3])
        #expect(early.rollouts.isEmpty && early.retire.isEmpty && early.stops.isEmpty && early.newTasks.isEmpty)
        // The window runs from the latest task's start.
        #expect(early.reconcileAfter == [Reconciler.stabilityWindow - 3 + 0.5])
        let done = try pass(ages: [6 + Reconciler.stabilityWindow, 3 + Reconciler.stabilityWindow])
        #expect(done.rollouts["d2"]?.state == "COMPLETED")
        #expect(done.retire == ["d1"])
        #expect(done.reconcileAfter.isEmpty)
        #expect(Self.messages(done) == ["(service web) (deployment d2) deployment completed.", "(service web) has reached a steady state."])
    }

    @Test func aTaskThatStopsAfterTheDeploymentCompletedDoesNotTripTheBreaker() throws {
        let config = DeploymentConfiguration(circuitBreaker: DeploymentCircuitBreaker(enable: true, rollback: true))
        let deployments = [SnapshotDeployment(id: "d2", status: "PRIMARY", family: "web", revision: 2, rolloutState: "COMPLETED")]
        let crashed = (1...3).map {
            Self.task("c\($0)", on: "h0", deployment: "d2", revision: 2, lastStatus: "STOPPED", desiredStatus: "STOPPED",
                      stopCode: .essentialContainerExited)
        }
        let plan = try Self.plan(Self.snapshot([Self.instance("h0")], Self.service(
            desired: 2, config: config, deployments: deployments, tasks: [Self.task("t1", on: "h0", deployment: "d2", revision: 2)] + crashed)))
        #expect(plan.rollouts.isEmpty && plan.rollback == nil)
        #expect(plan.newTasks.map(\.deploymentId) == ["d2"], "the crashed task is replaced")
    }

    // MARK: Instances going away

    @Test func aDrainingInstanceIsReplacedBeforeItsTasksStop() throws {
        let hosts = [Self.instance("h0", status: "DRAINING"), Self.instance("h1")]
        var tasks = [Self.task("t1", on: "h0"), Self.task("t2", on: "h0")]
        // Replacements first, on the ACTIVE instance; nothing stops while they would leave fewer than 100% healthy.
        let first = try Self.plan(Self.snapshot(hosts, Self.service(desired: 2, tasks: tasks)))
        #expect(first.stops.isEmpty)
        #expect(Self.bound(first) == ["n1": "h1", "n2": "h1"])
        // Once they run, the draining instance's tasks stop, saying why.
        tasks += [Self.task("n1", on: "h1", age: 10), Self.task("n2", on: "h1", age: 10)]
        let second = try Self.plan(Self.snapshot(hosts, Self.service(desired: 2, tasks: tasks)))
        #expect(second.newTasks.isEmpty)
        #expect(second.stops.map(\.taskId).sorted() == ["t1", "t2"])
        #expect(second.stops.allSatisfy { $0.reason == "Container instance is draining" })
        #expect(second.notify == ["h0"])
    }

    @Test func tasksStoppedAsHostLostAreReplacedOnInstancesThatReport() throws {
        // The host-loss sweep stopped h1's task and marked h1 disconnected: the pass starts its replacement elsewhere.
        let hosts = [Self.instance("h0"), Self.instance("h1", connected: false)]
        let lost = Self.task("t2", on: "h1", lastStatus: "STOPPED", desiredStatus: "STOPPED", stopCode: .serviceSchedulerInitiated)
        let plan = try Self.plan(Self.snapshot(hosts, Self.service(desired: 2, tasks: [Self.task("t1", on: "h0"), lost])))
        #expect(plan.stops.isEmpty)
        #expect(Self.bound(plan) == ["n1": "h0"])
        #expect(plan.notify == ["h0"])
        // With no instance that reports, the replacement waits, and the event says there is none.
        let nowhere = try Self.plan(Self.snapshot([Self.instance("h1", connected: false)], Self.service(desired: 1, tasks: [lost])))
        #expect(nowhere.newTasks.count == 1 && nowhere.bindings.isEmpty)
        #expect(nowhere.placement.failed["n1"] == "No Container Instances were found in your cluster.")
    }

    @Test func aStoppedTaskBehindALoadBalancerDrainsFirst() throws {
        let binding = LoadBalancerBinding(targetGroupId: "tg1", targetGroupArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/tg1",
                                          targetType: "instance", containerName: "app", containerPort: 80, deregistrationDelay: 30)
        var service = Self.service(desired: 1, tasks: [Self.task("t1", on: "h0", age: 900), Self.task("t2", on: "h0", age: 300)])
        service.loadBalancers = [binding]
        service.targets = ["t1", "t2"].enumerated().map {
            RegisteredTarget(targetGroupId: "tg1", targetId: "i-h0", port: 49153 + $0.offset, taskId: $0.element, state: .healthy)
        }
        let plan = try Self.plan(Self.snapshot([Self.instance("h0")], service))
        #expect(plan.stops.map(\.taskId) == ["t2"])
        #expect(plan.drains == ["t2": Self.now.addingTimeInterval(30)])
        #expect(plan.reconcileAfter == [30.5])
        #expect(plan.targets.deregister.map(\.port) == [49154])
        #expect(plan.targets.register.isEmpty)
    }
}
