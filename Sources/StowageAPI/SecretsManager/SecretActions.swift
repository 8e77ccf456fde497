import Foundation
import PostgresNIO
import StowageIAM
import StowageModel
import StowageStore

/// Secrets Manager (`secretsmanager.<Action>`): secrets with versions moved between staging labels, sealed under
/// the tenant's data key, deleted only after a recovery window unless forced.
enum SecretActions {
    static func invalidParameter(_ message: String) -> APIError { SecretRules.invalidParameter(message) }
    static let markedForDeletion = SecretRules.invalidRequest("You can't perform this operation on the secret because it was marked for deletion.")

    static func arn(_ c: Caller, _ row: SecretRow) -> String {
        SecretRules.arn(c.backend.scope, account: c.account, name: row.name, suffix: row.suffix)
    }

    /// A secret a request names, read in the caller's account. A reference into another account is refused by
    /// authorization before anything is read; a full ARN whose suffix differs (an older secret of the same
    /// name) is not found.
    static func lookup(_ conn: PostgresConnection, _ c: Caller, _ id: String, forUpdate: Bool = false) async throws -> SecretRow {
        let name: String
        var suffix: String?
        switch SecretRules.reference(id) {
        case .name(let n): name = n
        case .arn(let account, let n, let s):
            guard account == c.account else { throw SecretRules.notFound() }
            name = n; suffix = s
        }
        guard let row = try await c.backend.secrets.get(conn, account: c.account, name: name, forUpdate: forUpdate),
              suffix == nil || suffix == row.suffix, (row.deletionAt.map { $0 > c.backend.clock.now() } ?? true) else {
            throw SecretRules.notFound()
        }
        return row
    }

    /// Authorizes the operation on the secret a reference names: on its real ARN when it exists, on the reference otherwise
    /// (so a foreign ARN is denied, never answered "not found").
    static func authorize(_ id: String, _ c: Caller, keys: [String: String] = [:], requestTags: [Tag]? = nil) async throws
        -> SecretRow?
    {
        if case .arn(let account, _, _) = SecretRules.reference(id), account != c.account {
            try await c.authorize([id], keys: keys)
        }
        let row = try await c.backend.database.withConnection { conn in try? await lookup(conn, c, id) }
        let resource = row.map { arn(c, $0) } ?? (id.hasPrefix("arn:") ? id : SecretRules.arn(c.backend.scope, account: c.account, name: id, suffix: "??????"))
        var all = keys
        all["secretsmanager:SecretId"] = resource
        try await c.authorize([resource], keys: all, requestTags: requestTags)
        return row
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

    /// Adds a version under `token` with `stages`; a token already used with the same value is a no-op (the
    /// request was repeated), with another value a conflict.
    static func addVersion(_ conn: PostgresConnection, _ c: Caller, _ row: SecretRow, token: String?, value: (Data, Bool),
                           stages: Set<String>) async throws -> (String, [String]) {
        let versionId = token ?? UUID().uuidString.lowercased()
        let versions = try await c.backend.secrets.versions(conn, account: c.account, name: row.name)
        if let same = versions.first(where: { $0.versionId == versionId }) {
            let old = try await c.backend.vault.open(conn, account: c.account, SealedValue(keyVersion: same.keyVersion, bytes: same.sealed),
                                                     context: Vault.secretContext(name: row.name, versionId: versionId))
            guard old == value.0, same.isBinary == value.1 else {
                throw APIError("ResourceExistsException", "You can't modify an existing version, you can only create a new version.")
            }
            return (versionId, same.stages)
        }
        let sealed = try await c.backend.vault.seal(conn, account: c.account, value.0, context: Vault.secretContext(name: row.name, versionId: versionId))
        let now = c.backend.clock.now()
        try await c.backend.secrets.addVersion(conn, account: c.account, name: row.name, SecretVersionRow(
            versionId: versionId, sealed: sealed.bytes, keyVersion: sealed.keyVersion, isBinary: value.1, stages: [], createdAt: now))
        var map = Dictionary(uniqueKeysWithValues: versions.map { ($0.versionId, Set($0.stages)) })
        map[versionId] = []
        map = SecretRules.afterPut(map, newVersion: versionId, stages: stages)
        try await c.backend.secrets.setStages(conn, account: c.account, name: row.name, map, keep: SecretRules.maxVersions)
        if !versions.isEmpty { try await ValueChange.announce(conn, c, kind: "secret", name: row.name) }
        return (versionId, (map[versionId] ?? []).sorted())
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
        return try await c.backend.database.transaction { conn in
            let now = c.backend.clock.now()
            try await c.backend.secrets.purgeExpired(conn, account: c.account, now: now)
            if let existing = try await c.backend.secrets.get(conn, account: c.account, name: input.name, forUpdate: true) {
                if existing.deletionAt != nil {
                    throw SecretRules.invalidRequest("You can't create this secret because a secret with this name is already scheduled for deletion.")
                }
                throw APIError("ResourceExistsException", "The operation failed because the secret \(input.name) already exists.")
            }
            guard try await c.backend.secrets.create(conn, account: c.account, name: input.name, suffix: suffix, description: input.description,
                                                     tags: tags, now: now),
                  let row = try await c.backend.secrets.get(conn, account: c.account, name: input.name) else {
                throw APIError("ResourceExistsException", "The operation failed because the secret \(input.name) already exists.")
            }
            var versionId: String?
            if let value {
                versionId = try await addVersion(conn, c, row, token: input.clientRequestToken, value: value, stages: [SecretRules.current]).0
            }
            return .init(arn: arn, name: input.name, versionId: versionId)
        }
    }

    /// One secret value as a reader asks for it, authorized by `authorize` on the secret's ARN (the caller's own
    /// policies for GetSecretValue; a task's execution role for ECS secrets).
    static func value(_ c: Caller, id: String, versionId: String?, stage: String?,
                      authorize: (String, [String: String]) async throws -> Void) async throws -> SecretsManager.GetSecretValueResponse {
        let (row, versions) = try await c.backend.database.withConnection { conn in
            let row = try await lookup(conn, c, id)
            return (row, try await c.backend.secrets.versions(conn, account: c.account, name: row.name))
        }
        let arn = arn(c, row)
        var keys = ["secretsmanager:SecretId": arn]
        if let versionId { keys["secretsmanager:VersionId"] = versionId }
        keys["secretsmanager:VersionStage"] = stage ?? (versionId == nil ? SecretRules.current : nil)
        try await authorize(arn, keys)
        guard row.deletionAt == nil else { throw markedForDeletion }
        let wanted = stage ?? (versionId == nil ? SecretRules.current : nil)
        guard let version = versions.first(where: { v in
            (versionId == nil || v.versionId == versionId) && (wanted == nil || v.stages.contains(wanted ?? ""))
        }) else {
            if let versionId, let stage { throw SecretRules.notFound("Secrets Manager can't find the specified secret value for VersionId: \(versionId) and staging label: \(stage)") }
            if let versionId { throw SecretRules.notFound("Secrets Manager can't find the specified secret value for VersionId: \(versionId)") }
            throw SecretRules.notFound("Secrets Manager can't find the specified secret value for staging label: \(wanted ?? SecretRules.current)")
        }
        let plain = try await c.backend.database.withConnection { conn in
            let plain = try await c.backend.vault.open(conn, account: c.account, SealedValue(keyVersion: version.keyVersion, bytes: version.sealed),
                                                       context: Vault.secretContext(name: row.name, versionId: version.versionId))
            let today = Calendar(identifier: .gregorian).startOfDay(for: c.backend.clock.now())
            if row.accessedOn.map({ $0 < today }) ?? true {
                try await c.backend.secrets.accessed(conn, account: c.account, name: row.name, on: c.backend.clock.now())
            }
            return plain
        }
        return .init(arn: arn, name: row.name, versionId: version.versionId, secretBinary: version.isBinary ? plain : nil,
                     secretString: version.isBinary ? nil : String(decoding: plain, as: UTF8.self), versionStages: version.stages.sorted(),
                     createdDate: version.createdAt)
    }

    static func get(_ input: SecretsManager.GetSecretValueRequest, _ c: Caller) async throws -> SecretsManager.GetSecretValueResponse {
        if case .arn(let account, _, _) = SecretRules.reference(input.secretId), account != c.account {
            try await c.authorize([input.secretId])
        }
        return try await value(c, id: input.secretId, versionId: input.versionId, stage: input.versionStage) { arn, keys in
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
        _ = try await authorize(input.secretId, c)
        return try await c.backend.database.transaction { conn in
            let row = try await lookup(conn, c, input.secretId, forUpdate: true)
            guard row.deletionAt == nil else { throw markedForDeletion }
            guard let value else { throw invalidParameter("You must provide either SecretString or SecretBinary.") }
            let (id, labels) = try await addVersion(conn, c, row, token: input.clientRequestToken, value: value, stages: stages)
            return .init(arn: arn(c, row), name: row.name, versionId: id, versionStages: labels)
        }
    }

    static func update(_ input: SecretsManager.UpdateSecretRequest, _ c: Caller) async throws -> SecretsManager.SecretResponse {
        if let token = input.clientRequestToken { try SecretRules.checkToken(token) }
        try checkKey(input.kmsKeyId)
        if input.type != nil { throw invalidParameter("Type is refused: managed secret types are not supported.") }
        if let d = input.description, d.count > 2048 { throw invalidParameter("Description may be at most 2048 characters.") }
        let value = try SecretRules.value(string: input.secretString, binary: input.secretBinary, required: false)
        _ = try await authorize(input.secretId, c)
        return try await c.backend.database.transaction { conn in
            let row = try await lookup(conn, c, input.secretId, forUpdate: true)
            guard row.deletionAt == nil else { throw markedForDeletion }
            try await c.backend.secrets.update(conn, account: c.account, name: row.name, description: input.description, now: c.backend.clock.now())
            var versionId: String?
            if let value {
                versionId = try await addVersion(conn, c, row, token: input.clientRequestToken, value: value, stages: [SecretRules.current]).0
            }
            return .init(arn: arn(c, row), name: row.name, versionId: versionId)
        }
    }

    static func described(_ conn: PostgresConnection, _ c: Caller, _ row: SecretRow) async throws -> SecretsManager.DescribeSecretResponse {
        let versions = try await c.backend.secrets.versions(conn, account: c.account, name: row.name)
        var stages: [String: [String]] = [:]
        for v in versions where !v.stages.isEmpty { stages[v.versionId] = v.stages.sorted() }
        return .init(arn: arn(c, row), name: row.name, description: row.description, lastChangedDate: row.changedAt,
                     lastAccessedDate: row.accessedOn, deletedDate: row.deletedAt, tags: row.tags, versionIdsToStages: stages,
                     createdDate: row.createdAt)
    }

    static func describe(_ input: SecretsManager.SecretIdRequest, _ c: Caller) async throws -> SecretsManager.DescribeSecretResponse {
        _ = try await authorize(input.secretId, c)
        return try await c.backend.database.withConnection { conn in try await described(conn, c, try await lookup(conn, c, input.secretId)) }
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
        let region = c.backend.scope.region
        return try await c.backend.database.withConnection { conn in
            let now = c.backend.clock.now()
            var rows = try await c.backend.secrets.list(conn, account: c.account, after: nil, limit: 100_000,
                                                        includeDeleted: input.includePlannedDeletion ?? false)
                .filter { row in row.deletionAt.map { $0 > now } ?? true }
            rows = rows.filter { row in
                filters.allSatisfy { f in
                    let fields: [String] = switch f.key ?? "" {
                    case "name": [row.name]
                    case "description": [row.description ?? ""]
                    case "tag-key": row.tags.compactMap(\.key)
                    case "tag-value": row.tags.compactMap(\.value)
                    case "primary-region": [region]
                    case "owning-service": []
                    default: [row.name, row.description ?? ""] + row.tags.compactMap(\.key) + row.tags.compactMap(\.value)
                    }
                    return (f.values ?? []).allSatisfy { value in
                        value.hasPrefix("!") ? !fields.contains { $0.hasPrefix(String(value.dropFirst())) } : fields.contains { $0.hasPrefix(value) }
                    }
                }
            }
            let key: (SecretRow) -> String = switch sortBy {
            case "name": { $0.name }
            case "last-changed-date": { String(format: "%020.6f", $0.changedAt.timeIntervalSince1970) + $0.name }
            case "last-accessed-date": { String(format: "%020.6f", $0.accessedOn?.timeIntervalSince1970 ?? 0) + $0.name }
            default: { String(format: "%020.6f", $0.createdAt.timeIntervalSince1970) + $0.name }
            }
            rows.sort { order == "asc" ? key($0) < key($1) : key($0) > key($1) }
            let page = rows.dropFirst(offset).prefix(limit)
            var entries: [SecretsManager.SecretListEntry] = []
            for row in page { entries.append(.init(try await described(conn, c, row))) }
            return .init(secretList: entries, nextToken: rows.count > offset + limit ? PageToken.encode([String(offset + limit)]) : nil)
        }
    }

    static func delete(_ input: SecretsManager.DeleteSecretRequest, _ c: Caller) async throws -> SecretsManager.DeleteSecretResponse {
        let force = input.forceDeleteWithoutRecovery ?? false
        if force, input.recoveryWindowInDays != nil {
            throw invalidParameter("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")
        }
        let days = input.recoveryWindowInDays ?? 30
        guard (7...30).contains(days) else { throw invalidParameter("RecoveryWindowInDays must be between 7 and 30 days.") }
        _ = try await authorize(input.secretId, c)
        return try await c.backend.database.transaction { conn in
            let row = try await lookup(conn, c, input.secretId, forUpdate: true)
            let now = c.backend.clock.now()
            if force {
                try await c.backend.secrets.delete(conn, account: c.account, name: row.name)
                return .init(arn: arn(c, row), name: row.name, deletionDate: now)
            }
            if row.deletionAt != nil {
                throw SecretRules.invalidRequest("You can't perform this operation on the secret because it was already scheduled for deletion.")
            }
            let at = now.addingTimeInterval(Double(days) * 86400)
            try await c.backend.secrets.scheduleDeletion(conn, account: c.account, name: row.name, at: at, now: now)
            return .init(arn: arn(c, row), name: row.name, deletionDate: at)
        }
    }

    static func restore(_ input: SecretsManager.SecretIdRequest, _ c: Caller) async throws -> SecretsManager.SecretResponse {
        _ = try await authorize(input.secretId, c)
        return try await c.backend.database.transaction { conn in
            let row = try await lookup(conn, c, input.secretId, forUpdate: true)
            try await c.backend.secrets.scheduleDeletion(conn, account: c.account, name: row.name, at: nil, now: c.backend.clock.now())
            return .init(arn: arn(c, row), name: row.name, versionId: nil)
        }
    }

    static func updateStage(_ input: SecretsManager.UpdateSecretVersionStageRequest, _ c: Caller) async throws -> SecretsManager.SecretResponse {
        guard (1...256).contains(input.versionStage.count) else { throw invalidParameter("VersionStage must be 1 to 256 characters.") }
        _ = try await authorize(input.secretId, c, keys: ["secretsmanager:VersionStage": input.versionStage])
        return try await c.backend.database.transaction { conn in
            let row = try await lookup(conn, c, input.secretId, forUpdate: true)
            guard row.deletionAt == nil else { throw markedForDeletion }
            let versions = try await c.backend.secrets.versions(conn, account: c.account, name: row.name)
            let map = Dictionary(uniqueKeysWithValues: versions.map { ($0.versionId, Set($0.stages)) })
            if let from = input.removeFromVersionId, map[from] == nil {
                throw SecretRules.notFound("Secrets Manager can't find the specified secret version: \(from).")
            }
            let next = try SecretRules.afterStageUpdate(map, stage: input.versionStage, from: input.removeFromVersionId, to: input.moveToVersionId)
            try await c.backend.secrets.setStages(conn, account: c.account, name: row.name, next, keep: SecretRules.maxVersions)
            if next != map { try await ValueChange.announce(conn, c, kind: "secret", name: row.name) }
            return .init(arn: arn(c, row), name: row.name, versionId: nil)
        }
    }

    static func versionIds(_ input: SecretsManager.ListSecretVersionIdsRequest, _ c: Caller) async throws -> SecretsManager.ListSecretVersionIdsResponse {
        let limit = input.maxResults ?? 100
        guard (1...100).contains(limit) else { throw invalidParameter("MaxResults must be between 1 and 100.") }
        let offset = try PageToken.decode(input.nextToken)?.first.flatMap(Int.init) ?? 0
        _ = try await authorize(input.secretId, c)
        return try await c.backend.database.withConnection { conn in
            let row = try await lookup(conn, c, input.secretId)
            let all = try await c.backend.secrets.versions(conn, account: c.account, name: row.name)
                .filter { input.includeDeprecated == true || !$0.stages.isEmpty }
            let page = all.dropFirst(offset).prefix(limit).map {
                SecretsManager.SecretVersionsListEntry(versionId: $0.versionId, versionStages: $0.stages.sorted(), lastAccessedDate: nil, createdDate: $0.createdAt)
            }
            return .init(versions: Array(page), nextToken: all.count > offset + limit ? PageToken.encode([String(offset + limit)]) : nil,
                         arn: arn(c, row), name: row.name)
        }
    }

    static func tag(_ input: SecretsManager.TagResourceRequest, _ c: Caller) async throws -> Empty {
        try checkTags(input.tags)
        _ = try await authorize(input.secretId, c, requestTags: input.tags)
        try await c.backend.database.transaction { conn in
            let row = try await lookup(conn, c, input.secretId, forUpdate: true)
            var merged = row.tags.dictionary
            for t in input.tags { if let key = t.key { merged[key] = t.value ?? "" } }
            let tags = merged.sorted { $0.key < $1.key }.map { Tag(key: $0.key, value: $0.value) }
            try checkTags(tags)
            try await c.backend.secrets.setTags(conn, account: c.account, name: row.name, tags)
        }
        return Empty()
    }

    static func untag(_ input: SecretsManager.UntagResourceRequest, _ c: Caller) async throws -> Empty {
        _ = try await authorize(input.secretId, c)
        try await c.backend.database.transaction { conn in
            let row = try await lookup(conn, c, input.secretId, forUpdate: true)
            try await c.backend.secrets.setTags(conn, account: c.account, name: row.name, row.tags.filter { !input.tagKeys.contains($0.key ?? "") })
        }
        return Empty()
    }
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
