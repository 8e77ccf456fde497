import Foundation
import StowageIAM
import StowageModel
import StowageStore

/// Customer managed policies and their versions, attachments to principals, inline policies and access keys,
/// each in one transaction. A policy's `arn` is the one the door authorized; `name` is the last part of it.
extension IAMEntities {
    // MARK: managed policies

    public func createPolicy(_ name: String, path: String, description: String, document: String) async throws -> PolicyRow {
        try await write { [self] conn in
            if try await store.policies(conn, account: account, name: name).first != nil {
                throw APIError("EntityAlreadyExists", "A policy called \(name) already exists. Duplicate names are not allowed.", awsStatus: 409)
            }
            try await store.createPolicy(conn, account: account, name: name, policyId: Tenancy.uniqueId("ANPA", account: account),
                                         path: path, description: description, document: document)
            return try await store.policies(conn, account: account, name: name)[0]
        }
    }

    /// The account's own policy an ARN names, only by its own ARN (see `managedPolicy`).
    public func policy(arn: String) async throws -> PolicyRow {
        try await read { [self] conn in
            let name = try await managedPolicy(conn, arn: arn)
            return try await store.policies(conn, account: account, name: name)[0]
        }
    }

    public func policies() async throws -> [PolicyRow] { try await read { [self] in try await store.policies($0, account: account) } }

    /// Refused while the policy is attached to any principal.
    public func deletePolicy(arn: String, name: String) async throws {
        try await write { [self] conn in
            _ = try await managedPolicy(conn, arn: arn)
            if try await store.attachmentCount(conn, account: account, policyArn: arn) > 0 {
                throw Self.conflict("Cannot delete a policy attached to entities.")
            }
            try await store.deletePolicy(conn, account: account, name: name)
        }
    }

    /// A new version, at most five per policy as in IAM; nil only if it vanished before it could be read back.
    public func createPolicyVersion(arn: String, name: String, document: String, setDefault: Bool) async throws -> PolicyVersionRow? {
        try await write { [self] conn in
            _ = try await managedPolicy(conn, arn: arn)
            let versions = try await store.versions(conn, account: account, policy: name)
            guard versions.count < 5 else {
                throw APIError("LimitExceeded", "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.", awsStatus: 409)
            }
            let n = try await store.addVersion(conn, account: account, policy: name, document: document, makeDefault: setDefault)
            return try await store.versions(conn, account: account, policy: name).first { $0.version == n }
        }
    }

    /// Version `number` of the policy an ARN names, nil when it has no such version.
    public func policyVersion(arn: String, number: Int) async throws -> PolicyVersionRow? {
        try await read { [self] conn in
            let name = try await managedPolicy(conn, arn: arn)
            return try await store.versions(conn, account: account, policy: name).first { $0.version == number }
        }
    }

    public func policyVersions(arn: String, name: String) async throws -> [PolicyVersionRow] {
        try await read { [self] conn in
            _ = try await managedPolicy(conn, arn: arn)
            return try await store.versions(conn, account: account, policy: name)
        }
    }

    /// The default version cannot be deleted, as in IAM.
    public func deletePolicyVersion(arn: String, name: String, number: Int) async throws {
        try await write { [self] conn in
            _ = try await managedPolicy(conn, arn: arn)
            guard let v = try await store.versions(conn, account: account, policy: name).first(where: { $0.version == number }) else {
                throw APIError("NoSuchEntity", "Policy \(arn) version v\(number) does not exist.", awsStatus: 404)
            }
            guard !v.isDefault else { throw Self.conflict("Cannot delete the default version of a policy.") }
            try await store.deleteVersion(conn, account: account, policy: name, version: number)
        }
    }

    public func setDefaultPolicyVersion(arn: String, name: String, number: Int) async throws {
        try await write { [self] conn in
            _ = try await managedPolicy(conn, arn: arn)
            guard try await store.versions(conn, account: account, policy: name).contains(where: { $0.version == number }) else {
                throw APIError("NoSuchEntity", "Policy \(arn) version v\(number) does not exist.", awsStatus: 404)
            }
            try await store.setDefault(conn, account: account, policy: name, version: number)
        }
    }

    // MARK: attachments and inline policies

    /// Attaches (at most 20 per principal) or detaches a managed policy; detaching one not attached is refused.
    public func setAttached(kind: PrincipalKind, name: String, policyArn: String, attached: Bool) async throws {
        try await write { [self] conn in
            try await principalExists(conn, kind: kind, name: name)
            _ = try await managedPolicy(conn, arn: policyArn)
            if attached, try await store.attached(conn, account: account, kind: kind, name: name).count >= 20 {
                throw APIError("LimitExceeded", "Cannot exceed quota for PoliciesPerPrincipal: 20.", awsStatus: 409)
            }
            if !attached, !(try await store.attached(conn, account: account, kind: kind, name: name)).contains(policyArn) {
                throw APIError("NoSuchEntity", "Policy \(policyArn) was not found attached to \(kind.rawValue) \(name).", awsStatus: 404)
            }
            try await store.setAttached(conn, account: account, kind: kind, name: name, policyArn: policyArn, attached: attached)
        }
    }

    /// The ARNs of the managed policies attached to a principal.
    public func attached(kind: PrincipalKind, name: String) async throws -> [String] {
        try await read { [self] conn in
            try await principalExists(conn, kind: kind, name: name)
            return try await store.attached(conn, account: account, kind: kind, name: name)
        }
    }

    public func putInline(kind: PrincipalKind, name: String, policy: String, document: String) async throws {
        try await write { [self] conn in
            try await principalExists(conn, kind: kind, name: name)
            try await store.putInline(conn, account: account, kind: kind, name: name, policy: policy, document: document)
        }
    }

    /// An inline policy's document, nil when the principal has none by that name.
    public func inline(kind: PrincipalKind, name: String, policy: String) async throws -> String? {
        try await read { [self] conn in
            try await principalExists(conn, kind: kind, name: name)
            return try await store.inline(conn, account: account, kind: kind, name: name).first { $0.name == policy }?.document
        }
    }

    public func deleteInline(kind: PrincipalKind, name: String, policy: String) async throws {
        try await write { [self] conn in
            try await principalExists(conn, kind: kind, name: name)
            guard try await store.inline(conn, account: account, kind: kind, name: name).contains(where: { $0.name == policy }) else {
                throw APIError("NoSuchEntity", "The \(kind.rawValue) policy with name \(policy) cannot be found.", awsStatus: 404)
            }
            try await store.putInline(conn, account: account, kind: kind, name: name, policy: policy, document: nil)
        }
    }

    public func inlineNames(kind: PrincipalKind, name: String) async throws -> [String] {
        try await read { [self] conn in
            try await principalExists(conn, kind: kind, name: name)
            return try await store.inline(conn, account: account, kind: kind, name: name).map(\.name)
        }
    }

    // MARK: access keys

    /// A user's access keys; the user must exist.
    public func accessKeys(user name: String) async throws -> [(id: String, status: String, created: Date)] {
        try await read { [self] conn in
            _ = try await user(conn, name)
            return try await store.accessKeys(conn, account: account, user: name)
        }
    }

    /// Sets a key's status, or deletes it (`nil`). The caller forgets the key in its verifier once this returns.
    public func changeKey(user name: String, key: String, status: String?) async throws {
        try await write { [self] conn in
            _ = try await user(conn, name)
            guard try await store.setKeyStatus(conn, account: account, user: name, key: key, status: status) else {
                throw APIError("NoSuchEntity", "The Access Key with id \(key) cannot be found.", awsStatus: 404)
            }
        }
    }
}
