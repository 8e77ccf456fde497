import Foundation
import Logging
import PostgresNIO
import StowageModel
import StowageStore

/// Starting a deployment of a service, in one place: CreateService and UpdateService (the API), a changed
/// parameter or secret (the worker), and a rollback (the scheduling pass) all mean the same thing, so they all
/// come here, inside the caller's transaction.
public enum Deployments {
    /// The new deployment becomes the service's PRIMARY (the one it replaces turns ACTIVE and drains as the
    /// rollout proceeds), an event says why when there is a why, and the service is reconciled once the transaction
    /// commits — unless the caller is the reconcile pass itself (`reconcile: false`), which is already running.
    @discardableResult
    public static func start(_ conn: PostgresConnection, account: String, cluster: String, service: String, family: String, revision: Int,
                             event: String? = nil, reconcile: Bool = true, logger: Logger) async throws -> String {
        let services = ServiceStore(logger: logger)
        let id = Identifier.deployment()
        try await services.addDeployment(conn, account: account, cluster: cluster, service: service, id: id, family: family, revision: revision)
        if let event { try await services.addEvents(conn, account: account, cluster: cluster, service: service, [event]) }
        if reconcile { try await JobQueue(logger: logger).reconcile(conn, account: account, cluster: cluster, service: service) }
        return id
    }
}
