import Foundation
import PostgresNIO
import StowageModel
import StowageStore

/// ECS TagResource, UntagResource and ListTagsForResource over every taggable resource, each in one transaction.
public struct Tagging: Sendable {
    /// A taggable resource, as the door parsed it from its ARN.
    public enum Target: Sendable {
        case cluster(String)
        case taskDefinition(String, Int)
        case containerInstance(cluster: String, id: String)
        case service(cluster: String, name: String)
        case task(cluster: String, id: String)
    }

    let tenant: TenantContext
    let stores: ECSStores

    public init(tenant: TenantContext, stores: ECSStores) { self.tenant = tenant; self.stores = stores }

    var account: String { tenant.account }

    /// The resource's own ARN, rebuilt from what the request names: what is authorized (`admin:01` is `admin:1`).
    public func canonical(_ target: Target) -> String {
        let scope = tenant.scope
        switch target {
        case .cluster(let name): return scope.cluster(account, name)
        case .taskDefinition(let family, let revision): return scope.taskDefinition(account, family: family, revision: revision)
        case .containerInstance(let cluster, let id): return scope.containerInstance(account, cluster: cluster, id: id)
        case .service(let cluster, let name): return scope.service(account, cluster: cluster, name: name)
        case .task(let cluster, let id): return scope.task(account, cluster: cluster, id: id)
        }
    }

    func current(_ conn: PostgresConnection, _ target: Target, arn: String) async throws -> [Tag] {
        let clusters = Clusters(tenant: tenant, stores: stores)
        let missing = APIError.resourceNotFound("The specified resource is not found: \(arn).")
        switch target {
        case .cluster(let name):
            return try await clusters.active(conn, name).tags
        case .taskDefinition(let family, let revision):
            guard let record = try await stores.taskDefinitions.get(conn, account: account, family: family, revision: revision) else { throw missing }
            return record.tags
        case .containerInstance(let cluster, let id):
            return try await clusters.liveInstance(conn, cluster: cluster, id: id, reference: arn).tags
        case .service(let cluster, let name):
            guard let record = try await stores.services.get(conn, account: account, cluster: cluster, names: [name]).first,
                  record.status != "INACTIVE" else { throw missing }
            return record.tags
        case .task(let cluster, let id):
            guard let record = try await stores.tasks.get(conn, account: account, cluster: cluster, ids: [id]).first else { throw missing }
            return record.tags
        }
    }

    func store(_ conn: PostgresConnection, _ target: Target, tags: [Tag]) async throws {
        switch target {
        case .cluster(let name): try await stores.clusters.setTags(conn, account: account, name: name, tags: tags)
        case .taskDefinition(let family, let revision):
            try await stores.taskDefinitions.setTags(conn, account: account, family: family, revision: revision, tags: tags)
        case .containerInstance(let cluster, let id): try await stores.instances.setTags(conn, account: account, cluster: cluster, id: id, tags: tags)
        case .service(let cluster, let name): try await stores.services.setTags(conn, account: account, cluster: cluster, name: name, tags: tags)
        case .task(let cluster, let id): try await stores.tasks.setTags(conn, account: account, cluster: cluster, id: id, tags: tags)
        }
    }

    /// New tags replace those with the same keys; `check` judges the merged set (ECS's limits) before it is stored.
    public func tag(_ target: Target, arn: String, _ tags: [Tag], check: @escaping @Sendable ([Tag]) throws -> Void) async throws {
        try await tenant.database.transaction { [self] conn in
            var merged = try await current(conn, target, arn: arn)
            for tag in tags {
                if let i = merged.firstIndex(where: { $0.key == tag.key }) { merged[i] = tag } else { merged.append(tag) }
            }
            try check(merged)
            try await store(conn, target, tags: merged)
        }
    }

    public func untag(_ target: Target, arn: String, keys: [String]) async throws {
        try await tenant.database.transaction { [self] conn in
            try await store(conn, target, tags: try await current(conn, target, arn: arn).filter { !keys.contains($0.key ?? "") })
        }
    }

    public func tags(_ target: Target, arn: String) async throws -> [Tag] {
        try await tenant.database.withConnection { [self] conn in try await current(conn, target, arn: arn) }
    }
}
