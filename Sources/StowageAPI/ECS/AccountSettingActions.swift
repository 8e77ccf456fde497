import Foundation
import PostgresNIO
import StowageModel
import StowageStore

/// ECS account settings: a principal's own value, the account default (the root ARN's), else ECS's default.
struct AccountSettingActions {
    /// The principal a setting belongs to: the one named, else the caller (an assumed role's session as its role).
    static func principal(_ named: String?, _ c: Caller) throws(APIError) -> String {
        if let named {
            guard let arn = ARN(named), arn.service == "iam", arn.account == c.account else {
                throw .invalidParameter("principalArn must be an IAM user, role or root ARN of account \(c.account), got '\(named)'.")
            }
            return named
        }
        let own = c.principal.arn
        if let arn = ARN(own), arn.service == "sts", arn.resourceType == "assumed-role", let role = arn.resourcePath.first {
            return c.backend.scope.iamRole(c.account, role)
        }
        return own
    }

    static func put(_ input: PutAccountSettingRequest, _ c: Caller) async throws -> AccountSettingResponse {
        try AccountSettingRules.check(name: input.name, value: input.value)
        let principal = try principal(input.principalArn, c)
        try await c.authorize(["*"])
        try await c.backend.database.transaction { conn in
            try await c.backend.accountSettings.put(conn, account: c.account, principal: principal, name: input.name, value: input.value)
        }
        return AccountSettingResponse(setting: AccountSetting(name: input.name, value: input.value, principalArn: principal))
    }

    static func putDefault(_ input: PutAccountSettingDefaultRequest, _ c: Caller) async throws -> AccountSettingResponse {
        try AccountSettingRules.check(name: input.name, value: input.value)
        let root = c.backend.scope.iamRoot(c.account)
        try await c.authorize(["*"])
        try await c.backend.database.transaction { conn in
            try await c.backend.accountSettings.put(conn, account: c.account, principal: root, name: input.name, value: input.value)
        }
        return AccountSettingResponse(setting: AccountSetting(name: input.name, value: input.value, principalArn: root))
    }

    static func delete(_ input: DeleteAccountSettingRequest, _ c: Caller) async throws -> AccountSettingResponse {
        guard AccountSettingRules.settings[input.name] != nil else {
            throw APIError.invalidParameter("Unknown account setting '\(input.name)'.")
        }
        let principal = try principal(input.principalArn, c)
        try await c.authorize(["*"])
        // Deleting what is not set is not an error (infrastructure as code deletes idempotently): the answer is the
        // value deleted, else the value that applies.
        let (deleted, applies) = try await c.backend.database.transaction { conn in
            (try await c.backend.accountSettings.delete(conn, account: c.account, principal: principal, name: input.name),
             try await effective(conn, input.name, c, principal: principal))
        }
        return AccountSettingResponse(setting: AccountSetting(name: input.name, value: deleted ?? applies, principalArn: principal))
    }

    static func list(_ input: ListAccountSettingsRequest, _ c: Caller) async throws -> ListAccountSettingsResponse {
        if let name = input.name, AccountSettingRules.settings[name] == nil {
            throw APIError.invalidParameter("Unknown account setting '\(name)'.")
        }
        let principal = try principal(input.principalArn, c)
        let limit = try Validate.maxResults(input.maxResults)
        let after = try PageToken.decode(input.nextToken)?.first
        try await c.authorize(["*"])
        let root = c.backend.scope.iamRoot(c.account)
        let stored = try await c.backend.database.withConnection { conn in
            try await c.backend.accountSettings.of(conn, account: c.account, principals: [principal, root])
        }
        var settings: [AccountSetting]
        if input.effectiveSettings == true {
            // Each name once: the principal's own, else the account default, else ECS's default.
            settings = AccountSettingRules.settings.keys.sorted().map { name in
                if let own = stored.first(where: { $0.principal == principal && $0.name == name }) {
                    return AccountSetting(name: name, value: own.value, principalArn: principal)
                }
                if let account = stored.first(where: { $0.principal == root && $0.name == name }) {
                    return AccountSetting(name: name, value: account.value, principalArn: root)
                }
                return AccountSetting(name: name, value: AccountSettingRules.settings[name]?.default ?? "", principalArn: root,
                                      type: "aws_managed")
            }
        } else {
            settings = stored.filter { $0.principal == principal }.map { AccountSetting(name: $0.name, value: $0.value, principalArn: $0.principal) }
        }
        settings = settings.filter { s in (input.name == nil || s.name == input.name) && (input.value == nil || s.value == input.value) }
            .filter { after == nil || ($0.name ?? "") > (after ?? "") }
        let page = Array(settings.prefix(limit))
        return ListAccountSettingsResponse(settings: page, nextToken: settings.count > limit ? page.last?.name.map { PageToken.encode([$0]) } : nil)
    }

    /// The caller's effective value of a setting (own, account default, ECS default).
    static func effective(_ conn: PostgresConnection, _ name: String, _ c: Caller, principal named: String? = nil) async throws -> String {
        let principal = try named ?? principal(nil, c)
        let root = c.backend.scope.iamRoot(c.account)
        let stored = try await c.backend.accountSettings.of(conn, account: c.account, principals: [principal, root])
        return stored.first { $0.principal == principal && $0.name == name }?.value
            ?? stored.first { $0.principal == root && $0.name == name }?.value
            ?? AccountSettingRules.settings[name]?.default ?? ""
    }
}
