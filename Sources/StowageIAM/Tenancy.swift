import Foundation
import Logging
import StowageModel
import StowageStore

/// A new access key as shown to its owner, the one time the secret is visible.
public struct NewAccessKey: Sendable, Equatable {
    public var accountId: String
    public var userName: String
    public var accessKeyId: String
    public var secretAccessKey: String

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

    public init(database: Database, sealer: SecretSealer, scope: ARNScope = ARNScope()) {
        self.database = database; self.sealer = sealer; self.scope = scope
        self.accounts = AccountStore(logger: database.logger)
    }

    public func createAccount(name: String) async throws -> String {
        guard !name.isEmpty, name.count <= 64 else { throw APIError.invalidParameter("Account name must be 1 to 64 characters.") }
        return try await database.transaction { conn in
            if try await accounts.accountId(conn, name: name) != nil {
                throw APIError("EntityAlreadyExists", "An account named '\(name)' already exists.", awsStatus: 409)
            }
            let id = AccessKeyID.generateAccountId()
            try await accounts.createAccount(conn, id: id, name: name)
            return id
        }
    }

    public func accountId(named name: String) async throws -> String? {
        try await database.withConnection { try await accounts.accountId($0, name: name) }
    }

    public func createUser(account: String, name: String) async throws {
        guard !name.isEmpty, name.count <= 64, name.allSatisfy({ $0.isLetter || $0.isNumber || "+=,.@_-".contains($0) }) else {
            throw APIError.invalidParameter("User names are 1 to 64 letters, digits or +=,.@_- characters.")
        }
        try await database.transaction { conn in
            guard try await accounts.accountExists(conn, id: account) else {
                throw APIError("NoSuchEntity", "Account \(account) does not exist.", restStatus: 404)
            }
            if try await accounts.userExists(conn, account: account, name: name) {
                throw APIError("EntityAlreadyExists", "User \(name) already exists.", awsStatus: 409)
            }
            let userId = "AIDA" + String(AccessKeyID.generate(account: account)?.dropFirst(4) ?? "")
            try await accounts.createUser(conn, account: account, name: name, userId: userId)
        }
    }

    public func createAccessKey(account: String, user: String) async throws -> NewAccessKey {
        guard let keyId = AccessKeyID.generate(account: account) else {
            throw APIError.invalidParameter("Account id \(account) is not a 12-digit number.")
        }
        let secret = AccessKeyID.generateSecret()
        let sealed = try sealer.seal(secret, keyId: keyId)
        try await database.transaction { conn in
            guard try await accounts.userExists(conn, account: account, name: user) else {
                throw APIError("NoSuchEntity", "User \(user) does not exist in account \(account).", restStatus: 404)
            }
            try await accounts.createAccessKey(conn, StoredAccessKey(
                accountId: account, accessKeyId: keyId, userName: user, secretSealed: sealed))
        }
        return NewAccessKey(accountId: account, userName: user, accessKeyId: keyId, secretAccessKey: secret)
    }

    /// The verifier's lookup: the key's account comes from the id itself, so the query stays in one tenant.
    public func credential(for accessKeyId: String) async throws -> Credential? {
        guard let account = AccessKeyID.account(of: accessKeyId) else { return nil }
        guard let stored = try await database.withConnection({ try await accounts.accessKey($0, account: account, id: accessKeyId) }),
              stored.status == "Active" else { return nil }
        let secret = try sealer.open(stored.secretSealed, keyId: accessKeyId)
        return Credential(secret: secret, principal: Principal(
            accountId: account, arn: scope.iamUser(account, stored.userName), userName: stored.userName,
            accessKeyId: accessKeyId))
    }
}
