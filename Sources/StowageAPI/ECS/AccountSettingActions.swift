import Foundation
import StowageModel
import StowageStore
import StowageUseCases

/// ECS account settings (the door): names checked, the principal resolved, the call authorized; what is stored
/// and what applies is the AccountSettings use case's.
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
        try await c.accountSettings.put(principal: principal, name: input.name, value: input.value)
        return AccountSettingResponse(setting: AccountSetting(name: input.name, value: input.value, principalArn: principal))
    }

    static func putDefault(_ input: PutAccountSettingDefaultRequest, _ c: Caller) async throws -> AccountSettingResponse {
        try AccountSettingRules.check(name: input.name, value: input.value)
        try await c.authorize(["*"])
        let root = try await c.accountSettings.putDefault(name: input.name, value: input.value)
        return AccountSettingResponse(setting: AccountSetting(name: input.name, value: input.value, principalArn: root))
    }

    static func delete(_ input: DeleteAccountSettingRequest, _ c: Caller) async throws -> AccountSettingResponse {
        guard AccountSettingRules.settings[input.name] != nil else {
            throw APIError.invalidParameter("Unknown account setting '\(input.name)'.")
        }
        let principal = try principal(input.principalArn, c)
        try await c.authorize(["*"])
        let value = try await c.accountSettings.delete(principal: principal, name: input.name)
        return AccountSettingResponse(setting: AccountSetting(name: input.name, value: value, principalArn: principal))
    }

    static func list(_ input: ListAccountSettingsRequest, _ c: Caller) async throws -> ListAccountSettingsResponse {
        if let name = input.name, AccountSettingRules.settings[name] == nil {
            throw APIError.invalidParameter("Unknown account setting '\(name)'.")
        }
        let principal = try principal(input.principalArn, c)
        let limit = try Validate.maxResults(input.maxResults)
        let after = try PageToken.decode(input.nextToken)?.first
        try await c.authorize(["*"])
        var settings = try await c.accountSettings.list(principal: principal, effective: input.effectiveSettings == true)
        settings = settings.filter { s in (input.name == nil || s.name == input.name) && (input.value == nil || s.value == input.value) }
            .filter { after == nil || ($0.name ?? "") > (after ?? "") }
        let page = Array(settings.prefix(limit))
        return ListAccountSettingsResponse(settings: page, nextToken: settings.count > limit ? page.last?.name.map { PageToken.encode([$0]) } : nil)
    }
}

extension Caller {
    /// The account-settings use cases, acting for this caller's account.
    var accountSettings: AccountSettings { AccountSettings(tenant: tenant, store: backend.accountSettings) }

    /// The account this caller acts for, as the use cases take it.
    var tenant: TenantContext {
        TenantContext(account: account, database: backend.database, scope: backend.scope, clock: backend.clock, logger: logger)
    }
}
