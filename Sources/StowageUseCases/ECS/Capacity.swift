import Foundation
import PostgresNIO
import StowageModel
import StowageStore

extension Clusters {
    /// Capacity or eligibility changed (an instance joined, drained, left or its agent came back): every service of
    /// the cluster reconciles, and waiting tasks get another placement pass. Runs in the caller's transaction, so the
    /// jobs exist exactly when the change does.
    public func capacityChanged(_ conn: PostgresConnection, cluster: String) async throws {
        let queue = JobQueue(logger: tenant.logger)
        for service in try await stores.services.live(conn, account: tenant.account, cluster: cluster) {
            try await queue.reconcile(conn, account: tenant.account, cluster: cluster, service: service.name)
        }
        try await queue.place(conn, account: tenant.account, cluster: cluster)
    }
}

extension TaskDefinitionRow {
    /// The revision as ECS shows it: its ARN, its stored bookkeeping and ECS's defaults filled in.
    public func model(_ scope: ARNScope, account: String) -> TaskDefinition {
        var d = body
        d.taskDefinitionArn = scope.taskDefinition(account, family: family, revision: revision)
        d.family = family
        d.revision = revision
        d.status = status
        d.registeredAt = registeredAt
        d.deregisteredAt = deregisteredAt
        d.registeredBy = registeredBy
        return d.withECSDefaults()
    }
}
