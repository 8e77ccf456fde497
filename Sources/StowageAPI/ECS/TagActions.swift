import Foundation
import StowageModel
import StowageStore
import StowageUseCases

/// TagResource, UntagResource and ListTagsForResource over every taggable resource (the door): the ARN parsed and
/// checked as the caller's own, the canonical ARN authorized, then one Tagging use case.
struct TagActions {
    typealias Target = Tagging.Target

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

    static func tag(_ input: TagResourceRequest, _ c: Caller) async throws -> Empty {
        let target = try target(input.resourceArn, c)
        try Validate.tags(input.tags)
        try await c.authorize([c.tagging.canonical(target)], requestTags: input.tags)
        try await c.tagging.tag(target, arn: input.resourceArn, input.tags, check: { try Validate.tags($0) })
        return Empty()
    }

    static func untag(_ input: UntagResourceRequest, _ c: Caller) async throws -> Empty {
        let target = try target(input.resourceArn, c)
        try await c.authorize([c.tagging.canonical(target)])
        try await c.tagging.untag(target, arn: input.resourceArn, keys: input.tagKeys)
        return Empty()
    }

    static func list(_ input: ListTagsForResourceRequest, _ c: Caller) async throws -> ListTagsForResourceResponse {
        let target = try target(input.resourceArn, c)
        try await c.authorize([c.tagging.canonical(target)])
        return ListTagsForResourceResponse(tags: try await c.tagging.tags(target, arn: input.resourceArn))
    }
}

extension Caller {
    /// The ECS stores as the use cases take them.
    var ecsStores: ECSStores { backend.ecsStores }

    var tagging: Tagging { Tagging(tenant: tenant, stores: ecsStores) }
    var clusters: Clusters { Clusters(tenant: tenant, stores: ecsStores) }
}
