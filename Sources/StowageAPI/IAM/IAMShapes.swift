import Foundation
import StowageIAM
import StowageModel

// The IAM operations' inputs and outputs as botocore's `iam` model names them (members capitalised on the wire by
// QueryDecoder/QueryValueEncoder). A modelled member Stowage does not honour (PermissionsBoundary, CreatePolicy's Tags,
// ListPolicies' PolicyUsageFilter) is not declared, so the decoder refuses it by name.

enum IAMShapes {
    // MARK: inputs

    /// IAM's tags: `Key` is required, a missing `Value` is an empty one (an empty form value is how botocore sends "").
    struct TagInput: Decodable, Sendable {
        var key: String
        var value: String?

        var tag: Tag { Tag(key: key, value: value ?? "") }
    }

    /// A listing's `Marker` and `MaxItems` (see `IAMActions.Paging`).
    struct Paging: Decodable, Sendable {
        var marker: String?
        var maxItems: Int?
    }

    /// A listing that also filters by path.
    struct PathListing: Decodable, Sendable {
        var pathPrefix: String?
        var marker: String?
        var maxItems: Int?
    }

    struct CreateUser: Decodable, Sendable {
        var path: String?
        var userName: String
        var tags: [TagInput]
    }

    /// GetUser, CreateAccessKey and ListAccessKeys: without a name, the caller's own user.
    struct OptionalUser: Decodable, Sendable {
        var userName: String?
    }

    struct ListAccessKeys: Decodable, Sendable {
        var userName: String?
        var marker: String?
        var maxItems: Int?
    }

    struct UserReference: Decodable, Sendable { var userName: String }

    struct TagUser: Decodable, Sendable {
        var userName: String
        var tags: [TagInput]
    }

    struct CreateRole: Decodable, Sendable {
        var path: String?
        var roleName: String
        var assumeRolePolicyDocument: String
        var description: String?
        var maxSessionDuration: Int?
        var tags: [TagInput]
    }

    struct RoleReference: Decodable, Sendable { var roleName: String }

    struct UpdateAssumeRolePolicy: Decodable, Sendable {
        var roleName: String
        var policyDocument: String
    }

    struct TagRole: Decodable, Sendable {
        var roleName: String
        var tags: [TagInput]
    }

    struct CreateGroup: Decodable, Sendable {
        var path: String?
        var groupName: String
    }

    struct GetGroup: Decodable, Sendable {
        var groupName: String
        var marker: String?
        var maxItems: Int?
    }

    struct GroupReference: Decodable, Sendable { var groupName: String }

    /// AddUserToGroup and RemoveUserFromGroup.
    struct Membership: Decodable, Sendable {
        var groupName: String
        var userName: String
    }

    struct ListGroupsForUser: Decodable, Sendable {
        var userName: String
        var marker: String?
        var maxItems: Int?
    }

    struct CreatePolicy: Decodable, Sendable {
        var policyName: String
        var path: String?
        var policyDocument: String
        var description: String?
    }

    struct PolicyReference: Decodable, Sendable { var policyArn: String }

    struct ListPolicies: Decodable, Sendable {
        var scope: String?
        var onlyAttached: Bool?
        var pathPrefix: String?
        var marker: String?
        var maxItems: Int?
    }

    struct CreatePolicyVersion: Decodable, Sendable {
        var policyArn: String
        var policyDocument: String
        var setAsDefault: Bool?
    }

    struct PolicyVersionReference: Decodable, Sendable {
        var policyArn: String
        var versionId: String
    }

    struct ListPolicyVersions: Decodable, Sendable {
        var policyArn: String
        var marker: String?
        var maxItems: Int?
    }

    struct AccessKeyReference: Decodable, Sendable {
        var userName: String?
        var accessKeyId: String
    }

    struct UpdateAccessKey: Decodable, Sendable {
        var userName: String?
        var accessKeyId: String
        var status: String
    }

    // The members beside a principal's name in the operations every kind has (`PutUserPolicy`, `PutRolePolicy`, …).

    struct InlinePolicyDocument: Decodable, Sendable {
        var policyName: String
        var policyDocument: String
    }

    struct InlinePolicyName: Decodable, Sendable { var policyName: String }

    struct PolicyArn: Decodable, Sendable { var policyArn: String }

    // MARK: outputs

    struct Empty: Encodable, Sendable {}

    struct User: Encodable, Sendable {
        var path: String
        var userName: String
        var userId: String
        var arn: String
        var createDate: Date
    }

    struct Role: Encodable, Sendable {
        var path: String
        var roleName: String
        var roleId: String
        var arn: String
        var createDate: Date
        /// URL-encoded, as IAM answers documents (botocore decodes them back).
        var assumeRolePolicyDocument: String
        var description: String
        var maxSessionDuration: Int
    }

    struct Group: Encodable, Sendable {
        var path: String
        var groupName: String
        var groupId: String
        var arn: String
        var createDate: Date
    }

    /// A managed policy; built-in ones have no attachment count or dates.
    struct Policy: Encodable, Sendable {
        var policyName: String
        var policyId: String
        var arn: String
        var path: String
        var defaultVersionId: String
        var attachmentCount: Int?
        var isAttachable = true
        var description: String
        var createDate: Date?
        var updateDate: Date?
    }

    struct PolicyVersion: Encodable, Sendable {
        /// URL-encoded; absent from a listing.
        var document: String?
        var versionId: String
        var isDefaultVersion: Bool
        var createDate: Date
    }

    struct AttachedPolicy: Encodable, Sendable {
        var policyName: String
        var policyArn: String
    }

    struct AccessKey: Encodable, Sendable {
        var userName: String
        var accessKeyId: String
        var status: String
        var secretAccessKey: String
        var createDate: Date
    }

    struct AccessKeyMetadata: Encodable, Sendable {
        var userName: String
        var accessKeyId: String
        var status: String
        var createDate: Date
    }

    struct UserOutput: Encodable, Sendable { var user: User }
    struct RoleOutput: Encodable, Sendable { var role: Role }
    struct GroupOutput: Encodable, Sendable { var group: Group }
    struct PolicyOutput: Encodable, Sendable { var policy: Policy }
    struct PolicyVersionOutput: Encodable, Sendable { var policyVersion: PolicyVersion }
    struct AccessKeyOutput: Encodable, Sendable { var accessKey: AccessKey }

    // Listings: `IsTruncated` always, `Marker` while more follow.

    struct Users: Encodable, Sendable { var users: [User]; var isTruncated: Bool; var marker: String? }
    struct Roles: Encodable, Sendable { var roles: [Role]; var isTruncated: Bool; var marker: String? }
    struct Groups: Encodable, Sendable { var groups: [Group]; var isTruncated: Bool; var marker: String? }
    struct GroupWithUsers: Encodable, Sendable { var group: Group; var users: [User]; var isTruncated: Bool; var marker: String? }
    struct Policies: Encodable, Sendable { var policies: [Policy]; var isTruncated: Bool; var marker: String? }
    struct PolicyVersions: Encodable, Sendable { var versions: [PolicyVersion]; var isTruncated: Bool; var marker: String? }
    struct AttachedPolicies: Encodable, Sendable { var attachedPolicies: [AttachedPolicy]; var isTruncated: Bool; var marker: String? }
    struct PolicyNames: Encodable, Sendable { var policyNames: [String]; var isTruncated: Bool; var marker: String? }
    struct AccessKeys: Encodable, Sendable {
        var accessKeyMetadata: [AccessKeyMetadata]
        var isTruncated: Bool
        var marker: String?
    }

    /// GetUserPolicy, GetRolePolicy, GetGroupPolicy: the principal's name under the member its kind spells.
    struct InlinePolicy: Encodable, Sendable {
        var kind: PrincipalKind
        var name: String
        var policyName: String
        /// URL-encoded.
        var policyDocument: String

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: QueryKey.self)
            try c.encode(name, forKey: QueryKey("\(kind.title)Name"))
            try c.encode(policyName, forKey: QueryKey("PolicyName"))
            try c.encode(policyDocument, forKey: QueryKey("PolicyDocument"))
        }
    }
}

/// A principal kind as a type, so one input shape serves a family of operations (`PutUserPolicy`, `PutRolePolicy`,
/// `PutGroupPolicy`) and the decoder reads the member that kind spells (`UserName`, `RoleName`, `GroupName`).
protocol PrincipalKindShape: Sendable { static var kind: PrincipalKind { get } }
enum UserPrincipal: PrincipalKindShape { static let kind = PrincipalKind.user }
enum RolePrincipal: PrincipalKindShape { static let kind = PrincipalKind.role }
enum GroupPrincipal: PrincipalKindShape { static let kind = PrincipalKind.group }

/// A principal's name, under the member its kind spells, beside the members of `Rest`.
struct PrincipalInput<Kind: PrincipalKindShape, Rest: Decodable & Sendable>: Decodable, Sendable {
    var name: String
    var rest: Rest
    var kind: PrincipalKind { Kind.kind }

    init(from decoder: any Decoder) throws {
        name = try decoder.container(keyedBy: QueryKey.self).decode(String.self, forKey: QueryKey("\(Kind.kind.title)Name"))
        rest = try Rest(from: decoder)
    }
}

extension PrincipalKind {
    /// The kind as member and operation names spell it (`User` in `UserName`, `AttachUserPolicy`).
    var title: String { rawValue.prefix(1).uppercased() + rawValue.dropFirst() }
}
