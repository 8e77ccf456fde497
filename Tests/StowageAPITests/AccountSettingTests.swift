import Foundation
import Testing

/// ECS account settings through the door (the AccountSettings use case behind it): a principal's own value, the
/// account default, ECS's default, and a cluster created without settings taking containerInsights from them.
@Suite struct AccountSettingTests {
    @Test func ownValueAccountDefaultAndECSDefaultApplyInThatOrder() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            func effective(_ name: String, as tenant: Tenant) async throws -> (value: String?, principal: String?) {
                let list = try await api.ecs("ListAccountSettings", json(["name": name, "effectiveSettings": true]), as: tenant)
                let setting = list.array("settings").first
                return (setting?["value"] as? String, setting?["principalArn"] as? String)
            }
            // Nothing set: ECS's default, as the root's.
            let initial = try await effective("containerInsights", as: h.a)
            #expect(initial.value == "disabled" && initial.principal?.hasSuffix(":root") == true, "\(initial)")

            let byDefault = try await api.ecs("PutAccountSettingDefault", json(["name": "containerInsights", "value": "enabled"]), as: h.a)
            #expect(byDefault.status == 200 && (byDefault.object("setting")["principalArn"] as? String)?.hasSuffix(":root") == true)
            #expect(try await effective("containerInsights", as: h.a).value == "enabled")
            #expect(try await effective("containerInsights", as: h.b).value == "disabled", "another account's default is its own")

            let own = try await api.ecs("PutAccountSetting", json(["name": "containerInsights", "value": "disabled"]), as: h.a)
            #expect(own.status == 200 && (own.object("setting")["principalArn"] as? String)?.hasSuffix(":user/admin") == true)
            let mine = try await effective("containerInsights", as: h.a)
            #expect(mine.value == "disabled" && mine.principal?.hasSuffix(":user/admin") == true, "\(mine)")

            // A cluster without settings takes the caller's effective value.
            let cluster = try await api.ecs("CreateCluster", json(["clusterName": "insights"]), as: h.a)
            let settings = cluster.object("cluster")["settings"] as? [[String: Any]] ?? []
            #expect(settings.first?["value"] as? String == "disabled", "\(settings)")

            // Deleting the own value answers what it was; deleting again answers what applies (the account default).
            let deleted = try await api.ecs("DeleteAccountSetting", json(["name": "containerInsights"]), as: h.a)
            #expect(deleted.object("setting")["value"] as? String == "disabled")
            let again = try await api.ecs("DeleteAccountSetting", json(["name": "containerInsights"]), as: h.a)
            #expect(again.status == 200 && again.object("setting")["value"] as? String == "enabled")

            let unknown = try await api.ecs("PutAccountSetting", json(["name": "noSuchSetting", "value": "enabled"]), as: h.a)
            #expect(unknown.status == 400 && unknown.errorType == "InvalidParameterException")
        }
    }
}
