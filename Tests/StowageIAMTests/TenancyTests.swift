import Foundation
import StowageIAM
import StowageModel
import StowageStore
import StowageTestSupport
import Testing

@Suite struct TenancyTests {
    func tenancy() async throws -> Tenancy {
        Tenancy(database: try await TestDatabase.shared(), sealer: try SecretSealer(base64Key: SecretSealer.generateKey()))
    }

    @Test func accountUserAndKeyResolveToTheirPrincipal() async throws {
        let t = try await tenancy()
        let account = try await t.createAccount(name: "tenancy-\(UUID().uuidString)")
        #expect(account.count == 12)
        try await t.createUser(account: account, name: "alice")
        let key = try await t.createAccessKey(account: account, user: "alice")
        #expect(key.accessKeyId.hasPrefix("AKIA") && key.secretAccessKey.count == 40)
        let credential = try #require(try await t.credential(for: key.accessKeyId))
        #expect(credential.secret == key.secretAccessKey)
        #expect(credential.principal.arn == "arn:aws:iam::\(account):user/alice")
        #expect(credential.principal.accountId == account)
        #expect(key.sharedCredentials().contains("aws_secret_access_key = \(key.secretAccessKey)"))
    }

    @Test func secretsAreNotStoredInTheClear() async throws {
        let t = try await tenancy()
        let account = try await t.createAccount(name: "sealed-\(UUID().uuidString)")
        try await t.createUser(account: account, name: "bob")
        let key = try await t.createAccessKey(account: account, user: "bob")
        let stored = try await t.database.withConnection { conn in
            try await AccountStore(logger: t.database.logger).accessKey(conn, account: account, id: key.accessKeyId)
        }
        let sealed = try #require(stored).secretSealed
        #expect(!sealed.isEmpty)
        #expect(String(decoding: sealed, as: UTF8.self).contains(key.secretAccessKey) == false)
    }

    @Test func refusesDuplicatesAndUnknowns() async throws {
        let t = try await tenancy()
        let name = "dup-\(UUID().uuidString)"
        let account = try await t.createAccount(name: name)
        await #expect(throws: APIError.self) { _ = try await t.createAccount(name: name) }
        try await t.createUser(account: account, name: "carol")
        await #expect(throws: APIError.self) { try await t.createUser(account: account, name: "carol") }
        await #expect(throws: APIError.self) { _ = try await t.createAccessKey(account: account, user: "nobody") }
        #expect(try await t.credential(for: "AKIAAAAAAAAAAAAAAAAA") == nil)
        #expect(try await t.credential(for: "garbage") == nil)
    }
}
