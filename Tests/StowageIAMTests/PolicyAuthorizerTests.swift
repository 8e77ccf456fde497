import Foundation
import StowageIAM
import StowageModel
import StowageStore
import StowageTestSupport
import Testing

/// The authorizer against real PostgreSQL: policies come from the rows, a warm request reads nothing, and a
/// policy change is seen as soon as the account's cache is dropped.
@Suite struct PolicyAuthorizerTests {
    @Test func warmRequestsUseTheCacheAndChangesInvalidateIt() async throws {
        let database = try await TestDatabase.shared()
        let tenancy = Tenancy(database: database, sealer: try SecretSealer(base64Key: SecretSealer.generateKey()))
        let account = try await tenancy.createAccount(name: "authz-\(UUID().uuidString)")
        try await tenancy.createUser(account: account, name: "ops", administrator: false)
        let authorizer = PolicyAuthorizer(database: database, scope: ARNScope())
        let principal = Principal(accountId: account, arn: "arn:aws:iam::\(account):user/ops", userName: "ops", accessKeyId: "AKIA")
        let cluster = "arn:aws:ecs:us-east-1:\(account):cluster/prod"
        let context = AuthorizationContext(sourceIp: "10.0.0.5")

        await #expect(throws: APIError.self) {
            try await authorizer.authorize(principal, action: "ecs:DescribeClusters", resources: [cluster], context: context)
        }
        let store = IAMStore(logger: database.logger)
        try await database.transaction { conn in
            try await store.putInline(conn, account: account, kind: .user, name: "ops", policy: "p", document: """
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecs:Describe*", "Resource": "\(cluster)",
                  "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]}
                """)
            try await store.bumpEpoch(conn, account: account)
        }
        // Still cached: the old answer stands until the account's entries are dropped.
        await #expect(throws: APIError.self) {
            try await authorizer.authorize(principal, action: "ecs:DescribeClusters", resources: [cluster], context: context)
        }
        authorizer.invalidate(account: account)
        let before = authorizer.loadCount
        for _ in 0..<100 {
            try await authorizer.authorize(principal, action: "ecs:DescribeClusters", resources: [cluster], context: context)
        }
        #expect(authorizer.loadCount == before + 1, "one load, then 99 warm decisions")
        // Conditions are evaluated per request, not cached: another source address is refused.
        await #expect(throws: APIError.self) {
            try await authorizer.authorize(principal, action: "ecs:DescribeClusters", resources: [cluster],
                                           context: AuthorizationContext(sourceIp: "192.0.2.1"))
        }
        // Another tenant's resource is refused whatever the policy says.
        let foreign = "arn:aws:ecs:us-east-1:999999999999:cluster/prod"
        do {
            try await authorizer.authorize(principal, action: "ecs:DescribeClusters", resources: [foreign], context: context)
            Issue.record("a foreign resource was allowed")
        } catch {
            #expect(error.code == "AccessDeniedException" && error.message.contains(foreign))
        }
    }
}
