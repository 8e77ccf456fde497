import Foundation
import Logging
import PostgresNIO
import StowageModel
import StowageSigning
import StowageStore

/// A new access key as shown to its owner, the one time the secret is visible.
public struct NewAccessKey: Sendable, Equatable {
    public var accountId: String
    public var userName: String
    public var accessKeyId: String
    public var secretAccessKey: String

    public init(accountId: String, userName: String, accessKeyId: String, secretAccessKey: String) {
        self.accountId = accountId; self.userName = userName; self.accessKeyId = accessKeyId; self.secretAccessKey = secretAccessKey
    }

    /// The AWS shared-credentials file form, so the CLI and boto3 read it unchanged.
    public func sharedCredentials(profile: String = "default") -> String {
        "[\(profile)]\naws_access_key_id = \(accessKeyId)\naws_secret_access_key = \(secretAccessKey)\n"
    }
}

/// Accounts, users and access keys: creation for `stowage admin`, lookup for signature verification.
public struct Tenancy: Sendable {
    public let database: Database
    public let sealer: SecretSealer
    public let scope: ARNScope
    let accounts: AccountStore
    public let iam: IAMStore

    public init(database: Database, sealer: SecretSealer, scope: ARNScope = ARNScope()) {
        self.database = database; self.sealer = sealer; self.scope = scope
        self.accounts = AccountStore(logger: database.logger)
        self.iam = IAMStore(logger: database.logger)
    }

    public func createAccount(name: String) async throws -> String {
        guard !name.isEmpty, name.count <= 64 else { throw APIError.invalidParameter("Account name must be 1 to 64 characters.") }
        return try await database.transaction { conn in try await insertAccount(conn, name: name) }
    }

    /// A tenant ready to use: the account, its administrator `admin` and that user's access key, all or nothing.
    public func createAccountWithAdministrator(name: String) async throws -> NewAccessKey {
        guard !name.isEmpty, name.count <= 64 else { throw APIError.invalidParameter("Account name must be 1 to 64 characters.") }
        return try await database.transaction { conn in
            let account = try await insertAccount(conn, name: name)
            try await insertUser(conn, account: account, name: "admin", path: "/", administrator: true)
            return try await insertAccessKey(conn, account: account, user: "admin")
        }
    }

    private func insertAccount(_ conn: PostgresConnection, name: String) async throws -> String {
        if try await accounts.accountId(conn, name: name) != nil {
            throw APIError("EntityAlreadyExists", "An account named '\(name)' already exists.", awsStatus: 409)
        }
        let id = AccessKeyID.generateAccountId()
        try await accounts.createAccount(conn, id: id, name: name)
        return id
    }

    public func accountId(named name: String) async throws -> String? {
        try await database.withConnection { try await accounts.accountId($0, name: name) }
    }

    /// Creates a user; `administrator` attaches AdministratorAccess, as `stowage admin` does for an account's
    /// first user (users made through the IAM API start with no permissions, as in IAM).
    public func createUser(account: String, name: String, path: String = "/", administrator: Bool = true) async throws {
        try Self.checkName(name, what: "User")
        try await database.transaction { conn in
            try await insertUser(conn, account: account, name: name, path: path, administrator: administrator)
        }
    }

    private func insertUser(_ conn: PostgresConnection, account: String, name: String, path: String, administrator: Bool) async throws {
        guard try await accounts.accountExists(conn, id: account) else {
            throw APIError("NoSuchEntity", "Account \(account) does not exist.", restStatus: 404)
        }
        if try await accounts.userExists(conn, account: account, name: name) {
            throw APIError("EntityAlreadyExists", "User with name \(name) already exists.", awsStatus: 409)
        }
        try await iam.createUser(conn, account: account, name: name, userId: Self.uniqueId("AIDA", account: account), path: path)
        if administrator {
            try await iam.setAttached(conn, account: account, kind: .user, name: name,
                                      policyArn: BuiltInPolicies.arn("AdministratorAccess", partition: scope.partition), attached: true)
        }
        try await iam.bumpEpoch(conn, account: account)
    }

    /// An agent's identity for one cluster: a role and a user, both tagged `stowage:cluster` and given the
    /// built-in StowageAgentPolicy (the role trusts the user, for agents that prefer temporary credentials),
    /// and the user's access key.
    public func createAgentIdentity(account: String, cluster: String) async throws -> NewAccessKey {
        let name = "stowage-agent-\(cluster)"
        try Self.checkName(name, what: "Agent user")
        try await createUser(account: account, name: name, administrator: false)
        let policy = BuiltInPolicies.arn("StowageAgentPolicy", partition: scope.partition)
        let tags = [Tag(key: "stowage:cluster", value: cluster)]
        let trust = """
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "\(scope.iamUser(account, name))"}, "Action": "sts:AssumeRole"}]}
            """
        try await database.transaction { conn in
            try await iam.setTags(conn, account: account, kind: .user, name: name, tags: tags)
            try await iam.setAttached(conn, account: account, kind: .user, name: name, policyArn: policy, attached: true)
            try await iam.createRole(conn, account: account, RoleRow(
                name: name, roleId: Self.uniqueId("AROA", account: account), path: "/", description: "Stowage agent for cluster \(cluster)",
                trustPolicy: trust, maxSessionSeconds: 3600, createdAt: Date()))
            try await iam.setTags(conn, account: account, kind: .role, name: name, tags: tags)
            try await iam.setAttached(conn, account: account, kind: .role, name: name, policyArn: policy, attached: true)
            try await iam.bumpEpoch(conn, account: account)
        }
        return try await createAccessKey(account: account, user: name)
    }

    /// IAM's name rule for users, roles, groups and policies.
    public static func checkName(_ name: String, what: String, max: Int = 64) throws(APIError) {
        guard !name.isEmpty, name.count <= max, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+=,.@_-".contains($0)) }) else {
            throw APIError("ValidationError", "\(what) names are 1 to \(max) letters, digits or +=,.@_- characters; got '\(name)'.")
        }
    }

    /// An IAM-style unique id (AIDA…, AROA…, AGPA…, ANPA…) that also carries the account, like access key ids.
    public static func uniqueId(_ prefix: String, account: String) -> String {
        prefix + String(AccessKeyID.generate(account: account)?.dropFirst(4) ?? "")
    }

    public func createAccessKey(account: String, user: String) async throws -> NewAccessKey {
        try await database.transaction { conn in try await insertAccessKey(conn, account: account, user: user) }
    }

    private func insertAccessKey(_ conn: PostgresConnection, account: String, user: String) async throws -> NewAccessKey {
        guard let keyId = AccessKeyID.generate(account: account) else {
            throw APIError.invalidParameter("Account id \(account) is not a 12-digit number.")
        }
        let secret = AccessKeyID.generateSecret()
        let sealed = try sealer.seal(secret, keyId: keyId)
        guard try await accounts.userExists(conn, account: account, name: user) else {
            throw APIError("NoSuchEntity", "User \(user) does not exist in account \(account).", restStatus: 404)
        }
        try await accounts.createAccessKey(conn, AccessKeyRow(accountId: account, accessKeyId: keyId, userName: user, secretSealed: sealed))
        return NewAccessKey(accountId: account, userName: user, accessKeyId: keyId, secretAccessKey: secret)
    }

    /// The verifier's lookup: the key's account comes from the id itself, so the query stays in one tenant.
    /// ASIA… ids are temporary credentials, answered from their session with the token they require.
    public func credential(for accessKeyId: String) async throws -> Credential? {
        guard let account = AccessKeyID.account(of: accessKeyId) else { return nil }
        if accessKeyId.hasPrefix(AccessKeyID.instancePrefix) { return try await instanceCredential(for: accessKeyId, account: account, now: Date()) }
        if accessKeyId.hasPrefix("ASIA") {
            guard let session = try await database.withConnection({ try await iam.session($0, account: account, accessKeyId: accessKeyId) })
            else { return nil }
            let secret = try sealer.open(session.secretSealed, keyId: accessKeyId)
            return Credential(secret: secret, principal: Principal(
                accountId: account, arn: scope.assumedRole(account, role: session.roleName, session: session.sessionName),
                userName: session.sessionName, accessKeyId: accessKeyId, role: session.roleName, sessionPolicy: session.sessionPolicy),
                tokenSHA256: session.tokenSHA256, expiresAt: session.expiresAt)
        }
        guard let stored = try await database.withConnection({ try await accounts.accessKey($0, account: account, id: accessKeyId) }),
              stored.status == "Active" else { return nil }
        let secret = try sealer.open(stored.secretSealed, keyId: accessKeyId)
        return Credential(secret: secret, principal: Principal(
            accountId: account, arn: scope.iamUser(account, stored.userName), userName: stored.userName,
            accessKeyId: accessKeyId))
    }

    /// Temporary credentials as handed out: the token is shown once and stored only as its hash.
    public struct Session: Sendable, Equatable {
        public var accessKeyId: String
        public var secretAccessKey: String
        public var sessionToken: String
        public var expiration: Date
        public var assumedRoleArn: String
        public var assumedRoleId: String
    }

    /// Issues temporary credentials for a role; the caller has checked the trust policy and the duration.
    public func issueSession(account: String, role: RoleRow, sessionName: String, sessionPolicy: String?, duration: Int,
                             assumedBy: String, now: Date) async throws -> Session {
        guard let keyId = AccessKeyID.generate(account: account, prefix: "ASIA") else {
            throw APIError.invalidParameter("Account id \(account) is not a 12-digit number.")
        }
        let secret = AccessKeyID.generateSecret()
        let token = AccessKeyID.generateToken()
        let expires = now.addingTimeInterval(TimeInterval(duration))
        let stored = SessionRow(accessKeyId: keyId, roleName: role.name, sessionName: sessionName,
                                   secretSealed: try sealer.seal(secret, keyId: keyId), tokenSHA256: SigV4.sha256Hex(token),
                                   sessionPolicy: sessionPolicy, expiresAt: expires)
        try await database.transaction { conn in
            try await iam.createSession(conn, account: account, stored, assumedBy: assumedBy)
        }
        return Session(accessKeyId: keyId, secretAccessKey: secret, sessionToken: token, expiration: expires,
                       assumedRoleArn: scope.assumedRole(account, role: role.name, session: sessionName),
                       assumedRoleId: "\(role.roleId):\(sessionName)")
    }
}
