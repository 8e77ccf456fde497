import Foundation
import PostgresNIO
import StowageModel
import StowageStore

/// An awsvpc task's network as DescribeTasks shows it: the ENI attachment ECS would have made, and each container's
/// network interface entry.
public struct TaskNetworkView: Sendable, Equatable {
    public var attachment: JSONValue
    public var networkInterface: JSONValue
}

extension Tasks {
    /// The awsvpc tasks among `rows`, by task id, with their reported addresses and the subnet their instance is in.
    public func networks(cluster: String, _ rows: [TaskRow]) async throws -> [String: TaskNetworkView] {
        guard !rows.isEmpty else { return [:] }
        return try await tenant.database.withConnection { [self] conn in
            var awsvpc: [TaskRow] = []
            var modes: [String: Bool] = [:]
            for t in rows {
                let key = "\(t.family):\(t.revision)"
                if modes[key] == nil {
                    modes[key] = try await stores.taskDefinitions.get(conn, account: account, family: t.family, revision: t.revision)?
                        .body.networkMode == "awsvpc"
                }
                if modes[key] == true { awsvpc.append(t) }
            }
            guard !awsvpc.isEmpty else { return [:] }
            let addresses = try await TaskAddressStore(logger: tenant.logger).addresses(conn, account: account, cluster: cluster,
                                                                                         ids: awsvpc.map(\.id))
            let hosts = try await stores.instances.get(conn, account: account, cluster: cluster, ids: Array(Set(awsvpc.compactMap(\.instanceId))))
            let subnets = Dictionary(hosts.map { h in (h.id, h.attributes.first { $0.name == AgentProtocol.subnetAttribute }?.value) },
                                     uniquingKeysWith: { a, _ in a })
            var out: [String: TaskNetworkView] = [:]
            for t in awsvpc {
                let subnet = TaskNetwork.subnetId(instanceSubnet: t.instanceId.flatMap { subnets[$0] ?? nil }, requested: t.launch?.subnets,
                                                    instanceId: t.instanceId)
                let (attachment, interface) = TaskNetwork.attachment(taskId: t.id, subnetId: subnet, address: addresses[t.id],
                                                                     stopped: t.lastStatus == "STOPPED")
                out[t.id] = TaskNetworkView(attachment: attachment, networkInterface: interface)
            }
            return out
        }
    }
}
