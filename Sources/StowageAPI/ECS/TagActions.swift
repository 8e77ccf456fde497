import Foundation
import PostgresNIO
import StowageModel
import StowageStore

/// TagResource, UntagResource and ListTagsForResource over every taggable resource.
struct TagActions {
    /// A taggable resource, parsed from its ARN.
    enum Target {
        case cluster(String)
        case taskDefinition(String, Int)
        case containerInstance(cluster: String, id: String)
        case service(cluster: String, name: String)
        case task(cluster: String, id: String)
    }

    static func target(_ arnText: String, _ c: Caller) throws(APIError) -> Target {
        guard let arn = ARN(arnText), arn.service == "ecs" else {
            throw .invalidParameter("'\(arnText)' is not an ECS resource ARN.")
        }
        try c.refs.own(arnText)
        switch arn.resourceType {
        case "cluster":
            return .cluster(try c.refs.cluster(arnText).name)
        case "task-definition":
            let ref = try c.refs.taskDefinition(arnText)
            guard let revision = ref.revision else { throw .invalidParameter("Task definition ARNs for tagging need a revision.") }
            return .taskDefinition(ref.family, revision)
        case "container-instance" where arn.resourcePath.count == 2:
            return .containerInstance(cluster: arn.resourcePath[0], id: arn.resourcePath[1])
        case "service" where arn.resourcePath.count == 2:
            return .service(cluster: arn.resourcePath[0], name: arn.resourcePath[1])
        case "task" where arn.resourcePath.count == 2:
            return .task(cluster: arn.resourcePath[0], id: arn.resourcePath[1])
        default:
            throw .invalidParameter("Resources of type '\(arn.resourceType)' cannot be tagged.")
        }
    }

    /// The resource's own ARN, rebuilt from what the request names: what is authorized (`admin:01` is `admin:1`).
    static func canonical(_ target: Target, _ c: Caller) -> String {
        let scope = c.backend.scope
        switch target {
        case .cluster(let name): return scope.cluster(c.account, name)
        case .taskDefinition(let family, let revision): return scope.taskDefinition(c.account, family: family, revision: revision)
        case .containerInstance(let cluster, let id): return scope.containerInstance(c.account, cluster: cluster, id: id)
        case .service(let cluster, let name): return scope.service(c.account, cluster: cluster, name: name)
        case .task(let cluster, let id): return scope.task(c.account, cluster: cluster, id: id)
        }
    }

    static func current(_ conn: PostgresConnection, _ target: Target, _ c: Caller, arn: String) async throws -> [Tag] {
        let s = c.backend
        switch target {
        case .cluster(let name):
            return try await ClusterActions.active(conn, c, name).tags
        case .taskDefinition(let family, let revision):
            guard let record = try await s.taskDefinitions.get(conn, account: c.account, family: family, revision: revision) else {
                throw APIError.resourceNotFound("The specified resource is not found: \(arn).")
            }
            return record.tags
        case .containerInstance(let cluster, let id):
            return try await ContainerInstanceActions.live(conn, c, cluster: cluster, id: id, reference: arn).tags
        case .service(let cluster, let name):
            guard let record = try await s.ecsServices.get(conn, account: c.account, cluster: cluster, names: [name]).first,
                  record.status != "INACTIVE" else {
                throw APIError.resourceNotFound("The specified resource is not found: \(arn).")
            }
            return record.tags
        case .task(let cluster, let id):
            guard let record = try await s.tasks.get(conn, account: c.account, cluster: cluster, ids: [id]).first else {
                throw APIError.resourceNotFound("The specified resource is not found: \(arn).")
            }
            return record.tags
        }
    }

    static func store(_ conn: PostgresConnection, _ target: Target, _ c: Caller, tags: [Tag]) async throws {
        let s = c.backend
        switch target {
        case .cluster(let name): try await s.clusters.setTags(conn, account: c.account, name: name, tags: tags)
        case .taskDefinition(let family, let revision):
            try await s.taskDefinitions.setTags(conn, account: c.account, family: family, revision: revision, tags: tags)
        case .containerInstance(let cluster, let id):
            try await s.instances.setTags(conn, account: c.account, cluster: cluster, id: id, tags: tags)
        case .service(let cluster, let name): try await s.ecsServices.setTags(conn, account: c.account, cluster: cluster, name: name, tags: tags)
        case .task(let cluster, let id): try await s.tasks.setTags(conn, account: c.account, cluster: cluster, id: id, tags: tags)
        }
    }

    static func tag(_ input: TagResourceRequest, _ c: Caller) async throws -> Empty {
        let target = try target(input.resourceArn, c)
        try Validate.tags(input.tags)
        try await c.authorize([canonical(target, c)], requestTags: input.tags)
        try await c.backend.database.transaction { conn in
            var tags = try await current(conn, target, c, arn: input.resourceArn)
            for tag in input.tags {
                if let i = tags.firstIndex(where: { $0.key == tag.key }) { tags[i] = tag } else { tags.append(tag) }
            }
            try Validate.tags(tags)
            try await store(conn, target, c, tags: tags)
        }
        return Empty()
    }

    static func untag(_ input: UntagResourceRequest, _ c: Caller) async throws -> Empty {
        let target = try target(input.resourceArn, c)
        try await c.authorize([canonical(target, c)])
        try await c.backend.database.transaction { conn in
            let tags = try await current(conn, target, c, arn: input.resourceArn).filter { !input.tagKeys.contains($0.key ?? "") }
            try await store(conn, target, c, tags: tags)
        }
        return Empty()
    }

    static func list(_ input: ListTagsForResourceRequest, _ c: Caller) async throws -> ListTagsForResourceResponse {
        let target = try target(input.resourceArn, c)
        try await c.authorize([canonical(target, c)])
        let tags = try await c.backend.database.withConnection { conn in
            try await current(conn, target, c, arn: input.resourceArn)
        }
        return ListTagsForResourceResponse(tags: tags)
    }
}
