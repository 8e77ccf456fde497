import Foundation
import PostgresNIO
import StowageModel
import StowageStore

/// ECS account settings: a principal's own value, the account default (the root ARN's), else ECS's default. Each
/// use case owns its transaction; the door has checked the names and authorized the call.
public struct AccountSettings: Sendable {
    let tenant: TenantContext
    let store: AccountSettingStore

    public init(tenant: TenantContext, store: AccountSettingStore) { self.tenant = tenant; self.store = store }

    var root: String { tenant.scope.iamRoot(tenant.account) }

    public func put(principal: String, name: String, value: String) async throws {
        try await tenant.database.transaction { [tenant, store] conn in
            try await store.put(conn, account: tenant.account, principal: principal, name: name, value: value)
        }
    }

    /// The account default: the root's own value.
    public func putDefault(name: String, value: String) async throws -> String {
        try await put(principal: root, name: name, value: value)
        return root
    }

    /// Deleting what is not set is not an error (infrastructure as code deletes idempotently): the answer is the
    /// value deleted, else the value that applies.
    public func delete(principal: String, name: String) async throws -> String {
        try await tenant.database.transaction { [self] conn in
            if let deleted = try await store.delete(conn, account: tenant.account, principal: principal, name: name) { return deleted }
            return try await effective(conn, name, principal: principal)
        }
    }

    /// The principal's own settings, or each name once as it applies (own, account default, ECS's default).
    public func list(principal: String, effective: Bool) async throws -> [AccountSetting] {
        let root = root
        let stored = try await tenant.database.withConnection { [tenant, store] conn in
            try await store.of(conn, account: tenant.account, principals: [principal, root])
        }
        guard effective else {
            return stored.filter { $0.principal == principal }.map { AccountSetting(name: $0.name, value: $0.value, principalArn: $0.principal) }
        }
        return AccountSettingRules.settings.keys.sorted().map { name in
            if let own = stored.first(where: { $0.principal == principal && $0.name == name }) {
                return AccountSetting(name: name, value: own.value, principalArn: principal)
            }
            if let account = stored.first(where: { $0.principal == root && $0.name == name }) {
                return AccountSetting(name: name, value: account.value, principalArn: root)
            }
            return AccountSetting(name: name, value: AccountSettingRules.settings[name]?.default ?? "", principalArn: root, type: "aws_managed")
        }
    }

    /// A principal's effective value of a setting, inside another use case's transaction (CreateCluster reads
    /// containerInsights so).
    public func effective(_ conn: PostgresConnection, _ name: String, principal: String) async throws -> String {
        let stored = try await store.of(conn, account: tenant.account, principals: [principal, root])
        return stored.first { $0.principal == principal && $0.name == name }?.value
            ?? stored.first { $0.principal == root && $0.name == name }?.value
            ?? AccountSettingRules.settings[name]?.default ?? ""
    }
}
