import Foundation
import PostgresNIO
import StowageModel
import StowageStore

/// An agent's state report applied to its instance's tasks: idempotent by sequence number, each entry taken only
/// for a task placed on the reporting instance, and a change that matters to a service or to free capacity
/// enqueues its reconcile or placement in the same transaction.
public struct TaskReports: Sendable {
    let tenant: TenantContext
    let stores: ECSStores

    public init(tenant: TenantContext, stores: ECSStores) { self.tenant = tenant; self.stores = stores }

    var account: String { tenant.account }

    /// Applies `reports` (entries the door has checked, by task id) from instance `id` of `cluster`; `ignored` holds
    /// the entries the door set aside, and gains those naming a task of another instance.
    public func apply(cluster: String, id: String, arn: String, reference: String, sequence: Int64,
                      _ reports: [(id: String, report: AgentProtocol.TaskState)], ignored: [String: String]) async throws
        -> AgentProtocol.StateReportAnswer
    {
        let clusters = Clusters(tenant: tenant, stores: stores)
        // The heartbeat (with the liveness checks) commits on its own, before the report's transaction: held to a
        // report's commit, its row would make the agent's concurrent poll wait on a lock while holding a pooled
        // connection, and under a fleet-wide burst those waits exhaust the pool (measured: 0 -> 1,433 503s).
        let reconnected = try await tenant.database.withConnection { conn in
            try await clusters.heartbeat(conn, cluster: cluster, id: id, reference: reference)
        }
        return try await tenant.database.transaction { [self] conn in
            var ignored = ignored
            if reconnected { try await clusters.capacityChanged(conn, cluster: cluster) }
            let known = try await stores.tasks.get(conn, account: account, cluster: cluster, ids: reports.map(\.id))
            let mine = Dictionary(known.filter { $0.instanceId == id }.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            for stranger in reports where mine[stranger.id] == nil {
                ignored[stranger.report.taskArn] = "Task \(stranger.report.taskArn) is not assigned to container instance \(arn)."
            }
            // A task named twice in one report: its last entry counts, as if applied in order.
            var latest = Dictionary(reports.filter { mine[$0.id] != nil }.map { ($0.id, $0.report) }, uniquingKeysWith: { _, last in last })
            let addresses = try await taskAddresses(conn, cluster: cluster, id: id, arn: arn, &latest, mine: mine, ignored: &ignored)
            guard try await stores.instances.recordReport(conn, account: account, cluster: cluster, id: id, sequence: sequence) else {
                return AgentProtocol.StateReportAnswer(accepted: false, sequence: sequence)
            }
            try await TaskAddressStore(logger: tenant.logger).record(conn, account: account, cluster: cluster, instance: id, addresses)
            var services = Set<String>()
            var freed = false
            let applied = try await stores.tasks.applyReports(conn, account: account, cluster: cluster, instanceId: id,
                                                              latest.map { (taskId: $0.key, state: $0.value) })
            let digests = applied.flatMap { task in
                task.containers.compactMap { container -> (service: String, deployment: String, container: String, digest: String)? in
                    guard let service = task.service, let deployment = task.deploymentId, let name = container.name,
                          let digest = container.imageDigest else { return nil }
                    return (service, deployment, name, digest)
                }
            }
            try await stores.services.recordImageDigests(conn, account: account, cluster: cluster, digests)
            for after in applied {
                guard let before = mine[after.id] else { continue }
                let changed = after.lastStatus != before.lastStatus || after.healthStatus != before.healthStatus
                if changed, let service = after.service { services.insert(service) }
                if after.lastStatus == "STOPPED" && before.lastStatus != "STOPPED" { freed = true }
            }
            let queue = JobQueue(logger: tenant.logger)
            for service in services.sorted() { try await queue.reconcile(conn, account: account, cluster: cluster, service: service) }
            if freed { try await queue.place(conn, account: account, cluster: cluster) }
            return AgentProtocol.StateReportAnswer(accepted: true, sequence: sequence, ignored: ignored.isEmpty ? nil : ignored)
        }
    }

    /// The task addresses a report may record, by task id. An agent speaks for its own host only: an address is
    /// taken only for an awsvpc task and only inside the reporting instance's own task subnet; an entry naming any
    /// other is set aside whole (with why), so nothing it says is stored.
    func taskAddresses(_ conn: PostgresConnection, cluster: String, id: String, arn: String, _ latest: inout [String: AgentProtocol.TaskState],
                       mine: [String: TaskRow], ignored: inout [String: String]) async throws -> [String: String] {
        let addressed = latest.filter { $0.value.privateIPv4Address != nil }
        guard !addressed.isEmpty else { return [:] }
        let instance = try await stores.instances.get(conn, account: account, cluster: cluster, ids: [id]).first
        let subnet = instance?.attributes.first { $0.name == AgentProtocol.taskSubnetAttribute }?.value
        var modes: [String: String?] = [:]
        var accepted: [String: String] = [:]
        for (taskId, state) in addressed.sorted(by: { $0.key < $1.key }) {
            guard let task = mine[taskId], let address = state.privateIPv4Address else { continue }
            let key = "\(task.family):\(task.revision)"
            if modes[key] == nil {
                modes[key] = .some(try await stores.taskDefinitions.get(conn, account: account, family: task.family, revision: task.revision)?
                    .body.networkMode)
            }
            let why: String?
            if modes[key] != .some("awsvpc") {
                why = "Task \(state.taskArn) is not an awsvpc task: it has no address of its own."
            } else if let subnet, TaskNetwork.isTaskAddress(address, in: subnet) {
                why = nil
            } else {
                why = "privateIPv4Address '\(address)' is not an address of container instance \(arn)'s task subnet \(subnet ?? "(none)")."
            }
            if let why {
                ignored[state.taskArn] = why
                latest[taskId] = nil
            } else {
                accepted[taskId] = address
            }
        }
        return accepted
    }
}
