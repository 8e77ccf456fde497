import Foundation
import PostgresNIO
import StowageIAM
import StowageModel
import StowageStore

/// ECS task definitions: register, deregister and delete each in one transaction, the reads on one connection. The
/// door has validated the body and authorized the call, roles passed to tasks included.
public struct TaskDefinitions: Sendable {
    /// A revision DeleteTaskDefinitions names, and the ARN its failure is reported under.
    public struct Revision: Sendable {
        public var family: String
        public var revision: Int
        public var arn: String

        public init(family: String, revision: Int, arn: String) { self.family = family; self.revision = revision; self.arn = arn }
    }

    let tenant: TenantContext
    let stores: ECSStores
    let quotas: Quotas
    let iam: IAMStore

    public init(tenant: TenantContext, stores: ECSStores, quotas: Quotas, iam: IAMStore) {
        self.tenant = tenant; self.stores = stores; self.quotas = quotas; self.iam = iam
    }

    var account: String { tenant.account }
    var store: TaskDefinitionStore { stores.taskDefinitions }

    /// The family's next revision, within the account's quota of ACTIVE revisions per family.
    public func register(_ body: TaskDefinition, tags: [Tag], registeredBy: String) async throws -> TaskDefinitionRow {
        let family = body.family ?? ""
        return try await tenant.database.transaction { [self] conn in
            let active = try await store.activeRevisions(conn, account: account, family: family)
            try await quotas.check(conn, account: account, [("revisions-per-family", active + 1, "Active revisions of family \(family)")])
            return try await store.register(conn, account: account, body: body, tags: tags, registeredBy: registeredBy)
        }
    }

    /// The account's role of that name, wherever its path: the door compares its ARN with the one a task is handed.
    public func role(named name: String) async throws -> RoleRow? {
        try await tenant.database.withConnection { [self] conn in try await iam.roles(conn, account: account, name: name).first }
    }

    /// A stored revision; a nil revision means the family's latest ACTIVE one.
    public func find(family: String, revision: Int?) async throws -> TaskDefinitionRow? {
        try await tenant.database.withConnection { [self] conn in
            try await Clusters(tenant: tenant, stores: stores).taskDefinition(conn, family: family, revision: revision)
        }
    }

    /// Revisions of one status in (family, revision) order, resuming after a key.
    public func list(family: String?, status: String, descending: Bool, after: (String, Int)?, limit: Int) async throws
        -> [(family: String, revision: Int)]
    {
        try await tenant.database.withConnection { [self] conn in
            try await store.list(conn, account: account, family: family, status: status, descending: descending, after: after, limit: limit)
        }
    }

    public func families(prefix: String?, status: String, after: String?, limit: Int) async throws -> [String] {
        try await tenant.database.withConnection { [self] conn in
            try await store.families(conn, account: account, prefix: prefix, status: status, after: after, limit: limit)
        }
    }

    /// An ACTIVE revision becomes INACTIVE; an INACTIVE one is answered as it is; one being deleted is not found.
    public func deregister(family: String, revision: Int) async throws -> TaskDefinitionRow {
        try await tenant.database.transaction { [self] conn in
            guard var record = try await store.get(conn, account: account, family: family, revision: revision),
                  record.status != "DELETE_IN_PROGRESS" else { throw APIError.taskDefinitionNotFound("The specified task definition does not exist.") }
            if record.status == "ACTIVE" {
                try await store.setStatus(conn, account: account, family: family, revision: revision, status: "INACTIVE")
                record = try await store.get(conn, account: account, family: family, revision: revision) ?? record
            }
            return record
        }
    }

    /// Marks INACTIVE revisions DELETE_IN_PROGRESS; ACTIVE ones and missing ones come back as failures.
    public func delete(_ revisions: [Revision]) async throws -> (deleted: [TaskDefinitionRow], failures: [Failure]) {
        try await tenant.database.transaction { [self] conn in
            var deleted: [TaskDefinitionRow] = []
            var failures: [Failure] = []
            for ref in revisions {
                guard var record = try await store.get(conn, account: account, family: ref.family, revision: ref.revision) else {
                    failures.append(Failure(arn: ref.arn, reason: "The specified task definition does not exist."))
                    continue
                }
                guard record.status != "ACTIVE" else {
                    failures.append(Failure(arn: ref.arn, reason: "The specified task definition is still in ACTIVE status. Please deregister the target and try again."))
                    continue
                }
                try await store.setStatus(conn, account: account, family: ref.family, revision: ref.revision, status: "DELETE_IN_PROGRESS")
                record.status = "DELETE_IN_PROGRESS"
                deleted.append(record)
            }
            if !deleted.isEmpty {
                // As in ECS, deletion finishes asynchronously, once nothing references the revisions.
                try await JobQueue(logger: tenant.logger).enqueue(conn, account: account, kind: JobKind.purgeTaskDefinitions, uniqueKey: "all")
            }
            return (deleted, failures)
        }
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
