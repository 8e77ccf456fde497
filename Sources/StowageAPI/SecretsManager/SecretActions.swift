import Foundation
import StowageIAM
import StowageModel
import StowageStore
import StowageUseCases

/// Secrets Manager (`secretsmanager.<Action>`): secrets with versions moved between staging labels, sealed under
/// the tenant's data key, deleted only after a recovery window unless forced.
enum SecretActions {
    static func invalidParameter(_ message: String) -> APIError { SecretRules.invalidParameter(message) }

    /// Authorizes the operation on the secret a reference names: on its real ARN when it exists, on the reference otherwise
    /// (so a foreign ARN is denied, never answered "not found").
    static func authorize(_ id: String, _ c: Caller, keys: [String: String] = [:], requestTags: [Tag]? = nil) async throws {
        if case .arn(let account, _, _) = SecretRules.reference(id), account != c.account {
            try await c.authorize([id], keys: keys)
        }
        let row = try await c.secrets.existing(id)
        let resource = row.map { c.secrets.arn($0) }
            ?? (id.hasPrefix("arn:") ? id : SecretRules.arn(c.backend.scope, account: c.account, name: id, suffix: "??????"))
        var all = keys
        all["secretsmanager:SecretId"] = resource
        try await c.authorize([resource], keys: all, requestTags: requestTags)
    }

    static func checkKey(_ keyId: String?) throws(APIError) {
        if let keyId, keyId != SecretRules.defaultKeyId {
            throw invalidParameter("KmsKeyId \(keyId) is refused: Stowage seals secrets under its own per-tenant key; give \(SecretRules.defaultKeyId) or omit KmsKeyId.")
        }
    }

    static func checkTags(_ tags: [Tag]) throws(APIError) {
        guard tags.count <= 50 else { throw invalidParameter("A secret can have at most 50 tags.") }
        for tag in tags {
            guard let key = tag.key, (1...128).contains(key.count), (tag.value ?? "").count <= 256 else {
                throw invalidParameter("Tag keys must be 1 to 128 characters and values at most 256.")
            }
            guard !key.lowercased().hasPrefix("aws:") else { throw invalidParameter("Tag keys may not begin with aws:.") }
        }
    }

    static func create(_ input: SecretsManager.CreateSecretRequest, _ c: Caller) async throws -> SecretsManager.SecretResponse {
        try SecretRules.checkName(input.name)
        if let token = input.clientRequestToken { try SecretRules.checkToken(token) }
        try checkKey(input.kmsKeyId)
        if !(input.addReplicaRegions ?? []).isEmpty || input.forceOverwriteReplicaSecret == true {
            throw invalidParameter("AddReplicaRegions is refused: Stowage runs in one region and does not replicate secrets.")
        }
        if input.type != nil { throw invalidParameter("Type is refused: managed secret types are not supported.") }
        if let d = input.description, d.count > 2048 { throw invalidParameter("Description may be at most 2048 characters.") }
        let value = try SecretRules.value(string: input.secretString, binary: input.secretBinary, required: false)
        let tags = input.tags ?? []
        try checkTags(tags)
        let suffix = SecretRules.suffix()
        let arn = SecretRules.arn(c.backend.scope, account: c.account, name: input.name, suffix: suffix)
        try await c.authorize([arn], keys: ["secretsmanager:Name": input.name], requestTags: input.tags)
        let versionId = try await c.secrets.create(name: input.name, suffix: suffix, description: input.description, tags: tags, value: value,
                                                   token: input.clientRequestToken)
        return .init(arn: arn, name: input.name, versionId: versionId)
    }

    static func get(_ input: SecretsManager.GetSecretValueRequest, _ c: Caller) async throws -> SecretsManager.GetSecretValueResponse {
        if case .arn(let account, _, _) = SecretRules.reference(input.secretId), account != c.account {
            try await c.authorize([input.secretId])
        }
        return try await c.secrets.value(id: input.secretId, versionId: input.versionId, stage: input.versionStage) { arn, keys in
            try await c.authorize([arn], keys: keys)
        }
    }

    static func put(_ input: SecretsManager.PutSecretValueRequest, _ c: Caller) async throws -> SecretsManager.PutSecretValueResponse {
        if input.rotationToken != nil { throw invalidParameter("RotationToken is refused: rotation functions are not supported.") }
        if let token = input.clientRequestToken { try SecretRules.checkToken(token) }
        let value = try SecretRules.value(string: input.secretString, binary: input.secretBinary, required: true)
        let stages = Set(input.versionStages ?? [SecretRules.current])
        guard !stages.isEmpty, stages.count <= 20, stages.allSatisfy({ (1...256).contains($0.count) }) else {
            throw invalidParameter("VersionStages must list 1 to 20 labels of 1 to 256 characters.")
        }
        try await authorize(input.secretId, c)
        return try await c.secrets.put(id: input.secretId, token: input.clientRequestToken, value: value, stages: stages)
    }

    static func update(_ input: SecretsManager.UpdateSecretRequest, _ c: Caller) async throws -> SecretsManager.SecretResponse {
        if let token = input.clientRequestToken { try SecretRules.checkToken(token) }
        try checkKey(input.kmsKeyId)
        if input.type != nil { throw invalidParameter("Type is refused: managed secret types are not supported.") }
        if let d = input.description, d.count > 2048 { throw invalidParameter("Description may be at most 2048 characters.") }
        let value = try SecretRules.value(string: input.secretString, binary: input.secretBinary, required: false)
        try await authorize(input.secretId, c)
        return try await c.secrets.update(id: input.secretId, description: input.description, token: input.clientRequestToken, value: value)
    }

    static func describe(_ input: SecretsManager.SecretIdRequest, _ c: Caller) async throws -> SecretsManager.DescribeSecretResponse {
        try await authorize(input.secretId, c)
        return try await c.secrets.describe(id: input.secretId)
    }

    static func list(_ input: SecretsManager.ListSecretsRequest, _ c: Caller) async throws -> SecretsManager.ListSecretsResponse {
        let limit = input.maxResults ?? 100
        guard (1...100).contains(limit) else { throw invalidParameter("MaxResults must be between 1 and 100.") }
        let order = input.sortOrder ?? "desc"
        guard ["asc", "desc"].contains(order) else { throw invalidParameter("SortOrder must be asc or desc.") }
        let sortBy = input.sortBy ?? "created-date"
        guard ["created-date", "last-accessed-date", "last-changed-date", "name"].contains(sortBy) else {
            throw invalidParameter("SortBy must be created-date, last-accessed-date, last-changed-date or name.")
        }
        let filters = input.filters ?? []
        for f in filters {
            guard let key = f.key, ["description", "name", "tag-key", "tag-value", "primary-region", "owning-service", "all"].contains(key) else {
                throw invalidParameter("Filter key \(f.key ?? "(none)") is not one of description, name, tag-key, tag-value, primary-region, owning-service, all.")
            }
            guard (1...10).contains((f.values ?? []).count) else { throw invalidParameter("A filter takes 1 to 10 values.") }
        }
        let offset = try PageToken.decode(input.nextToken)?.first.flatMap(Int.init) ?? 0
        try await c.authorize(["*"])
        return try await c.secrets.list(includeDeleted: input.includePlannedDeletion ?? false, filters: filters, sortBy: sortBy,
                                        ascending: order == "asc", offset: offset, limit: limit)
    }

    static func delete(_ input: SecretsManager.DeleteSecretRequest, _ c: Caller) async throws -> SecretsManager.DeleteSecretResponse {
        let force = input.forceDeleteWithoutRecovery ?? false
        if force, input.recoveryWindowInDays != nil {
            throw invalidParameter("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")
        }
        let days = input.recoveryWindowInDays ?? 30
        guard (7...30).contains(days) else { throw invalidParameter("RecoveryWindowInDays must be between 7 and 30 days.") }
        try await authorize(input.secretId, c)
        return try await c.secrets.delete(id: input.secretId, force: force, days: days)
    }

    static func restore(_ input: SecretsManager.SecretIdRequest, _ c: Caller) async throws -> SecretsManager.SecretResponse {
        try await authorize(input.secretId, c)
        return try await c.secrets.restore(id: input.secretId)
    }

    static func updateStage(_ input: SecretsManager.UpdateSecretVersionStageRequest, _ c: Caller) async throws -> SecretsManager.SecretResponse {
        guard (1...256).contains(input.versionStage.count) else { throw invalidParameter("VersionStage must be 1 to 256 characters.") }
        try await authorize(input.secretId, c, keys: ["secretsmanager:VersionStage": input.versionStage])
        return try await c.secrets.updateStage(id: input.secretId, stage: input.versionStage, from: input.removeFromVersionId,
                                               to: input.moveToVersionId)
    }

    static func versionIds(_ input: SecretsManager.ListSecretVersionIdsRequest, _ c: Caller) async throws -> SecretsManager.ListSecretVersionIdsResponse {
        let limit = input.maxResults ?? 100
        guard (1...100).contains(limit) else { throw invalidParameter("MaxResults must be between 1 and 100.") }
        let offset = try PageToken.decode(input.nextToken)?.first.flatMap(Int.init) ?? 0
        try await authorize(input.secretId, c)
        return try await c.secrets.versionIds(id: input.secretId, includeDeprecated: input.includeDeprecated == true, offset: offset, limit: limit)
    }

    static func tag(_ input: SecretsManager.TagResourceRequest, _ c: Caller) async throws -> Empty {
        try checkTags(input.tags)
        try await authorize(input.secretId, c, requestTags: input.tags)
        try await c.secrets.tag(id: input.secretId, input.tags, check: { try checkTags($0) })
        return Empty()
    }

    static func untag(_ input: SecretsManager.UntagResourceRequest, _ c: Caller) async throws -> Empty {
        try await authorize(input.secretId, c)
        try await c.secrets.untag(id: input.secretId, keys: input.tagKeys)
        return Empty()
    }
}

extension Caller {
    /// Secrets Manager's use cases, acting for this caller's account.
    var secrets: Secrets { Secrets(tenant: tenant, store: backend.secrets, vault: backend.vault) }
}

/// The Secrets Manager actions by name (`secretsmanager.<Action>`).
public enum SecretsManagerOperations {
    public static let all: [Operation] = [
        Operation.json(.secretsmanager, "CreateSecret", .write, SecretActions.create),
        Operation.json(.secretsmanager, "GetSecretValue", .read, SecretActions.get),
        Operation.json(.secretsmanager, "PutSecretValue", .write, SecretActions.put),
        Operation.json(.secretsmanager, "UpdateSecret", .write, SecretActions.update),
        Operation.json(.secretsmanager, "DescribeSecret", .read, SecretActions.describe),
        Operation.json(.secretsmanager, "ListSecrets", .read, SecretActions.list),
        Operation.json(.secretsmanager, "DeleteSecret", .write, SecretActions.delete),
        Operation.json(.secretsmanager, "RestoreSecret", .write, SecretActions.restore),
        Operation.json(.secretsmanager, "UpdateSecretVersionStage", .write, SecretActions.updateStage),
        Operation.json(.secretsmanager, "ListSecretVersionIds", .read, SecretActions.versionIds),
        Operation.json(.secretsmanager, "TagResource", .write, SecretActions.tag),
        Operation.json(.secretsmanager, "UntagResource", .write, SecretActions.untag),
    ]
}
