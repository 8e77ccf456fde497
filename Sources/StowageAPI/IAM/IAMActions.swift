import Foundation
import StowageIAM
import StowageModel
import StowageSigning
import StowageStore
import StowageUseCases

/// The IAM door (query protocol) and `/v1/iam/{action}`: users, roles, groups, managed and inline policies,
/// attachments and access keys. The door checks and authorizes; `IAMEntities` runs each call in one transaction.
enum IAMActions {
    // MARK: shared

    static func arn(_ c: Caller, _ kind: PrincipalKind, _ name: String, path: String = "/") -> String {
        c.iam.arn(kind, name, path: path)
    }

    static func checkPath(_ path: String?, what: String = "Path") throws(APIError) -> String {
        let p = path ?? "/"
        guard p.hasPrefix("/"), p.hasSuffix("/"), p.count <= 512 else {
            throw APIError("ValidationError", "\(what) must begin and end with '/' and be at most 512 characters.")
        }
        return p
    }

    /// IAM returns policy documents URL-encoded; botocore decodes them back into objects.
    static func encoded(_ document: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return document.addingPercentEncoding(withAllowedCharacters: allowed) ?? document
    }

    static func shape(_ c: Caller, _ u: UserRow) -> IAMShapes.User {
        IAMShapes.User(path: u.path, userName: u.name, userId: u.userId, arn: arn(c, .user, u.name, path: u.path), createDate: u.createdAt)
    }

    static func shape(_ c: Caller, _ r: RoleRow) -> IAMShapes.Role {
        IAMShapes.Role(path: r.path, roleName: r.name, roleId: r.roleId, arn: arn(c, .role, r.name, path: r.path), createDate: r.createdAt,
                       assumeRolePolicyDocument: encoded(r.trustPolicy), description: r.description, maxSessionDuration: r.maxSessionSeconds)
    }

    static func shape(_ c: Caller, _ g: GroupRow) -> IAMShapes.Group {
        IAMShapes.Group(path: g.path, groupName: g.name, groupId: g.groupId, arn: arn(c, .group, g.name, path: g.path), createDate: g.createdAt)
    }

    static func shape(_ c: Caller, _ p: PolicyRow) -> IAMShapes.Policy {
        IAMShapes.Policy(policyName: p.name, policyId: p.policyId, arn: c.backend.scope.iamPolicy(c.account, String(p.path.dropFirst()) + p.name),
                         path: p.path, defaultVersionId: "v\(p.defaultVersion)", attachmentCount: p.attachmentCount,
                         description: p.description, createDate: p.createdAt, updateDate: p.updatedAt)
    }

    static func builtIn(_ c: Caller, _ name: String, description: String) -> IAMShapes.Policy {
        IAMShapes.Policy(policyName: name, policyId: "ANPA" + String(SigV4.sha256Hex(name).prefix(17)).uppercased(),
                         arn: BuiltInPolicies.arn(name, partition: c.backend.scope.partition), path: "/", defaultVersionId: "v1",
                         description: description)
    }

    static func shape(_ v: PolicyVersionRow, document: Bool) -> IAMShapes.PolicyVersion {
        IAMShapes.PolicyVersion(document: document ? encoded(v.document) : nil, versionId: "v\(v.version)", isDefaultVersion: v.isDefault,
                                createDate: v.createdAt)
    }

    /// IAM's paging: at most `MaxItems` (1 to 1000, 100 when absent) items after `Marker`, the opaque key of the
    /// previous page's last item. A key rather than a position, so an item created or deleted between two pages
    /// neither repeats nor hides another.
    struct Pager {
        let size: Int
        let after: String?

        init(marker: String?, maxItems: Int?) throws(APIError) {
            size = maxItems ?? 100
            guard (1...1000).contains(size) else {
                throw APIError("ValidationError", "1 validation error detected: Value '\(size)' at 'maxItems' failed to satisfy constraint: "
                               + "Member must have value between 1 and 1000")
            }
            guard let marker else { after = nil; return }
            guard let parts = try? PageToken.decode(marker), parts.count == 1 else { throw Self.invalid }
            after = parts[0]
        }

        init(_ paging: IAMShapes.Paging) throws(APIError) { try self.init(marker: paging.marker, maxItems: paging.maxItems) }

        static let invalid = APIError("ValidationError", "Marker is not valid: pass the Marker of the previous page unchanged.")

        /// One page of `items` in the order of `key` (the greatest first when `descending`).
        func page<T, Key: Comparable & LosslessStringConvertible>(_ items: [T], by key: (T) -> Key,
                                                                   descending: Bool = false) throws(APIError) -> Page<T> {
            let precedes: (Key, Key) -> Bool = descending ? { $0 > $1 } : { $0 < $1 }
            var rest = items.sorted { precedes(key($0), key($1)) }
            if let after {
                guard let last = Key(after) else { throw Self.invalid }
                rest = rest.filter { precedes(last, key($0)) }
            }
            let page = Array(rest.prefix(size))
            return Page(items: page, marker: rest.count > size ? page.last.map { PageToken.encode([key($0).description]) } : nil)
        }
    }

    struct Page<T> {
        var items: [T]
        /// Set while more follow.
        var marker: String?
        var isTruncated: Bool { marker != nil }
    }

    /// The path of a managed policy its ARN names (`policy/team/x` is in `/team/`).
    static func policyPath(_ text: String) -> String {
        let parts = ARN(text)?.resourcePath ?? []
        return parts.count > 1 ? "/" + parts.dropLast().joined(separator: "/") + "/" : "/"
    }

    // MARK: users

    static func createUser(_ input: IAMShapes.CreateUser, _ c: Caller) async throws -> IAMShapes.UserOutput {
        let name = input.userName
        try Tenancy.checkName(name, what: "User")
        let path = try checkPath(input.path)
        let tags = input.tags.map(\.tag)
        try await c.authorize([arn(c, .user, name, path: path)], requestTags: tags)
        let created = try await c.iam.createUser(name, path: path, tags: tags)
        return IAMShapes.UserOutput(user: shape(c, created))
    }

    static func getUser(_ input: IAMShapes.OptionalUser, _ c: Caller) async throws -> IAMShapes.UserOutput {
        let name = input.userName ?? c.principal.userName
        try await c.authorize([arn(c, .user, name)])
        return IAMShapes.UserOutput(user: shape(c, try await c.iam.user(name)))
    }

    static func listUsers(_ input: IAMShapes.PathListing, _ c: Caller) async throws -> IAMShapes.Users {
        let pager = try Pager(marker: input.marker, maxItems: input.maxItems)
        let prefix = try checkPath(input.pathPrefix, what: "PathPrefix")
        try await c.authorize([arn(c, .user, "*")])
        let users = try await c.iam.users()
        let page = try pager.page(users.filter { $0.path.hasPrefix(prefix) }, by: \.name)
        return IAMShapes.Users(users: page.items.map { shape(c, $0) }, isTruncated: page.isTruncated, marker: page.marker)
    }

    static func deleteUser(_ input: IAMShapes.UserReference, _ c: Caller) async throws -> IAMShapes.Empty {
        let name = input.userName
        try await c.authorize([arn(c, .user, name)])
        try await c.iam.deleteUser(name)
        return IAMShapes.Empty()
    }

    static func tag(_ c: Caller, kind: PrincipalKind, name: String, tags input: [IAMShapes.TagInput]) async throws -> IAMShapes.Empty {
        let tags = input.map(\.tag)
        try await c.authorize([arn(c, kind, name)], requestTags: tags)
        try await c.iam.tag(kind: kind, name: name, tags)
        return IAMShapes.Empty()
    }

    // MARK: roles

    static func createRole(_ input: IAMShapes.CreateRole, _ c: Caller) async throws -> IAMShapes.RoleOutput {
        let name = input.roleName
        try Tenancy.checkName(name, what: "Role")
        let path = try checkPath(input.path)
        let trust = input.assumeRolePolicyDocument
        _ = try PolicyDocument.parse(trust, kind: .trust, maxSize: 2048)
        let maxSession = input.maxSessionDuration ?? 3600
        guard (3600...43200).contains(maxSession) else {
            throw APIError("ValidationError", "MaxSessionDuration must be between 3600 and 43200 seconds.")
        }
        let tags = input.tags.map(\.tag)
        try await c.authorize([arn(c, .role, name, path: path)], requestTags: tags)
        let created = try await c.iam.createRole(name, path: path, description: input.description ?? "", trustPolicy: trust,
                                                 maxSessionSeconds: maxSession, tags: tags)
        return IAMShapes.RoleOutput(role: shape(c, created))
    }

    static func getRole(_ input: IAMShapes.RoleReference, _ c: Caller) async throws -> IAMShapes.RoleOutput {
        let name = input.roleName
        try await c.authorize([arn(c, .role, name)])
        return IAMShapes.RoleOutput(role: shape(c, try await c.iam.role(name)))
    }

    static func listRoles(_ input: IAMShapes.PathListing, _ c: Caller) async throws -> IAMShapes.Roles {
        let pager = try Pager(marker: input.marker, maxItems: input.maxItems)
        let prefix = try checkPath(input.pathPrefix, what: "PathPrefix")
        try await c.authorize([arn(c, .role, "*")])
        let roles = try await c.iam.roles()
        let page = try pager.page(roles.filter { $0.path.hasPrefix(prefix) }, by: \.name)
        return IAMShapes.Roles(roles: page.items.map { shape(c, $0) }, isTruncated: page.isTruncated, marker: page.marker)
    }

    /// Allowed while task definitions still name the role, as in IAM; their tasks' credential refreshes then fail
    /// visibly (a task event), which is the agent's side of it.
    static func deleteRole(_ input: IAMShapes.RoleReference, _ c: Caller) async throws -> IAMShapes.Empty {
        let name = input.roleName
        try await c.authorize([arn(c, .role, name)])
        try await c.iam.deleteRole(name)
        return IAMShapes.Empty()
    }

    static func updateTrust(_ input: IAMShapes.UpdateAssumeRolePolicy, _ c: Caller) async throws -> IAMShapes.Empty {
        let name = input.roleName
        let document = input.policyDocument
        _ = try PolicyDocument.parse(document, kind: .trust, maxSize: 2048)
        try await c.authorize([arn(c, .role, name)])
        try await c.iam.updateTrustPolicy(role: name, document: document)
        return IAMShapes.Empty()
    }

    // MARK: groups

    static func createGroup(_ input: IAMShapes.CreateGroup, _ c: Caller) async throws -> IAMShapes.GroupOutput {
        let name = input.groupName
        try Tenancy.checkName(name, what: "Group", max: 128)
        let path = try checkPath(input.path)
        try await c.authorize([arn(c, .group, name, path: path)])
        let created = try await c.iam.createGroup(name, path: path)
        return IAMShapes.GroupOutput(group: shape(c, created))
    }

    static func getGroup(_ input: IAMShapes.GetGroup, _ c: Caller) async throws -> IAMShapes.GroupWithUsers {
        let name = input.groupName
        let pager = try Pager(marker: input.marker, maxItems: input.maxItems)
        try await c.authorize([arn(c, .group, name)])
        let (g, users) = try await c.iam.group(name)
        let page = try pager.page(users, by: \.name)
        return IAMShapes.GroupWithUsers(group: shape(c, g), users: page.items.map { shape(c, $0) }, isTruncated: page.isTruncated,
                                        marker: page.marker)
    }

    static func listGroups(_ input: IAMShapes.PathListing, _ c: Caller) async throws -> IAMShapes.Groups {
        let pager = try Pager(marker: input.marker, maxItems: input.maxItems)
        let prefix = try checkPath(input.pathPrefix, what: "PathPrefix")
        try await c.authorize([arn(c, .group, "*")])
        let groups = try await c.iam.groups()
        let page = try pager.page(groups.filter { $0.path.hasPrefix(prefix) }, by: \.name)
        return IAMShapes.Groups(groups: page.items.map { shape(c, $0) }, isTruncated: page.isTruncated, marker: page.marker)
    }

    static func groupsForUser(_ input: IAMShapes.ListGroupsForUser, _ c: Caller) async throws -> IAMShapes.Groups {
        let name = input.userName
        let pager = try Pager(marker: input.marker, maxItems: input.maxItems)
        try await c.authorize([arn(c, .user, name)])
        let groups = try await c.iam.groups(ofUser: name)
        let page = try pager.page(groups, by: \.name)
        return IAMShapes.Groups(groups: page.items.map { shape(c, $0) }, isTruncated: page.isTruncated, marker: page.marker)
    }

    static func deleteGroup(_ input: IAMShapes.GroupReference, _ c: Caller) async throws -> IAMShapes.Empty {
        let name = input.groupName
        try await c.authorize([arn(c, .group, name)])
        try await c.iam.deleteGroup(name)
        return IAMShapes.Empty()
    }

    static func membership(_ input: IAMShapes.Membership, _ c: Caller, member: Bool) async throws -> IAMShapes.Empty {
        let group = input.groupName
        let user = input.userName
        try await c.authorize([arn(c, .group, group)])
        try await c.iam.setMembership(group: group, user: user, member: member)
        return IAMShapes.Empty()
    }

    // MARK: managed policies

    static func createPolicy(_ input: IAMShapes.CreatePolicy, _ c: Caller) async throws -> IAMShapes.PolicyOutput {
        let name = input.policyName
        try Tenancy.checkName(name, what: "Policy", max: 128)
        let path = try checkPath(input.path)
        let document = input.policyDocument
        _ = try PolicyDocument.parse(document)
        let policyArn = c.backend.scope.iamPolicy(c.account, String(path.dropFirst()) + name)
        try await c.authorize([policyArn])
        let policy = try await c.iam.createPolicy(name, path: path, description: input.description ?? "", document: document)
        return IAMShapes.PolicyOutput(policy: shape(c, policy))
    }

    /// The customer managed policy an ARN names, authorized for the operation.
    static func ownPolicy(_ text: String, _ c: Caller) async throws -> (arn: String, name: String) {
        guard let arn = ARN(text), arn.service == "iam", arn.resource.hasPrefix("policy/") else {
            throw APIError("InvalidInput", "ARN \(text) is not a valid policy ARN.")
        }
        try await c.authorize([text])
        guard arn.account == c.account else {
            throw APIError("InvalidInput", "Policy \(text) is an AWS managed policy and cannot be changed or listed by version here.")
        }
        return (text, String(arn.resource.split(separator: "/").last ?? ""))
    }

    /// The built-in policy an ARN names, when it names one in this partition.
    static func builtInName(_ text: String, _ c: Caller) -> String? {
        guard let arn = ARN(text), arn.account == "aws", let name = arn.resource.split(separator: "/").last.map(String.init),
              BuiltInPolicies.all[name] != nil, text == BuiltInPolicies.arn(name, partition: c.backend.scope.partition) else { return nil }
        return name
    }

    static func getPolicy(_ input: IAMShapes.PolicyReference, _ c: Caller) async throws -> IAMShapes.PolicyOutput {
        let text = input.policyArn
        try await c.authorize([text])
        if let name = builtInName(text, c), let builtIn = BuiltInPolicies.all[name] {
            return IAMShapes.PolicyOutput(policy: self.builtIn(c, name, description: builtIn.description))
        }
        let policy = try await c.iam.policy(arn: text)
        return IAMShapes.PolicyOutput(policy: shape(c, policy))
    }

    static func listPolicies(_ input: IAMShapes.ListPolicies, _ c: Caller) async throws -> IAMShapes.Policies {
        let pager = try Pager(marker: input.marker, maxItems: input.maxItems)
        let prefix = try checkPath(input.pathPrefix, what: "PathPrefix")
        let scope = input.scope ?? "All"
        guard ["All", "AWS", "Local"].contains(scope) else { throw APIError("ValidationError", "Scope must be All, AWS or Local; got '\(scope)'.") }
        try await c.authorize([c.backend.scope.iamPolicy(c.account, "*")])
        var items: [IAMShapes.Policy] = []
        if scope != "Local" {
            items += BuiltInPolicies.all.map { builtIn(c, $0.key, description: $0.value.description) }
        }
        if scope != "AWS" {
            let own = try await c.iam.policies()
            items += own.filter { !(input.onlyAttached ?? false) || $0.attachmentCount > 0 }.map { shape(c, $0) }
        }
        let page = try pager.page(items.filter { $0.path.hasPrefix(prefix) }, by: \.arn)
        return IAMShapes.Policies(policies: page.items, isTruncated: page.isTruncated, marker: page.marker)
    }

    static func deletePolicy(_ input: IAMShapes.PolicyReference, _ c: Caller) async throws -> IAMShapes.Empty {
        let (arn, name) = try await ownPolicy(input.policyArn, c)
        try await c.iam.deletePolicy(arn: arn, name: name)
        return IAMShapes.Empty()
    }

    static func versionNumber(_ text: String) throws(APIError) -> Int {
        guard text.hasPrefix("v"), let n = Int(text.dropFirst()), n > 0 else {
            throw APIError("ValidationError", "VersionId must look like v1, v2, …; got '\(text)'.")
        }
        return n
    }

    static func createPolicyVersion(_ input: IAMShapes.CreatePolicyVersion, _ c: Caller) async throws -> IAMShapes.PolicyVersionOutput {
        let document = input.policyDocument
        _ = try PolicyDocument.parse(document)
        let (arn, name) = try await ownPolicy(input.policyArn, c)
        let setDefault = input.setAsDefault ?? false
        let version = try await c.iam.createPolicyVersion(arn: arn, name: name, document: document, setDefault: setDefault)
        guard let version else { throw APIError.server() }
        return IAMShapes.PolicyVersionOutput(policyVersion: shape(version, document: true))
    }

    static func getPolicyVersion(_ input: IAMShapes.PolicyVersionReference, _ c: Caller) async throws -> IAMShapes.PolicyVersionOutput {
        let text = input.policyArn
        let n = try versionNumber(input.versionId)
        try await c.authorize([text])
        if let name = builtInName(text, c), let builtIn = BuiltInPolicies.all[name], n == 1 {
            let version = PolicyVersionRow(version: 1, document: builtIn.document, isDefault: true, createdAt: Date(timeIntervalSince1970: 1_700_000_000))
            return IAMShapes.PolicyVersionOutput(policyVersion: shape(version, document: true))
        }
        let version = try await c.iam.policyVersion(arn: text, number: n)
        guard let version else { throw APIError("NoSuchEntity", "Policy \(text) version v\(n) does not exist.", awsStatus: 404) }
        return IAMShapes.PolicyVersionOutput(policyVersion: shape(version, document: true))
    }

    static func listPolicyVersions(_ input: IAMShapes.ListPolicyVersions, _ c: Caller) async throws -> IAMShapes.PolicyVersions {
        let pager = try Pager(marker: input.marker, maxItems: input.maxItems)
        let (arn, name) = try await ownPolicy(input.policyArn, c)
        let versions = try await c.iam.policyVersions(arn: arn, name: name)
        let page = try pager.page(versions, by: \.version, descending: true)
        return IAMShapes.PolicyVersions(versions: page.items.map { shape($0, document: false) }, isTruncated: page.isTruncated, marker: page.marker)
    }

    static func deletePolicyVersion(_ input: IAMShapes.PolicyVersionReference, _ c: Caller) async throws -> IAMShapes.Empty {
        let n = try versionNumber(input.versionId)
        let (arn, name) = try await ownPolicy(input.policyArn, c)
        try await c.iam.deletePolicyVersion(arn: arn, name: name, number: n)
        return IAMShapes.Empty()
    }

    static func setDefaultPolicyVersion(_ input: IAMShapes.PolicyVersionReference, _ c: Caller) async throws -> IAMShapes.Empty {
        let n = try versionNumber(input.versionId)
        let (arn, name) = try await ownPolicy(input.policyArn, c)
        try await c.iam.setDefaultPolicyVersion(arn: arn, name: name, number: n)
        return IAMShapes.Empty()
    }

    // MARK: attachments and inline policies

    static func attach<K: PrincipalKindShape>(_ input: PrincipalInput<K, IAMShapes.PolicyArn>, _ c: Caller, attached: Bool) async throws -> IAMShapes.Empty {
        let (kind, name, policyArn) = (input.kind, input.name, input.rest.policyArn)
        try await c.authorize([arn(c, kind, name)], keys: ["iam:PolicyARN": policyArn])
        try await c.iam.setAttached(kind: kind, name: name, policyArn: policyArn, attached: attached)
        return IAMShapes.Empty()
    }

    static func listAttached<K: PrincipalKindShape>(_ input: PrincipalInput<K, IAMShapes.PathListing>, _ c: Caller) async throws -> IAMShapes.AttachedPolicies {
        let (kind, name) = (input.kind, input.name)
        let pager = try Pager(marker: input.rest.marker, maxItems: input.rest.maxItems)
        let prefix = try checkPath(input.rest.pathPrefix, what: "PathPrefix")
        try await c.authorize([arn(c, kind, name)])
        let arns = try await c.iam.attached(kind: kind, name: name)
        let page = try pager.page(arns.filter { policyPath($0).hasPrefix(prefix) }, by: { $0 })
        return IAMShapes.AttachedPolicies(
            attachedPolicies: page.items.map { IAMShapes.AttachedPolicy(policyName: String($0.split(separator: "/").last ?? ""), policyArn: $0) },
            isTruncated: page.isTruncated, marker: page.marker)
    }

    static func putInline<K: PrincipalKindShape>(_ input: PrincipalInput<K, IAMShapes.InlinePolicyDocument>, _ c: Caller) async throws -> IAMShapes.Empty {
        let (kind, name, policy, document) = (input.kind, input.name, input.rest.policyName, input.rest.policyDocument)
        try Tenancy.checkName(policy, what: "Policy", max: 128)
        _ = try PolicyDocument.parse(document, maxSize: 10_240)
        try await c.authorize([arn(c, kind, name)])
        try await c.iam.putInline(kind: kind, name: name, policy: policy, document: document)
        return IAMShapes.Empty()
    }

    static func getInline<K: PrincipalKindShape>(_ input: PrincipalInput<K, IAMShapes.InlinePolicyName>, _ c: Caller) async throws -> IAMShapes.InlinePolicy {
        let (kind, name, policy) = (input.kind, input.name, input.rest.policyName)
        try await c.authorize([arn(c, kind, name)])
        let found = try await c.iam.inline(kind: kind, name: name, policy: policy)
        guard let found else { throw APIError("NoSuchEntity", "The \(kind.rawValue) policy with name \(policy) cannot be found.", awsStatus: 404) }
        return IAMShapes.InlinePolicy(kind: kind, name: name, policyName: policy, policyDocument: encoded(found))
    }

    static func deleteInline<K: PrincipalKindShape>(_ input: PrincipalInput<K, IAMShapes.InlinePolicyName>, _ c: Caller) async throws -> IAMShapes.Empty {
        let (kind, name, policy) = (input.kind, input.name, input.rest.policyName)
        try await c.authorize([arn(c, kind, name)])
        try await c.iam.deleteInline(kind: kind, name: name, policy: policy)
        return IAMShapes.Empty()
    }

    static func listInline<K: PrincipalKindShape>(_ input: PrincipalInput<K, IAMShapes.Paging>, _ c: Caller) async throws -> IAMShapes.PolicyNames {
        let (kind, name) = (input.kind, input.name)
        let pager = try Pager(input.rest)
        try await c.authorize([arn(c, kind, name)])
        let names = try await c.iam.inlineNames(kind: kind, name: name)
        let page = try pager.page(names, by: { $0 })
        return IAMShapes.PolicyNames(policyNames: page.items, isTruncated: page.isTruncated, marker: page.marker)
    }

    // MARK: access keys

    static func createAccessKey(_ input: IAMShapes.OptionalUser, _ c: Caller) async throws -> IAMShapes.AccessKeyOutput {
        let name = input.userName ?? c.principal.userName
        try await c.authorize([arn(c, .user, name)])
        let count = try await c.iam.accessKeys(user: name).count
        guard count < 2 else { throw APIError("LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2.", awsStatus: 409) }
        let key = try await c.backend.tenancy.createAccessKey(account: c.account, user: name)
        // An id presented before it existed would be remembered as unknown: a new key works here at once.
        c.backend.verifier.forget(key.accessKeyId)
        return IAMShapes.AccessKeyOutput(accessKey: IAMShapes.AccessKey(userName: name, accessKeyId: key.accessKeyId, status: "Active",
                                                                         secretAccessKey: key.secretAccessKey, createDate: c.backend.clock.now()))
    }

    static func updateAccessKey(_ input: IAMShapes.UpdateAccessKey, _ c: Caller) async throws -> IAMShapes.Empty {
        guard input.status == "Active" || input.status == "Inactive" else {
            throw APIError("ValidationError", "Status must be Active or Inactive; got '\(input.status)'.")
        }
        return try await changeKey(c, user: input.userName, key: input.accessKeyId, status: input.status)
    }

    static func deleteAccessKey(_ input: IAMShapes.AccessKeyReference, _ c: Caller) async throws -> IAMShapes.Empty {
        try await changeKey(c, user: input.userName, key: input.accessKeyId, status: nil)
    }

    /// Sets a key's status, or deletes it (`nil`).
    static func changeKey(_ c: Caller, user userName: String?, key: String, status: String?) async throws -> IAMShapes.Empty {
        let name = userName ?? c.principal.userName
        try await c.authorize([arn(c, .user, name)])
        try await c.iam.changeKey(user: name, key: key, status: status)
        c.backend.verifier.forget(key)
        return IAMShapes.Empty()
    }

    static func listAccessKeys(_ input: IAMShapes.ListAccessKeys, _ c: Caller) async throws -> IAMShapes.AccessKeys {
        let name = input.userName ?? c.principal.userName
        let pager = try Pager(marker: input.marker, maxItems: input.maxItems)
        try await c.authorize([arn(c, .user, name)])
        let keys = try await c.iam.accessKeys(user: name)
        // Oldest first; the id breaks a tie.
        let page = try pager.page(keys, by: { String(format: "%020.0f", $0.created.timeIntervalSince1970 * 1_000_000) + $0.id })
        return IAMShapes.AccessKeys(
            accessKeyMetadata: page.items.map { IAMShapes.AccessKeyMetadata(userName: name, accessKeyId: $0.id, status: $0.status, createDate: $0.created) },
            isTruncated: page.isTruncated, marker: page.marker)
    }
}

extension Caller {
    /// The IAM use cases, acting for this caller's account.
    var iam: IAMEntities { IAMEntities(tenant: tenant, store: backend.iam, authorizer: backend.authorizer) }
}

/// The IAM operations, declared once: the query door and the REST route dispatch here.
public enum IAMOperations {
    public static let all: [Operation] = [
        op("CreateUser", .write, IAMActions.createUser), op("GetUser", .read, IAMActions.getUser),
        op("ListUsers", .read, IAMActions.listUsers), op("DeleteUser", .write, IAMActions.deleteUser),
        op("TagUser", .write) { (input: IAMShapes.TagUser, c) in try await IAMActions.tag(c, kind: .user, name: input.userName, tags: input.tags) },
        op("CreateRole", .write, IAMActions.createRole), op("GetRole", .read, IAMActions.getRole),
        op("ListRoles", .read, IAMActions.listRoles), op("DeleteRole", .write, IAMActions.deleteRole),
        op("UpdateAssumeRolePolicy", .write, IAMActions.updateTrust),
        op("TagRole", .write) { (input: IAMShapes.TagRole, c) in try await IAMActions.tag(c, kind: .role, name: input.roleName, tags: input.tags) },
        op("CreateGroup", .write, IAMActions.createGroup), op("GetGroup", .read, IAMActions.getGroup),
        op("ListGroups", .read, IAMActions.listGroups), op("DeleteGroup", .write, IAMActions.deleteGroup),
        op("AddUserToGroup", .write) { try await IAMActions.membership($0, $1, member: true) },
        op("RemoveUserFromGroup", .write) { try await IAMActions.membership($0, $1, member: false) },
        op("ListGroupsForUser", .read, IAMActions.groupsForUser),
        op("CreatePolicy", .write, IAMActions.createPolicy), op("GetPolicy", .read, IAMActions.getPolicy),
        op("ListPolicies", .read, IAMActions.listPolicies), op("DeletePolicy", .write, IAMActions.deletePolicy),
        op("CreatePolicyVersion", .write, IAMActions.createPolicyVersion), op("GetPolicyVersion", .read, IAMActions.getPolicyVersion),
        op("ListPolicyVersions", .read, IAMActions.listPolicyVersions), op("DeletePolicyVersion", .write, IAMActions.deletePolicyVersion),
        op("SetDefaultPolicyVersion", .write, IAMActions.setDefaultPolicyVersion),
        op("CreateAccessKey", .write, IAMActions.createAccessKey), op("DeleteAccessKey", .write, IAMActions.deleteAccessKey),
        op("UpdateAccessKey", .write, IAMActions.updateAccessKey), op("ListAccessKeys", .read, IAMActions.listAccessKeys),
    ] + principal(UserPrincipal.self) + principal(RolePrincipal.self) + principal(GroupPrincipal.self)

    /// The operations every principal kind has, named after it (`PutUserPolicy`, `AttachRolePolicy`, …).
    static func principal<K: PrincipalKindShape>(_: K.Type) -> [Operation] {
        let t = K.kind.title
        return [
            op("Put\(t)Policy", .write) { (input: PrincipalInput<K, IAMShapes.InlinePolicyDocument>, c) in try await IAMActions.putInline(input, c) },
            op("Get\(t)Policy", .read) { (input: PrincipalInput<K, IAMShapes.InlinePolicyName>, c) in try await IAMActions.getInline(input, c) },
            op("Delete\(t)Policy", .write) { (input: PrincipalInput<K, IAMShapes.InlinePolicyName>, c) in try await IAMActions.deleteInline(input, c) },
            op("List\(t)Policies", .read) { (input: PrincipalInput<K, IAMShapes.Paging>, c) in try await IAMActions.listInline(input, c) },
            op("Attach\(t)Policy", .write) { (input: PrincipalInput<K, IAMShapes.PolicyArn>, c) in try await IAMActions.attach(input, c, attached: true) },
            op("Detach\(t)Policy", .write) { (input: PrincipalInput<K, IAMShapes.PolicyArn>, c) in try await IAMActions.attach(input, c, attached: false) },
            op("ListAttached\(t)Policies", .read) { (input: PrincipalInput<K, IAMShapes.PathListing>, c) in try await IAMActions.listAttached(input, c) },
        ]
    }

    static func op<Input: Decodable & Sendable, Output: Encodable & Sendable>(
        _ name: String, _ access: Access, _ handler: @escaping @Sendable (Input, Caller) async throws -> Output
    ) -> Operation {
        Operation.query(.iam, name, access, handler)
    }
}
