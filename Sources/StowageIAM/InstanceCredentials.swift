import Foundation
import PostgresNIO
import StowageModel
import StowageStore

/// A container instance's own credential, shown to its agent once, in the registration answer.
public struct NewInstanceCredential: Sendable, Equatable {
    public var accessKeyId: String
    public var secretAccessKey: String
}

/// Container instances' own credentials: issued when an instance registers, rotated by its agent, and looked up
/// like any access key. An agent signing with one is a principal bound to that instance, whose only policy lets it
/// act as that instance (`InstancePolicy`), so a host can neither read another host's secrets nor speak for it.
extension Tenancy {
    /// How long a replaced credential keeps working: an agent that rotated (or re-registered) switches within it.
    public static let instanceCredentialGrace: TimeInterval = 600

    /// Issues a new credential for the instance in the caller's transaction; earlier ones end after the grace period.
    public func issueInstanceCredential(_ conn: PostgresConnection, account: String, cluster: String, instance: String,
                                        now: Date) async throws -> NewInstanceCredential {
        guard let keyId = AccessKeyID.generate(account: account, prefix: AccessKeyID.instancePrefix) else {
            throw APIError.invalidParameter("Account id \(account) is not a 12-digit number.")
        }
        let secret = AccessKeyID.generateSecret()
        let sealed = try sealer.seal(secret, keyId: keyId)
        try await InstanceCredentialStore(logger: database.logger).issue(conn, InstanceCredentialRow(
            accountId: account, accessKeyId: keyId, cluster: cluster, instanceId: instance, secretSealed: sealed),
            now: now, grace: Self.instanceCredentialGrace)
        return NewInstanceCredential(accessKeyId: keyId, secretAccessKey: secret)
    }

    /// Whether the instance holds a credential already (then only that credential may register it again).
    public func instanceHasCredential(_ conn: PostgresConnection, account: String, cluster: String, instance: String) async throws -> Bool {
        try await InstanceCredentialStore(logger: database.logger).exists(conn, account: account, cluster: cluster, instance: instance)
    }

    /// The ids of the instance's credentials, current and replaced.
    public func instanceCredentialIds(_ conn: PostgresConnection, account: String, cluster: String, instance: String) async throws -> [String] {
        try await InstanceCredentialStore(logger: database.logger).ids(conn, account: account, cluster: cluster, instance: instance)
    }

    /// The verifier's lookup for `AIIA…` ids: a live credential of a registered instance.
    func instanceCredential(for accessKeyId: String, account: String, now: Date) async throws -> Credential? {
        let store = InstanceCredentialStore(logger: database.logger)
        guard let stored = try await database.withConnection({ try await store.live($0, account: account, accessKeyId: accessKeyId, now: now) })
        else { return nil }
        let secret = try sealer.open(stored.secretSealed, keyId: accessKeyId)
        let binding = InstanceBinding(cluster: stored.cluster, id: stored.instanceId)
        return Credential(secret: secret, principal: Principal(
            accountId: account, arn: scope.containerInstance(account, cluster: stored.cluster, id: stored.instanceId),
            userName: "container-instance/\(stored.cluster)/\(stored.instanceId)", accessKeyId: accessKeyId, instance: binding),
            expiresAt: stored.expiresAt)
    }
}

/// What a container instance's credential may do: act as that instance and nothing else. Kept in code, like the
/// built-in policies, and evaluated like any policy.
public enum InstancePolicy {
    /// The agent protocol's actions, on the instance's own ARN.
    public static let actions = ["ecs:Poll", "ecs:SubmitTaskStateChange", "ecs:GetTaskCredentials", "ecs:GetTaskSecrets",
                                 "ecs:RegisterContainerInstance", "ecs:DeregisterContainerInstance", "ecs:RotateInstanceCredentials"]

    public static func document(_ principal: Principal, scope: ARNScope) -> String? {
        guard let binding = principal.instance else { return nil }
        let instance = scope.containerInstance(principal.accountId, cluster: binding.cluster, id: binding.id)
        let cluster = scope.cluster(principal.accountId, binding.cluster)
        let actions = actions.map { "\"\($0)\"" }.joined(separator: ", ")
        return """
            {"Version": "2012-10-17", "Statement": [
              {"Effect": "Allow", "Action": [\(actions)], "Resource": "\(instance)"},
              {"Effect": "Allow", "Action": "ecs:RegisterContainerInstance", "Resource": "\(cluster)"},
              {"Effect": "Allow", "Action": "servicediscovery:DiscoverInstances", "Resource": "*"}]}
            """
    }
}
