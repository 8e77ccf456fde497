import Foundation

/// Who is calling: the identity a verified signature resolves to.
public struct Principal: Sendable, Equatable {
    public var accountId: String
    public var arn: String
    /// The IAM user's name; for an assumed-role session, the session's name.
    public var userName: String
    public var accessKeyId: String
    /// Set for temporary credentials: the role whose policies apply, and the session policy narrowing them.
    public var role: String?
    public var sessionPolicy: String?
    /// Set for a container instance's own credential (issued at registration): the one host it speaks for.
    public var instance: InstanceBinding?

    public init(accountId: String, arn: String, userName: String, accessKeyId: String, role: String? = nil,
                sessionPolicy: String? = nil, instance: InstanceBinding? = nil) {
        self.accountId = accountId; self.arn = arn; self.userName = userName; self.accessKeyId = accessKeyId
        self.role = role; self.sessionPolicy = sessionPolicy; self.instance = instance
    }

    /// The key authorization caches are kept under: the identity whose policies apply.
    public var policyOwner: String { role.map { "role/\($0)" } ?? "user/\(userName)" }
}

/// A verified secret and its owner, as the credential cache holds them.
public struct Credential: Sendable, Equatable {
    public var secret: String
    public var principal: Principal
    /// Temporary credentials only: SHA-256 (hex) of the session token every request must carry, and the expiry.
    public var tokenSHA256: String?
    public var expiresAt: Date?

    public init(secret: String, principal: Principal, tokenSHA256: String? = nil, expiresAt: Date? = nil) {
        self.secret = secret; self.principal = principal; self.tokenSHA256 = tokenSHA256; self.expiresAt = expiresAt
    }
}

/// The container instance an agent's credential belongs to.
public struct InstanceBinding: Sendable, Equatable, Hashable {
    public var cluster: String
    public var id: String
    public init(cluster: String, id: String) { self.cluster = cluster; self.id = id }
}
