import Foundation
import PostgresNIO
import StowageModel
import StowageStore

/// A resource's tags for `aws:ResourceTag/…` conditions, read before the policy is evaluated. Only the caller's
/// own account is read: an ARN naming another account has no tags here, so no condition can probe another tenant.
public struct ResourceTags: Sendable {
    let database: Database
    let ecs: ECSStores
    let parameters: ParameterStore
    let secrets: SecretStore
    let loadBalancing: LoadBalancerStore

    public init(database: Database, ecs: ECSStores, parameters: ParameterStore, secrets: SecretStore, loadBalancing: LoadBalancerStore) {
        self.database = database; self.ecs = ecs; self.parameters = parameters; self.secrets = secrets; self.loadBalancing = loadBalancing
    }

    /// Empty for resources that take no tags, do not exist or belong to another account.
    public func tags(account: String, arn text: String) async throws -> [String: String] {
        guard let arn = ARN(text), arn.account == account else { return [:] }
        let tags: [Tag] = try await database.withConnection { [self] conn in
            switch arn.service {
            case "ssm":
                return try await parameters.latest(conn, account: account, name: ParameterRules.reference(text).name)?.tags ?? []
            case "secretsmanager":
                guard case .arn(_, let name, _) = SecretRules.reference(text) else { return [] }
                return try await secrets.get(conn, account: account, name: name)?.tags ?? []
            case "elasticloadbalancing":
                return try await loadBalancerTags(conn, account: account, arn: text)
            case "ecs":
                return try await ecsTags(conn, account: account, arn: arn)
            default:
                return []
            }
        }
        return tags.dictionary
    }

    func loadBalancerTags(_ conn: PostgresConnection, account: String, arn text: String) async throws -> [Tag] {
        switch ELB.resource(text, account: account) {
        case .loadBalancer(_, let id)?: return try await loadBalancing.loadBalancers(conn, account: account, ids: [id]).first?.tags ?? []
        case .targetGroup(_, let id)?: return try await loadBalancing.targetGroups(conn, account: account, ids: [id]).first?.tags ?? []
        case .listener(_, let id)?: return try await loadBalancing.listeners(conn, account: account, ids: [id]).first?.tags ?? []
        case .rule(_, _, let id)?: return try await loadBalancing.rules(conn, account: account, ids: [id]).first?.tags ?? []
        case nil: return []
        }
    }

    func ecsTags(_ conn: PostgresConnection, account: String, arn: ARN) async throws -> [Tag] {
        let path = arn.resourcePath
        switch arn.resourceType {
        case "cluster" where path.count == 1:
            return try await ecs.clusters.get(conn, account: account, names: [path[0]], forUpdate: false).first?.tags ?? []
        case "container-instance" where path.count == 2:
            return try await ecs.instances.get(conn, account: account, cluster: path[0], ids: [path[1]]).first?.tags ?? []
        case "task-definition" where path.count == 1:
            let parts = path[0].split(separator: ":")
            guard parts.count == 2, let revision = Int(parts[1]) else { return [] }
            return try await ecs.taskDefinitions.get(conn, account: account, family: String(parts[0]), revision: revision)?.tags ?? []
        default:
            return []
        }
    }
}
