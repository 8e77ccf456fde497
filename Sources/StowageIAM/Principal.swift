/// Who is calling: the identity a verified signature resolves to.
public struct Principal: Sendable, Equatable {
    public var accountId: String
    public var arn: String
    public var userName: String
    public var accessKeyId: String

    public init(accountId: String, arn: String, userName: String, accessKeyId: String) {
        self.accountId = accountId; self.arn = arn; self.userName = userName; self.accessKeyId = accessKeyId
    }
}

/// A verified secret and its owner, as the credential cache holds them.
public struct Credential: Sendable, Equatable {
    public var secret: String
    public var principal: Principal

    public init(secret: String, principal: Principal) { self.secret = secret; self.principal = principal }
}
