import Foundation
import StowageModel
import StowageScheduler
import StowageStore
import StowageUseCases

/// ECS task definition actions (the door): the body validated, the call and the roles it hands to tasks authorized;
/// what is stored is the TaskDefinitions use case's.
struct TaskDefinitionActions {
    static func model(_ r: TaskDefinitionRow, _ c: Caller) -> TaskDefinition { r.model(c.backend.scope, account: c.account) }

    static func register(_ input: RegisterTaskDefinitionRequest, _ c: Caller) async throws -> TaskDefinitionResponse {
        var body = try TaskDefinitionRules.validate(input)
        // ECS takes a role's name as well as its ARN (a role of the caller's account); it stores and shows the ARN.
        body.taskRoleArn = body.taskRoleArn.map { roleArn($0, c) }
        body.executionRoleArn = body.executionRoleArn.map { roleArn($0, c) }
        _ = try ConstraintRules.parse(body.placementConstraints)
        // A value named by ARN is read as written when a task starts: it must be this installation's and this account's,
        // or an execution role's Deny on the canonical ARN would not apply to it.
        for reference in SecretReference.references(in: body) {
            if let why = c.backend.scope.refusal(ofResource: reference, account: c.account) {
                throw APIError.client("valueFrom \(reference) cannot be read: \(why).")
            }
        }
        let family = body.family ?? ""
        try await c.authorize([c.backend.scope.ecs(c.account, "task-definition/\(family):*")],
                              requestTags: input.tags)
        for role in Set([body.taskRoleArn, body.executionRoleArn].compactMap { $0 }) { try await authorizePass(role, c) }
        let record = try await c.taskDefinitions.register(body, tags: input.tags ?? [], registeredBy: c.principal.arn)
        return TaskDefinitionResponse(taskDefinition: model(record, c), tags: record.tags)
    }

    /// Handing a role to tasks is itself a permission (iam:PassRole), so nobody gives tasks more than they hold:
    /// a task definition's roles and RunTask's role override alike.
    static func authorizePass(_ role: String, _ c: Caller) async throws {
        guard let arn = ARN(role), arn.service == "iam", arn.resourceType == "role" else {
            throw APIError.invalidParameter("Role \(role) is not an IAM role ARN (arn:aws:iam::<account>:role/<name>).")
        }
        try await c.authorize(.passRole, [role], keys: ["iam:PassedToService": "ecs-tasks.amazonaws.com"])
        // A role that exists under another path is not this ARN: tasks would get it while a Deny on its own ARN
        // never matched (tasks get a role's credentials only through its exact ARN).
        if let name = arn.resourcePath.last, let existing = try await c.taskDefinitions.role(named: name),
           IAMActions.arn(c, .role, existing.name, path: existing.path) != role {
            throw APIError.invalidParameter("Role \(role) does not exist: the role named \(name) is \(IAMActions.arn(c, .role, existing.name, path: existing.path)).")
        }
    }

    /// A role name (`app-role`, or a path `team/app-role`) as the caller's account's role ARN; an ARN unchanged.
    static func roleArn(_ role: String, _ c: Caller) -> String {
        role.hasPrefix("arn:") ? role : c.backend.scope.iamRole(c.account, role)
    }

    static func describe(_ input: DescribeTaskDefinitionRequest, _ c: Caller) async throws -> TaskDefinitionResponse {
        let ref = try c.refs.taskDefinition(input.taskDefinition)
        try await c.authorize([ref.arn])
        guard let record = try await c.taskDefinitions.find(family: ref.family, revision: ref.revision) else {
            throw APIError.taskDefinitionNotFound()
        }
        let includeTags = input.include?.contains("TAGS") ?? false
        return TaskDefinitionResponse(taskDefinition: model(record, c), tags: includeTags ? record.tags : nil)
    }

    static func list(_ input: ListTaskDefinitionsRequest, _ c: Caller) async throws -> ListTaskDefinitionsResponse {
        let limit = try Validate.maxResults(input.maxResults)
        let status = input.status ?? "ACTIVE"
        guard ["ACTIVE", "INACTIVE", "DELETE_IN_PROGRESS"].contains(status) else {
            throw APIError.invalidParameter("status must be ACTIVE, INACTIVE or DELETE_IN_PROGRESS.")
        }
        let sort = input.sort ?? "ASC"
        guard sort == "ASC" || sort == "DESC" else { throw APIError.invalidParameter("sort must be ASC or DESC.") }
        var after: (String, Int)?
        if let token = try PageToken.decode(input.nextToken) {
            guard token.count == 2, let revision = Int(token[1]) else { throw APIError.invalidParameter("The nextToken is not valid.") }
            after = (token[0], revision)
        }
        try await c.authorize(["*"])
        let rows = try await c.taskDefinitions.list(family: input.familyPrefix, status: status, descending: sort == "DESC", after: after,
                                                    limit: limit + 1)
        let page = rows.prefix(limit)
        return ListTaskDefinitionsResponse(
            taskDefinitionArns: page.map { c.backend.scope.taskDefinition(c.account, family: $0.family, revision: $0.revision) },
            nextToken: rows.count > limit ? page.last.map { PageToken.encode([$0.family, String($0.revision)]) } : nil)
    }

    static func families(_ input: ListTaskDefinitionsRequest, _ c: Caller) async throws -> ListTaskDefinitionFamiliesResponse {
        let limit = try Validate.maxResults(input.maxResults)
        let status = input.status ?? "ACTIVE"
        guard ["ACTIVE", "INACTIVE", "ALL"].contains(status) else {
            throw APIError.invalidParameter("status must be ACTIVE, INACTIVE or ALL.")
        }
        let after = try PageToken.decode(input.nextToken)?.first
        try await c.authorize(["*"])
        let families = try await c.taskDefinitions.families(prefix: input.familyPrefix, status: status, after: after, limit: limit + 1)
        let page = families.prefix(limit)
        return ListTaskDefinitionFamiliesResponse(
            families: Array(page), nextToken: families.count > limit ? page.last.map { PageToken.encode([$0]) } : nil)
    }

    static func deregister(_ input: DeregisterTaskDefinitionRequest, _ c: Caller) async throws -> TaskDefinitionResponse {
        let ref = try c.refs.taskDefinition(input.taskDefinition)
        guard let revision = ref.revision else {
            throw APIError.client("A revision is required to deregister a task definition: use family:revision or an ARN.")
        }
        try await c.authorize([ref.arn])
        let record = try await c.taskDefinitions.deregister(family: ref.family, revision: revision)
        return TaskDefinitionResponse(taskDefinition: model(record, c))
    }

    /// Marks INACTIVE revisions DELETE_IN_PROGRESS; ACTIVE ones and missing ones come back as failures.
    static func delete(_ input: DeleteTaskDefinitionsRequest, _ c: Caller) async throws -> DeleteTaskDefinitionsResponse {
        guard (1...10).contains(input.taskDefinitions.count) else {
            throw APIError.invalidParameter("taskDefinitions must name between 1 and 10 task definitions.")
        }
        var refs: [TaskDefinitions.Revision] = []
        for text in input.taskDefinitions {
            let ref = try c.refs.taskDefinition(text)
            guard let revision = ref.revision else {
                throw APIError.client("A revision is required to delete a task definition: '\(text)'.")
            }
            refs.append(TaskDefinitions.Revision(family: ref.family, revision: revision, arn: ref.arn))
        }
        try await c.authorize(refs.map(\.arn))
        let (deleted, failures) = try await c.taskDefinitions.delete(refs)
        return DeleteTaskDefinitionsResponse(taskDefinitions: deleted.map { model($0, c) }, failures: failures)
    }
}

extension Caller {
    var taskDefinitions: TaskDefinitions {
        TaskDefinitions(tenant: tenant, stores: ecsStores, quotas: backend.quotas, iam: backend.iam)
    }
}
