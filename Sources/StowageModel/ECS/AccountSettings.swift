import Foundation

public struct AccountSetting: Codable, Sendable, Equatable {
    public var name: String?
    public var value: String?
    public var principalArn: String?
    public var type: String?
    public init(name: String, value: String, principalArn: String, type: String = "user") {
        self.name = name; self.value = value; self.principalArn = principalArn; self.type = type
    }
}

public struct PutAccountSettingRequest: Codable, Sendable {
    public var name: String
    public var value: String
    public var principalArn: String?
}

public struct PutAccountSettingDefaultRequest: Codable, Sendable {
    public var name: String
    public var value: String
}

public struct DeleteAccountSettingRequest: Codable, Sendable {
    public var name: String
    public var principalArn: String?
}

public struct ListAccountSettingsRequest: Codable, Sendable {
    public var name: String?
    public var value: String?
    public var principalArn: String?
    public var effectiveSettings: Bool?
    public var nextToken: String?
    public var maxResults: Int?
}

public struct AccountSettingResponse: Codable, Sendable {
    public var setting: AccountSetting
    public init(setting: AccountSetting) { self.setting = setting }
}

public struct ListAccountSettingsResponse: Codable, Sendable {
    public var settings: [AccountSetting]
    public var nextToken: String?
    public init(settings: [AccountSetting], nextToken: String?) { self.settings = settings; self.nextToken = nextToken }
}

/// ECS's account settings as Stowage honours them: each name's default, and the values Stowage acts on. A value
/// Stowage would store and not act on (short ARNs, awsvpc trunking, Fargate's FIPS mode…) is refused by name.
public enum AccountSettingRules {
    /// Name -> (default, values accepted, what the values do).
    public static let settings: [String: (default: String, accepted: Set<String>, note: String)] = [
        "serviceLongArnFormat": ("enabled", ["enabled"], "Stowage's ARNs are always the long format"),
        "taskLongArnFormat": ("enabled", ["enabled"], "Stowage's ARNs are always the long format"),
        "containerInstanceLongArnFormat": ("enabled", ["enabled"], "Stowage's ARNs are always the long format"),
        "containerInsights": ("disabled", ["enabled", "disabled", "enhanced"],
                              "the containerInsights setting of clusters created without one"),
        "awsvpcTrunking": ("disabled", ["disabled"], "awsvpc is not supported, so there is nothing to trunk"),
        "fargateFIPSMode": ("disabled", ["disabled"], "there is no Fargate"),
        "tagResourceAuthorization": ("on", ["on"], "tags given on create are authorized as ecs:TagResource would be"),
        "fargateTaskRetirementWaitPeriod": ("7", ["7"], "there is no Fargate"),
        "guardDutyActivate": ("off", ["off"], "GuardDuty does not exist outside AWS"),
        "defaultLogDriverMode": ("blocking", ["blocking"], "the agent reads every line from the engine's log"),
        "fargateEventWindows": ("disabled", ["disabled"], "there is no Fargate"),
    ]

    public static func check(name: String, value: String) throws(APIError) {
        guard let rule = settings[name] else {
            throw .invalidParameter("Unknown account setting '\(name)': use one of \(settings.keys.sorted().joined(separator: ", ")).")
        }
        guard rule.accepted.contains(value) else {
            throw .invalidParameter("\(name) '\(value)' is refused: Stowage supports \(rule.accepted.sorted().joined(separator: ", ")) (\(rule.note)).")
        }
    }
}
