import Foundation
import PostgresNIO
import StowageIAM
import StowageModel
import StowageSigning
import StowageStore

/// The IAM door (query protocol) and `/v1/iam/{action}`: users, roles, groups, managed and inline policies,
/// attachments and access keys. Every write runs in one transaction and bumps the account's policy epoch.
enum IAMActions {
    typealias Fields = [(String, QueryValue)]


    // MARK: shared

    static func arn(_ c: Caller, _ kind: PrincipalKind, _ name: String, path: String = "/") -> String {
        "arn:\(c.backend.scope.partition):iam::\(c.account):\(kind.rawValue)\(path)\(name)"
    }

    static func noSuch(_ what: String, _ name: String) -> APIError {
        APIError("NoSuchEntity", "The \(what) with name \(name) cannot be found.", awsStatus: 404)
    }

    static func exists(_ what: String, _ name: String) -> APIError {
        APIError("EntityAlreadyExists", "\(what) with name \(name) already exists.", awsStatus: 409)
    }

    static func conflict(_ message: String) -> APIError { APIError("DeleteConflict", message, awsStatus: 409) }

    /// Runs an IAM write: one transaction that bumps the epoch, then drops this process's cached policies.
    static func write<T: Sendable>(_ c: Caller, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let result = try await c.backend.database.transaction { conn in
            let value = try await body(conn)
            try await c.backend.iam.bumpEpoch(conn, account: c.account)
            return value
        }
        (c.backend.authorizer as? PolicyAuthorizer)?.invalidate(account: c.account)
        return result
    }

    static func read<T: Sendable>(_ c: Caller, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await c.backend.database.withConnection { try await body($0) }
    }

    static func path(_ q: QueryRequest) throws(APIError) -> String {
        let p = q.string("Path") ?? "/"
        guard p.hasPrefix("/"), p.hasSuffix("/"), p.count <= 512 else {
            throw APIError("ValidationError", "Path must begin and end with '/' and be at most 512 characters.")
        }
        return p
    }

    /// IAM returns policy documents URL-encoded; botocore decodes them back into objects.
    static func encoded(_ document: String) -> QueryValue {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return .text(document.addingPercentEncoding(withAllowedCharacters: allowed) ?? document)
    }

    static func userFields(_ c: Caller, _ u: StoredUser) -> QueryValue {
        .object([("Path", .text(u.path)), ("UserName", .text(u.name)), ("UserId", .text(u.userId)),
                 ("Arn", .text(arn(c, .user, u.name, path: u.path))), ("CreateDate", .date(u.createdAt))])
    }

    static func roleFields(_ c: Caller, _ r: StoredRole) -> QueryValue {
        .object([("Path", .text(r.path)), ("RoleName", .text(r.name)), ("RoleId", .text(r.roleId)),
                 ("Arn", .text(arn(c, .role, r.name, path: r.path))), ("CreateDate", .date(r.createdAt)),
                 ("AssumeRolePolicyDocument", encoded(r.trustPolicy)), ("Description", .text(r.description)),
                 ("MaxSessionDuration", .int(r.maxSessionSeconds))])
    }

    static func groupFields(_ c: Caller, _ g: StoredGroup) -> QueryValue {
        .object([("Path", .text(g.path)), ("GroupName", .text(g.name)), ("GroupId", .text(g.groupId)),
                 ("Arn", .text(arn(c, .group, g.name, path: g.path))), ("CreateDate", .date(g.createdAt))])
    }

    static func policyFields(_ c: Caller, _ p: StoredPolicy) -> QueryValue {
        .object([("PolicyName", .text(p.name)), ("PolicyId", .text(p.policyId)),
                 ("Arn", .text(c.backend.scope.iamPolicy(c.account, String(p.path.dropFirst()) + p.name))),
                 ("Path", .text(p.path)), ("DefaultVersionId", .text("v\(p.defaultVersion)")),
                 ("AttachmentCount", .int(p.attachmentCount)), ("IsAttachable", .bool(true)),
                 ("Description", .text(p.description)), ("CreateDate", .date(p.createdAt)), ("UpdateDate", .date(p.updatedAt))])
    }

    static func builtInFields(_ c: Caller, _ name: String, description: String) -> QueryValue {
        .object([("PolicyName", .text(name)), ("PolicyId", .text("ANPA" + String(SigV4.sha256Hex(name).prefix(17)).uppercased())),
                 ("Arn", .text(BuiltInPolicies.arn(name, partition: c.backend.scope.partition))), ("Path", .text("/")),
                 ("DefaultVersionId", .text("v1")), ("IsAttachable", .bool(true)), ("Description", .text(description))])
    }

    static func user(_ conn: PostgresConnection, _ c: Caller, _ name: String) async throws -> StoredUser {
        guard let u = try await c.backend.iam.user(conn, account: c.account, name: name) else { throw noSuch("user", name) }
        return u
    }

    static func role(_ conn: PostgresConnection, _ c: Caller, _ name: String) async throws -> StoredRole {
        guard let r = try await c.backend.iam.roles(conn, account: c.account, name: name).first else { throw noSuch("role", name) }
        return r
    }

    static func group(_ conn: PostgresConnection, _ c: Caller, _ name: String) async throws -> StoredGroup {
        guard let g = try await c.backend.iam.groups(conn, account: c.account, name: name).first else { throw noSuch("group", name) }
        return g
    }

    static func hasPolicies(_ conn: PostgresConnection, _ c: Caller, kind: PrincipalKind, name: String) async throws -> Bool {
        let attached = try await c.backend.iam.attached(conn, account: c.account, kind: kind, name: name)
        let inline = try await c.backend.iam.inline(conn, account: c.account, kind: kind, name: name)
        return !attached.isEmpty || !inline.isEmpty
    }

    static func principalExists(_ conn: PostgresConnection, _ c: Caller, kind: PrincipalKind, name: String) async throws {
        switch kind {
        case .user: _ = try await user(conn, c, name)
        case .role: _ = try await role(conn, c, name)
        case .group: _ = try await group(conn, c, name)
        }
    }

    /// A managed policy ARN this account may attach: built-in, or its own existing policy (returns its name).
    static func managedPolicy(_ conn: PostgresConnection, _ c: Caller, arn text: String) async throws -> String {
        guard let arn = ARN(text), arn.service == "iam", arn.resource.hasPrefix("policy/") else {
            throw APIError("InvalidInput", "ARN \(text) is not a valid policy ARN.")
        }
        let name = String(arn.resource.split(separator: "/").last ?? "")
        let missing = APIError("NoSuchEntity", "Policy \(text) does not exist or is not attachable.", awsStatus: 404)
        if arn.account == "aws" {
            guard BuiltInPolicies.all[name] != nil, text == BuiltInPolicies.arn(name, partition: c.backend.scope.partition) else { throw missing }
            return name
        }
        // The ARN must be the policy's own, path included: a Deny written for it would not match another spelling.
        guard arn.account == c.account, let policy = try await c.backend.iam.policies(conn, account: c.account, name: name).first,
              text == c.backend.scope.iamPolicy(c.account, String(policy.path.dropFirst()) + policy.name) else { throw missing }
        return name
    }

    /// A role by its ARN, only when the ARN is the role's own (its path included): IAM names roles by name, and a
    /// Deny written for the role's ARN would not match `role/other/path/<name>`.
    static func role(_ conn: PostgresConnection, _ c: Caller, arn text: String) async throws -> StoredRole? {
        guard let arn = ARN(text), arn.service == "iam", arn.resourceType == "role", arn.account == c.account,
              let name = arn.resourcePath.last,
              let role = try await c.backend.iam.roles(conn, account: c.account, name: name).first,
              self.arn(c, .role, role.name, path: role.path) == text else { return nil }
        return role
    }

    // MARK: users

    static func createUser(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let name = try q.required("UserName")
        try Tenancy.checkName(name, what: "User")
        let path = try path(q)
        try await c.authorize([arn(c, .user, name, path: path)], requestTags: q.tags())
        let created = try await write(c) { conn in
            if try await c.backend.iam.user(conn, account: c.account, name: name) != nil { throw exists("User", name) }
            try await c.backend.iam.createUser(conn, account: c.account, name: name, userId: Tenancy.uniqueId("AIDA", account: c.account), path: path)
            let tags = q.tags()
            if !tags.isEmpty { try await c.backend.iam.setTags(conn, account: c.account, kind: .user, name: name, tags: tags) }
            return try await user(conn, c, name)
        }
        return [("User", userFields(c, created))]
    }

    static func getUser(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let name = q.string("UserName") ?? c.principal.userName
        try await c.authorize([arn(c, .user, name)])
        return [("User", userFields(c, try await read(c) { try await user($0, c, name) }))]
    }

    static func listUsers(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        try await c.authorize([arn(c, .user, "*")])
        let users = try await read(c) { try await c.backend.iam.users($0, account: c.account) }
        return [("Users", .list(users.map { userFields(c, $0) })), ("IsTruncated", .bool(false))]
    }

    static func deleteUser(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let name = try q.required("UserName")
        try await c.authorize([arn(c, .user, name)])
        try await write(c) { conn in
            _ = try await user(conn, c, name)
            let iam = c.backend.iam
            let keys = try await iam.accessKeys(conn, account: c.account, user: name).count
            let groups = try await iam.groupsOf(conn, account: c.account, user: name).count
            let policies = try await hasPolicies(conn, c, kind: .user, name: name)
            if keys + groups > 0 || policies {
                throw conflict("Cannot delete entity, must delete access keys, detach policies and leave groups first.")
            }
            try await iam.deleteUser(conn, account: c.account, name: name)
        }
        return []
    }

    static func tag(_ q: QueryRequest, _ c: Caller, kind: PrincipalKind) async throws -> Fields {
        let name = try q.required(kind == .user ? "UserName" : "RoleName")
        let tags = q.tags()
        try await c.authorize([arn(c, kind, name)], requestTags: tags)
        try await write(c) { conn in
            try await principalExists(conn, c, kind: kind, name: name)
            var current = try await c.backend.iam.tags(conn, account: c.account, kind: kind, name: name)
            for t in tags {
                if let i = current.firstIndex(where: { $0.key == t.key }) { current[i] = t } else { current.append(t) }
            }
            guard current.count <= 50 else { throw APIError("LimitExceeded", "At most 50 tags per \(kind.rawValue).", awsStatus: 409) }
            try await c.backend.iam.setTags(conn, account: c.account, kind: kind, name: name, tags: current)
        }
        return []
    }

    // MARK: roles

    static func createRole(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let name = try q.required("RoleName")
        try Tenancy.checkName(name, what: "Role")
        let path = try path(q)
        let trust = try q.required("AssumeRolePolicyDocument")
        _ = try PolicyDocument.parse(trust, kind: .trust, maxSize: 2048)
        let maxSession = try q.int("MaxSessionDuration") ?? 3600
        guard (3600...43200).contains(maxSession) else {
            throw APIError("ValidationError", "MaxSessionDuration must be between 3600 and 43200 seconds.")
        }
        try await c.authorize([arn(c, .role, name, path: path)], requestTags: q.tags())
        let created = try await write(c) { conn in
            if try await c.backend.iam.roles(conn, account: c.account, name: name).first != nil { throw exists("Role", name) }
            try await c.backend.iam.createRole(conn, account: c.account, StoredRole(
                name: name, roleId: Tenancy.uniqueId("AROA", account: c.account), path: path, description: q.string("Description") ?? "",
                trustPolicy: trust, maxSessionSeconds: maxSession, createdAt: c.backend.clock.now()))
            let tags = q.tags()
            if !tags.isEmpty { try await c.backend.iam.setTags(conn, account: c.account, kind: .role, name: name, tags: tags) }
            return try await role(conn, c, name)
        }
        return [("Role", roleFields(c, created))]
    }

    static func getRole(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let name = try q.required("RoleName")
        try await c.authorize([arn(c, .role, name)])
        return [("Role", roleFields(c, try await read(c) { try await role($0, c, name) }))]
    }

    static func listRoles(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        try await c.authorize([arn(c, .role, "*")])
        let roles = try await read(c) { try await c.backend.iam.roles($0, account: c.account) }
        return [("Roles", .list(roles.map { roleFields(c, $0) })), ("IsTruncated", .bool(false))]
    }

    /// Allowed while task definitions still name the role, as in IAM; their tasks' credential refreshes then fail
    /// visibly (a task event), which is the agent's side of it.
    static func deleteRole(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let name = try q.required("RoleName")
        try await c.authorize([arn(c, .role, name)])
        try await write(c) { conn in
            _ = try await role(conn, c, name)
            let iam = c.backend.iam
            if try await hasPolicies(conn, c, kind: .role, name: name) {
                throw conflict("Cannot delete entity, must detach all policies first.")
            }
            try await iam.deleteRole(conn, account: c.account, name: name)
        }
        return []
    }

    static func updateTrust(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let name = try q.required("RoleName")
        let document = try q.required("PolicyDocument")
        _ = try PolicyDocument.parse(document, kind: .trust, maxSize: 2048)
        try await c.authorize([arn(c, .role, name)])
        try await write(c) { conn in
            _ = try await role(conn, c, name)
            try await c.backend.iam.updateTrustPolicy(conn, account: c.account, role: name, document: document)
        }
        return []
    }

    // MARK: groups

    static func createGroup(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let name = try q.required("GroupName")
        try Tenancy.checkName(name, what: "Group", max: 128)
        let path = try path(q)
        try await c.authorize([arn(c, .group, name, path: path)])
        let created = try await write(c) { conn in
            if try await c.backend.iam.groups(conn, account: c.account, name: name).first != nil { throw exists("Group", name) }
            try await c.backend.iam.createGroup(conn, account: c.account, name: name, groupId: Tenancy.uniqueId("AGPA", account: c.account), path: path)
            return try await group(conn, c, name)
        }
        return [("Group", groupFields(c, created))]
    }

    static func getGroup(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let name = try q.required("GroupName")
        try await c.authorize([arn(c, .group, name)])
        let (g, users) = try await read(c) { conn in
            let g = try await group(conn, c, name)
            let members = Set(try await c.backend.iam.members(conn, account: c.account, group: name))
            return (g, try await c.backend.iam.users(conn, account: c.account).filter { members.contains($0.name) })
        }
        return [("Group", groupFields(c, g)), ("Users", .list(users.map { userFields(c, $0) })), ("IsTruncated", .bool(false))]
    }

    static func listGroups(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        try await c.authorize([arn(c, .group, "*")])
        let groups = try await read(c) { try await c.backend.iam.groups($0, account: c.account) }
        return [("Groups", .list(groups.map { groupFields(c, $0) })), ("IsTruncated", .bool(false))]
    }

    static func groupsForUser(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let name = try q.required("UserName")
        try await c.authorize([arn(c, .user, name)])
        let groups = try await read(c) { conn in
            _ = try await user(conn, c, name)
            let mine = Set(try await c.backend.iam.groupsOf(conn, account: c.account, user: name))
            return try await c.backend.iam.groups(conn, account: c.account).filter { mine.contains($0.name) }
        }
        return [("Groups", .list(groups.map { groupFields(c, $0) })), ("IsTruncated", .bool(false))]
    }

    static func deleteGroup(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let name = try q.required("GroupName")
        try await c.authorize([arn(c, .group, name)])
        try await write(c) { conn in
            _ = try await group(conn, c, name)
            let iam = c.backend.iam
            let members = try await iam.members(conn, account: c.account, group: name).count
            let policies = try await hasPolicies(conn, c, kind: .group, name: name)
            if members > 0 || policies {
                throw conflict("Cannot delete entity, must remove users and detach policies from the group first.")
            }
            try await iam.deleteGroup(conn, account: c.account, name: name)
        }
        return []
    }

    static func membership(_ q: QueryRequest, _ c: Caller, member: Bool) async throws -> Fields {
        let group = try q.required("GroupName")
        let user = try q.required("UserName")
        try await c.authorize([arn(c, .group, group)])
        try await write(c) { conn in
            _ = try await Self.group(conn, c, group)
            _ = try await Self.user(conn, c, user)
            try await c.backend.iam.setMembership(conn, account: c.account, group: group, user: user, member: member)
        }
        return []
    }

    // MARK: managed policies

    static func createPolicy(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let name = try q.required("PolicyName")
        try Tenancy.checkName(name, what: "Policy", max: 128)
        let path = try path(q)
        let document = try q.required("PolicyDocument")
        _ = try PolicyDocument.parse(document)
        let policyArn = c.backend.scope.iamPolicy(c.account, String(path.dropFirst()) + name)
        try await c.authorize([policyArn])
        let policy = try await write(c) { conn in
            if try await c.backend.iam.policies(conn, account: c.account, name: name).first != nil {
                throw APIError("EntityAlreadyExists", "A policy called \(name) already exists. Duplicate names are not allowed.", awsStatus: 409)
            }
            try await c.backend.iam.createPolicy(conn, account: c.account, name: name, policyId: Tenancy.uniqueId("ANPA", account: c.account),
                                                  path: path, description: q.string("Description") ?? "", document: document)
            return try await c.backend.iam.policies(conn, account: c.account, name: name)[0]
        }
        return [("Policy", policyFields(c, policy))]
    }

    /// The customer managed policy an ARN names, authorized for the operation.
    static func ownPolicy(_ q: QueryRequest, _ c: Caller) async throws -> (arn: String, name: String) {
        let text = try q.required("PolicyArn")
        guard let arn = ARN(text), arn.service == "iam", arn.resource.hasPrefix("policy/") else {
            throw APIError("InvalidInput", "ARN \(text) is not a valid policy ARN.")
        }
        try await c.authorize([text])
        guard arn.account == c.account else {
            throw APIError("InvalidInput", "Policy \(text) is an AWS managed policy and cannot be changed or listed by version here.")
        }
        return (text, String(arn.resource.split(separator: "/").last ?? ""))
    }

    static func getPolicy(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let text = try q.required("PolicyArn")
        try await c.authorize([text])
        if let arn = ARN(text), arn.account == "aws", let builtIn = BuiltInPolicies.all[String(arn.resource.split(separator: "/").last ?? "")],
           text == BuiltInPolicies.arn(String(arn.resource.split(separator: "/").last ?? ""), partition: c.backend.scope.partition) {
            return [("Policy", builtInFields(c, String(arn.resource.split(separator: "/").last ?? ""), description: builtIn.description))]
        }
        let name = try await read(c) { try await managedPolicy($0, c, arn: text) }
        let policy = try await read(c) { try await c.backend.iam.policies($0, account: c.account, name: name)[0] }
        return [("Policy", policyFields(c, policy))]
    }

    static func listPolicies(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        try await c.authorize([c.backend.scope.iamPolicy(c.account, "*")])
        let scope = q.string("Scope") ?? "All"
        var items: [QueryValue] = []
        if scope != "Local" {
            items += BuiltInPolicies.all.keys.sorted().map { builtInFields(c, $0, description: BuiltInPolicies.all[$0]?.description ?? "") }
        }
        if scope != "AWS" {
            let own = try await read(c) { try await c.backend.iam.policies($0, account: c.account) }
            items += own.filter { !(q.bool("OnlyAttached") ?? false) || $0.attachmentCount > 0 }.map { policyFields(c, $0) }
        }
        return [("Policies", .list(items)), ("IsTruncated", .bool(false))]
    }

    static func deletePolicy(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let (arn, name) = try await ownPolicy(q, c)
        try await write(c) { conn in
            _ = try await managedPolicy(conn, c, arn: arn)
            if try await c.backend.iam.attachmentCount(conn, account: c.account, policyArn: arn) > 0 {
                throw conflict("Cannot delete a policy attached to entities.")
            }
            try await c.backend.iam.deletePolicy(conn, account: c.account, name: name)
        }
        return []
    }

    static func versionFields(_ v: StoredPolicyVersion) -> QueryValue {
        .object([("Document", encoded(v.document)), ("VersionId", .text("v\(v.version)")), ("IsDefaultVersion", .bool(v.isDefault)),
                 ("CreateDate", .date(v.createdAt))])
    }

    static func versionNumber(_ q: QueryRequest) throws(APIError) -> Int {
        let text = try q.required("VersionId")
        guard text.hasPrefix("v"), let n = Int(text.dropFirst()), n > 0 else {
            throw APIError("ValidationError", "VersionId must look like v1, v2, …; got '\(text)'.")
        }
        return n
    }

    static func createPolicyVersion(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let document = try q.required("PolicyDocument")
        _ = try PolicyDocument.parse(document)
        let (arn, name) = try await ownPolicy(q, c)
        let setDefault = q.bool("SetAsDefault") ?? false
        let version = try await write(c) { conn in
            _ = try await managedPolicy(conn, c, arn: arn)
            let versions = try await c.backend.iam.versions(conn, account: c.account, policy: name)
            guard versions.count < 5 else {
                throw APIError("LimitExceeded", "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.", awsStatus: 409)
            }
            let n = try await c.backend.iam.addVersion(conn, account: c.account, policy: name, document: document, makeDefault: setDefault)
            return try await c.backend.iam.versions(conn, account: c.account, policy: name).first { $0.version == n }
        }
        guard let version else { throw APIError.server() }
        return [("PolicyVersion", versionFields(version))]
    }

    static func getPolicyVersion(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let text = try q.required("PolicyArn")
        let n = try versionNumber(q)
        try await c.authorize([text])
        if let arn = ARN(text), arn.account == "aws", let builtIn = BuiltInPolicies.all[String(arn.resource.split(separator: "/").last ?? "")], n == 1,
           text == BuiltInPolicies.arn(String(arn.resource.split(separator: "/").last ?? ""), partition: c.backend.scope.partition) {
            return [("PolicyVersion", versionFields(StoredPolicyVersion(version: 1, document: builtIn.document, isDefault: true,
                                                                        createdAt: Date(timeIntervalSince1970: 1_700_000_000))))]
        }
        let version = try await read(c) { conn in
            let name = try await managedPolicy(conn, c, arn: text)
            return try await c.backend.iam.versions(conn, account: c.account, policy: name).first { $0.version == n }
        }
        guard let version else { throw APIError("NoSuchEntity", "Policy \(text) version v\(n) does not exist.", awsStatus: 404) }
        return [("PolicyVersion", versionFields(version))]
    }

    static func listPolicyVersions(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let (arn, name) = try await ownPolicy(q, c)
        let versions = try await read(c) { conn in
            _ = try await managedPolicy(conn, c, arn: arn)
            return try await c.backend.iam.versions(conn, account: c.account, policy: name)
        }
        return [("Versions", .list(versions.map { v in
            .object([("VersionId", .text("v\(v.version)")), ("IsDefaultVersion", .bool(v.isDefault)), ("CreateDate", .date(v.createdAt))])
        })), ("IsTruncated", .bool(false))]
    }

    static func deletePolicyVersion(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let n = try versionNumber(q)
        let (arn, name) = try await ownPolicy(q, c)
        try await write(c) { conn in
            _ = try await managedPolicy(conn, c, arn: arn)
            guard let v = try await c.backend.iam.versions(conn, account: c.account, policy: name).first(where: { $0.version == n }) else {
                throw APIError("NoSuchEntity", "Policy \(arn) version v\(n) does not exist.", awsStatus: 404)
            }
            guard !v.isDefault else { throw conflict("Cannot delete the default version of a policy.") }
            try await c.backend.iam.deleteVersion(conn, account: c.account, policy: name, version: n)
        }
        return []
    }

    static func setDefaultPolicyVersion(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let n = try versionNumber(q)
        let (arn, name) = try await ownPolicy(q, c)
        try await write(c) { conn in
            _ = try await managedPolicy(conn, c, arn: arn)
            guard try await c.backend.iam.versions(conn, account: c.account, policy: name).contains(where: { $0.version == n }) else {
                throw APIError("NoSuchEntity", "Policy \(arn) version v\(n) does not exist.", awsStatus: 404)
            }
            try await c.backend.iam.setDefault(conn, account: c.account, policy: name, version: n)
        }
        return []
    }

    // MARK: attachments and inline policies

    static func attach(_ q: QueryRequest, _ c: Caller, kind: PrincipalKind, attached: Bool) async throws -> Fields {
        let name = try q.required("\(kind.title)Name")
        let policyArn = try q.required("PolicyArn")
        try await c.authorize([arn(c, kind, name)], keys: ["iam:PolicyARN": policyArn])
        try await write(c) { conn in
            try await principalExists(conn, c, kind: kind, name: name)
            _ = try await managedPolicy(conn, c, arn: policyArn)
            if attached, try await c.backend.iam.attached(conn, account: c.account, kind: kind, name: name).count >= 20 {
                throw APIError("LimitExceeded", "Cannot exceed quota for PoliciesPerPrincipal: 20.", awsStatus: 409)
            }
            if !attached, !(try await c.backend.iam.attached(conn, account: c.account, kind: kind, name: name)).contains(policyArn) {
                throw APIError("NoSuchEntity", "Policy \(policyArn) was not found attached to \(kind.rawValue) \(name).", awsStatus: 404)
            }
            try await c.backend.iam.setAttached(conn, account: c.account, kind: kind, name: name, policyArn: policyArn, attached: attached)
        }
        return []
    }

    static func listAttached(_ q: QueryRequest, _ c: Caller, kind: PrincipalKind) async throws -> Fields {
        let name = try q.required("\(kind.title)Name")
        try await c.authorize([arn(c, kind, name)])
        let arns = try await read(c) { conn in
            try await principalExists(conn, c, kind: kind, name: name)
            return try await c.backend.iam.attached(conn, account: c.account, kind: kind, name: name)
        }
        return [("AttachedPolicies", .list(arns.map { a in
            .object([("PolicyName", .text(String(a.split(separator: "/").last ?? ""))), ("PolicyArn", .text(a))])
        })), ("IsTruncated", .bool(false))]
    }

    static func putInline(_ q: QueryRequest, _ c: Caller, kind: PrincipalKind) async throws -> Fields {
        let name = try q.required("\(kind.title)Name")
        let policy = try q.required("PolicyName")
        try Tenancy.checkName(policy, what: "Policy", max: 128)
        let document = try q.required("PolicyDocument")
        _ = try PolicyDocument.parse(document, maxSize: 10_240)
        try await c.authorize([arn(c, kind, name)])
        try await write(c) { conn in
            try await principalExists(conn, c, kind: kind, name: name)
            try await c.backend.iam.putInline(conn, account: c.account, kind: kind, name: name, policy: policy, document: document)
        }
        return []
    }

    static func getInline(_ q: QueryRequest, _ c: Caller, kind: PrincipalKind) async throws -> Fields {
        let name = try q.required("\(kind.title)Name")
        let policy = try q.required("PolicyName")
        try await c.authorize([arn(c, kind, name)])
        let found = try await read(c) { conn in
            try await principalExists(conn, c, kind: kind, name: name)
            return try await c.backend.iam.inline(conn, account: c.account, kind: kind, name: name).first { $0.name == policy }
        }
        guard let found else { throw APIError("NoSuchEntity", "The \(kind.rawValue) policy with name \(policy) cannot be found.", awsStatus: 404) }
        return [("\(kind.title)Name", .text(name)), ("PolicyName", .text(policy)), ("PolicyDocument", encoded(found.document))]
    }

    static func deleteInline(_ q: QueryRequest, _ c: Caller, kind: PrincipalKind) async throws -> Fields {
        let name = try q.required("\(kind.title)Name")
        let policy = try q.required("PolicyName")
        try await c.authorize([arn(c, kind, name)])
        try await write(c) { conn in
            try await principalExists(conn, c, kind: kind, name: name)
            guard try await c.backend.iam.inline(conn, account: c.account, kind: kind, name: name).contains(where: { $0.name == policy }) else {
                throw APIError("NoSuchEntity", "The \(kind.rawValue) policy with name \(policy) cannot be found.", awsStatus: 404)
            }
            try await c.backend.iam.putInline(conn, account: c.account, kind: kind, name: name, policy: policy, document: nil)
        }
        return []
    }

    static func listInline(_ q: QueryRequest, _ c: Caller, kind: PrincipalKind) async throws -> Fields {
        let name = try q.required("\(kind.title)Name")
        try await c.authorize([arn(c, kind, name)])
        let names = try await read(c) { conn in
            try await principalExists(conn, c, kind: kind, name: name)
            return try await c.backend.iam.inline(conn, account: c.account, kind: kind, name: name).map(\.name)
        }
        return [("PolicyNames", .list(names.map { .text($0) })), ("IsTruncated", .bool(false))]
    }

    // MARK: access keys

    static func createAccessKey(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let name = q.string("UserName") ?? c.principal.userName
        try await c.authorize([arn(c, .user, name)])
        let count = try await read(c) { conn in
            _ = try await user(conn, c, name)
            return try await c.backend.iam.accessKeys(conn, account: c.account, user: name).count
        }
        guard count < 2 else { throw APIError("LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2.", awsStatus: 409) }
        let key = try await c.backend.tenancy.createAccessKey(account: c.account, user: name)
        // An id presented before it existed would be remembered as unknown: a new key works here at once.
        c.backend.verifier.forget(key.accessKeyId)
        return [("AccessKey", .object([("UserName", .text(name)), ("AccessKeyId", .text(key.accessKeyId)), ("Status", .text("Active")),
                                        ("SecretAccessKey", .text(key.secretAccessKey)), ("CreateDate", .date(c.backend.clock.now()))]))]
    }

    static func updateAccessKey(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let status = try q.required("Status")
        guard status == "Active" || status == "Inactive" else {
            throw APIError("ValidationError", "Status must be Active or Inactive; got '\(status)'.")
        }
        return try await changeKey(q, c, status: status)
    }

    static func changeKey(_ q: QueryRequest, _ c: Caller, status: String?) async throws -> Fields {
        let name = q.string("UserName") ?? c.principal.userName
        let key = try q.required("AccessKeyId")
        try await c.authorize([arn(c, .user, name)])
        try await write(c) { conn in
            _ = try await user(conn, c, name)
            guard try await c.backend.iam.setKeyStatus(conn, account: c.account, user: name, key: key, status: status) else {
                throw APIError("NoSuchEntity", "The Access Key with id \(key) cannot be found.", awsStatus: 404)
            }
        }
        c.backend.verifier.forget(key)
        return []
    }

    static func listAccessKeys(_ q: QueryRequest, _ c: Caller) async throws -> Fields {
        let name = q.string("UserName") ?? c.principal.userName
        try await c.authorize([arn(c, .user, name)])
        let keys = try await read(c) { conn in
            _ = try await user(conn, c, name)
            return try await c.backend.iam.accessKeys(conn, account: c.account, user: name)
        }
        return [("AccessKeyMetadata", .list(keys.map { k in
            .object([("UserName", .text(name)), ("AccessKeyId", .text(k.id)), ("Status", .text(k.status)), ("CreateDate", .date(k.created))])
        })), ("IsTruncated", .bool(false))]
    }
}

extension PrincipalKind {
    var title: String { rawValue.prefix(1).uppercased() + rawValue.dropFirst() }
}

/// The IAM operations, declared once: the query door and the REST route dispatch here.
public enum IAMOperations {
    public static let all: [Operation] = {
        let actions: [Operation] = [
            Operation.form(.iam, "CreateUser", .write, IAMActions.createUser),
            Operation.form(.iam, "GetUser", .read, IAMActions.getUser),
            Operation.form(.iam, "ListUsers", .read, IAMActions.listUsers),
            Operation.form(.iam, "DeleteUser", .write, IAMActions.deleteUser),
            Operation.form(.iam, "TagUser", .write, { try await IAMActions.tag($0, $1, kind: .user) }),
            Operation.form(.iam, "CreateRole", .write, IAMActions.createRole),
            Operation.form(.iam, "GetRole", .read, IAMActions.getRole),
            Operation.form(.iam, "ListRoles", .read, IAMActions.listRoles),
            Operation.form(.iam, "DeleteRole", .write, IAMActions.deleteRole),
            Operation.form(.iam, "UpdateAssumeRolePolicy", .write, IAMActions.updateTrust),
            Operation.form(.iam, "TagRole", .write, { try await IAMActions.tag($0, $1, kind: .role) }),
            Operation.form(.iam, "CreateGroup", .write, IAMActions.createGroup),
            Operation.form(.iam, "GetGroup", .read, IAMActions.getGroup),
            Operation.form(.iam, "ListGroups", .read, IAMActions.listGroups),
            Operation.form(.iam, "DeleteGroup", .write, IAMActions.deleteGroup),
            Operation.form(.iam, "AddUserToGroup", .write, { try await IAMActions.membership($0, $1, member: true) }),
            Operation.form(.iam, "RemoveUserFromGroup", .write, { try await IAMActions.membership($0, $1, member: false) }),
            Operation.form(.iam, "ListGroupsForUser", .read, IAMActions.groupsForUser),
            Operation.form(.iam, "CreatePolicy", .write, IAMActions.createPolicy),
            Operation.form(.iam, "GetPolicy", .read, IAMActions.getPolicy),
            Operation.form(.iam, "ListPolicies", .read, IAMActions.listPolicies),
            Operation.form(.iam, "DeletePolicy", .write, IAMActions.deletePolicy),
            Operation.form(.iam, "CreatePolicyVersion", .write, IAMActions.createPolicyVersion),
            Operation.form(.iam, "GetPolicyVersion", .read, IAMActions.getPolicyVersion),
            Operation.form(.iam, "ListPolicyVersions", .read, IAMActions.listPolicyVersions),
            Operation.form(.iam, "DeletePolicyVersion", .write, IAMActions.deletePolicyVersion),
            Operation.form(.iam, "SetDefaultPolicyVersion", .write, IAMActions.setDefaultPolicyVersion),
            Operation.form(.iam, "PutRolePolicy", .write, { try await IAMActions.putInline($0, $1, kind: .role) }),
            Operation.form(.iam, "PutUserPolicy", .write, { try await IAMActions.putInline($0, $1, kind: .user) }),
            Operation.form(.iam, "PutGroupPolicy", .write, { try await IAMActions.putInline($0, $1, kind: .group) }),
            Operation.form(.iam, "GetRolePolicy", .read, { try await IAMActions.getInline($0, $1, kind: .role) }),
            Operation.form(.iam, "GetUserPolicy", .read, { try await IAMActions.getInline($0, $1, kind: .user) }),
            Operation.form(.iam, "GetGroupPolicy", .read, { try await IAMActions.getInline($0, $1, kind: .group) }),
            Operation.form(.iam, "DeleteRolePolicy", .write, { try await IAMActions.deleteInline($0, $1, kind: .role) }),
            Operation.form(.iam, "DeleteUserPolicy", .write, { try await IAMActions.deleteInline($0, $1, kind: .user) }),
            Operation.form(.iam, "DeleteGroupPolicy", .write, { try await IAMActions.deleteInline($0, $1, kind: .group) }),
            Operation.form(.iam, "ListRolePolicies", .read, { try await IAMActions.listInline($0, $1, kind: .role) }),
            Operation.form(.iam, "ListUserPolicies", .read, { try await IAMActions.listInline($0, $1, kind: .user) }),
            Operation.form(.iam, "ListGroupPolicies", .read, { try await IAMActions.listInline($0, $1, kind: .group) }),
        ] + PrincipalKind.allCases.flatMap { kind in [
            Operation.form(.iam, "Attach\(kind.title)Policy", .write, { try await IAMActions.attach($0, $1, kind: kind, attached: true) }),
            Operation.form(.iam, "Detach\(kind.title)Policy", .write, { try await IAMActions.attach($0, $1, kind: kind, attached: false) }),
            Operation.form(.iam, "ListAttached\(kind.title)Policies", .read, { try await IAMActions.listAttached($0, $1, kind: kind) }),
        ] } + [
            Operation.form(.iam, "CreateAccessKey", .write, IAMActions.createAccessKey),
            Operation.form(.iam, "DeleteAccessKey", .write, { try await IAMActions.changeKey($0, $1, status: nil) }),
            Operation.form(.iam, "UpdateAccessKey", .write, IAMActions.updateAccessKey),
            Operation.form(.iam, "ListAccessKeys", .read, IAMActions.listAccessKeys),
        ]
        return actions
    }()
}
