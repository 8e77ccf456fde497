import Foundation
import StowageIAM
import StowageModel
import StowageStore
import StowageTestSupport
import Testing

/// Envelope encryption against a real PostgreSQL: values under tenant data keys, data keys under the server key,
/// and both rotations.
@Suite struct VaultTests {
    @Test func valuesAreBoundToTheirTenantAndRow() async throws {
        let database = try await TestDatabase.shared()
        let tenancy = Tenancy(database: database, sealer: try SecretSealer(base64Key: SecretSealer.generateKey()))
        let a = try await tenancy.createAccount(name: "vault-a-\(UUID().uuidString)")
        let b = try await tenancy.createAccount(name: "vault-b-\(UUID().uuidString)")
        let vault = Vault(sealer: tenancy.sealer, logger: database.logger)
        try await database.transaction { conn in
            let sealed = try await vault.seal(conn, account: a, Data("value".utf8), context: "ssm:/x:1")
            #expect(String(decoding: sealed.bytes, as: UTF8.self).contains("value") == false)
            #expect(try await vault.open(conn, account: a, sealed, context: "ssm:/x:1") == Data("value".utf8))
            // Moved to another row or another tenant, it does not open.
            await #expect(throws: APIError.self) { _ = try await vault.open(conn, account: a, sealed, context: "ssm:/y:1") }
            _ = try await vault.seal(conn, account: b, Data("other".utf8), context: "ssm:/x:1")
            await #expect(throws: APIError.self) { _ = try await vault.open(conn, account: b, sealed, context: "ssm:/x:1") }
        }
    }

    @Test func serverKeyRotationRewrapsDataKeysAndTenantRotationResealsValues() async throws {
        let database = try await TestDatabase.fresh(prefix: "vault")
        let oldKey = SecretSealer.generateKey()
        let newKey = SecretSealer.generateKey()
        let old = Tenancy(database: database, sealer: try SecretSealer(base64Key: oldKey))
        let account = try await old.createAccount(name: "rotate-\(UUID().uuidString)")
        try await old.createUser(account: account, name: "u")
        let key = try await old.createAccessKey(account: account, user: "u")
        let other = try await old.createAccount(name: "rotate-other-\(UUID().uuidString)")
        let oldVault = Vault(sealer: old.sealer, logger: database.logger)
        // A parameter row sealed under the old key's data key, as the API writes it.
        let (sealed, otherSealed) = try await database.transaction { conn in
            let s = try await oldVault.seal(conn, account: account, Data("db-password".utf8), context: Vault.parameterContext(name: "/p", version: 1))
            let o = try await oldVault.seal(conn, account: other, Data("theirs".utf8), context: Vault.parameterContext(name: "/p", version: 1))
            let store = ParameterStore(logger: database.logger)
            for (acct, value) in [(account, s), (other, o)] {
                _ = try await store.write(conn, account: acct, ParameterRow(
                    name: "/p", version: 1, type: "SecureString", sealed: value.bytes, keyVersion: value.keyVersion, description: nil,
                    allowedPattern: nil, tier: "Standard", dataType: "text", labels: [], modifiedAt: Date(), modifiedBy: "test", tags: []), isNew: true)
            }
            return (s, o)
        }

        // The new key alone opens nothing yet.
        let newOnly = Vault(sealer: try SecretSealer(base64Key: newKey), logger: database.logger)
        await #expect(throws: APIError.self) {
            _ = try await database.withConnection { try await newOnly.open($0, account: account, sealed, context: Vault.parameterContext(name: "/p", version: 1)) }
        }
        // With the old key as previous, rotation rewraps both tenants' data keys and reseals the access key.
        let both = Vault(sealer: try SecretSealer(base64Key: newKey, previous: [oldKey]), logger: database.logger)
        let report = try await database.transaction { try await both.rewrapUnderCurrentKey($0) }
        #expect(report.dataKeysRewrapped == 2 && report.accessKeysResealed == 1 && report.valuesResealed == 0)
        #expect(try await database.transaction { try await both.rewrapUnderCurrentKey($0) } == RotationReport(), "a second run has nothing to do")
        let afterwards = Vault(sealer: try SecretSealer(base64Key: newKey), logger: database.logger)
        let plain = try await database.withConnection {
            try await afterwards.open($0, account: account, sealed, context: Vault.parameterContext(name: "/p", version: 1))
        }
        #expect(plain == Data("db-password".utf8))
        let newTenancy = Tenancy(database: database, sealer: try SecretSealer(base64Key: newKey))
        #expect(try await newTenancy.credential(for: key.accessKeyId)?.secret == key.secretAccessKey)

        // A tenant's own rotation: a new data key, its values resealed, the old key gone; the other tenant untouched.
        let tenantReport = try await database.transaction { try await afterwards.rotateDataKey($0, account: account) }
        #expect(tenantReport.valuesResealed == 1)
        let row = try #require(try await database.withConnection { try await ParameterStore(logger: database.logger).latest($0, account: account, name: "/p") })
        #expect(row.keyVersion == 2 && row.sealed != sealed.bytes)
        let reopened = try await database.withConnection {
            try await afterwards.open($0, account: account, SealedValue(keyVersion: row.keyVersion, bytes: row.sealed),
                                      context: Vault.parameterContext(name: "/p", version: 1))
        }
        #expect(reopened == Data("db-password".utf8))
        await #expect(throws: APIError.self) {
            _ = try await database.withConnection { try await Vault(sealer: try SecretSealer(base64Key: newKey), logger: database.logger)
                .open($0, account: account, sealed, context: Vault.parameterContext(name: "/p", version: 1)) }
        }
        let theirs = try await database.withConnection {
            try await afterwards.open($0, account: other, otherSealed, context: Vault.parameterContext(name: "/p", version: 1))
        }
        #expect(theirs == Data("theirs".utf8))
    }
}
