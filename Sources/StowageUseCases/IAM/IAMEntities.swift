import Foundation
import PostgresNIO
import StowageIAM
import StowageModel
import StowageStore

/// IAM's users, roles, groups, managed and inline policies and access keys of one account. Every write is one
/// transaction that bumps the account's policy epoch (other servers drop their cached policies on its NOTIFY) and,
/// once committed, drops this process's own; the door has checked the input and authorized the call.
public struct IAMEntities: Sendable {
    let tenant: TenantContext
    let store: IAMStore
    let authorizer: any Authorizer

    public init(tenant: TenantContext, store: IAMStore, authorizer: any Authorizer) {
        self.tenant = tenant; self.store = store; self.authorizer = authorizer
    }

    var account: String { tenant.account }

    func write<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        // Creates look before they insert: a concurrent twin that wins the insert is found by the second look,
        // which answers EntityAlreadyExists as IAM does.
        let result = try await Database.retryingUniqueViolation {
            try await tenant.database.transaction { [store, account] conn in
                let value = try await body(conn)
                try await store.bumpEpoch(conn, account: account)
                return value
            }
        }
        (authorizer as? PolicyAuthorizer)?.invalidate(account: account)
        return result
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await tenant.database.withConnection { try await body($0) }
    }

    // MARK: names and errors

    /// A user's, role's or group's own ARN, its path included.
    public func arn(_ kind: PrincipalKind, _ name: String, path: String = "/") -> String {
        "arn:\(tenant.scope.partition):iam::\(account):\(kind.rawValue)\(path)\(name)"
    }

    static func noSuch(_ what: String, _ name: String) -> APIError {
        APIError("NoSuchEntity", "The \(what) with name \(name) cannot be found.", awsStatus: 404)
    }

    static func exists(_ what: String, _ name: String) -> APIError {
        APIError("EntityAlreadyExists", "\(what) with name \(name) already exists.", awsStatus: 409)
    }

    static func conflict(_ message: String) -> APIError { APIError("DeleteConflict", message, awsStatus: 409) }

    // MARK: lookups inside a use case's transaction

    func user(_ conn: PostgresConnection, _ name: String) async throws -> UserRow {
        guard let u = try await store.user(conn, account: account, name: name) else { throw Self.noSuch("user", name) }
        return u
    }

    func role(_ conn: PostgresConnection, _ name: String) async throws -> RoleRow {
        guard let r = try await store.roles(conn, account: account, name: name).first else { throw Self.noSuch("role", name) }
        return r
    }

    func group(_ conn: PostgresConnection, _ name: String) async throws -> GroupRow {
        guard let g = try await store.groups(conn, account: account, name: name).first else { throw Self.noSuch("group", name) }
        return g
    }

    func hasPolicies(_ conn: PostgresConnection, kind: PrincipalKind, name: String) async throws -> Bool {
        let attached = try await store.attached(conn, account: account, kind: kind, name: name)
        let inline = try await store.inline(conn, account: account, kind: kind, name: name)
        return !attached.isEmpty || !inline.isEmpty
    }

    func principalExists(_ conn: PostgresConnection, kind: PrincipalKind, name: String) async throws {
        switch kind {
        case .user: _ = try await user(conn, name)
        case .role: _ = try await role(conn, name)
        case .group: _ = try await group(conn, name)
        }
    }

    /// A managed policy ARN this account may attach: built-in, or its own existing policy (returns its name).
    func managedPolicy(_ conn: PostgresConnection, arn text: String) async throws -> String {
        guard let arn = ARN(text), arn.service == "iam", arn.resource.hasPrefix("policy/") else {
            throw APIError("InvalidInput", "ARN \(text) is not a valid policy ARN.")
        }
        let name = String(arn.resource.split(separator: "/").last ?? "")
        let missing = APIError("NoSuchEntity", "Policy \(text) does not exist or is not attachable.", awsStatus: 404)
        if arn.account == "aws" {
            guard BuiltInPolicies.all[name] != nil, text == BuiltInPolicies.arn(name, partition: tenant.scope.partition) else { throw missing }
            return name
        }
        // The ARN must be the policy's own, path included: a Deny written for it would not match another spelling.
        guard arn.account == account, let policy = try await store.policies(conn, account: account, name: name).first,
              text == tenant.scope.iamPolicy(account, String(policy.path.dropFirst()) + policy.name) else { throw missing }
        return name
    }

    /// A role by its ARN, only when the ARN is the role's own (its path included): IAM names roles by name, and a
    /// Deny written for the role's ARN would not match `role/other/path/<name>`.
    public func role(arn text: String) async throws -> RoleRow? {
        try await read { [self] conn in
            guard let arn = ARN(text), arn.service == "iam", arn.resourceType == "role", arn.account == account,
                  let name = arn.resourcePath.last,
                  let role = try await store.roles(conn, account: account, name: name).first,
                  self.arn(.role, role.name, path: role.path) == text else { return nil }
            return role
        }
    }
}
