import Foundation
import PostgresNIO
import StowageModel
import StowageStore

extension AgentTasks {
    /// The routes an agent installs so its tasks reach the tasks of the account's other hosts by address: each other
    /// ACTIVE or DRAINING instance's task subnet via its host address. Never another account's: a tenant's hosts
    /// route only to its own tasks.
    public func taskRoutes(cluster: String, id: String, reference: String) async throws -> [AgentProtocol.TaskRoute] {
        try await tenant.database.withConnection { [self] conn in
            _ = try await Clusters(tenant: tenant, stores: stores).liveInstance(conn, cluster: cluster, id: id, reference: reference)
            return try await TaskSubnetStore(logger: tenant.logger).holders(conn, account: account)
                .filter { !($0.cluster == cluster && $0.instance == id) }.map(\.route)
        }
    }
}
