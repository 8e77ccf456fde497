import Foundation
import PostgresNIO
import StowageIAM
import StowageModel
import StowageStore

/// Secrets Manager's use cases: each opens its own transaction, takes values the door has checked and authorized,
/// and re-reads the secret under a row lock before it writes (authorization ran on an earlier read).
public struct Secrets: Sendable {
    let tenant: TenantContext
    let store: SecretStore
    let vault: Vault

    public init(tenant: TenantContext, store: SecretStore, vault: Vault) { self.tenant = tenant; self.store = store; self.vault = vault }

    var account: String { tenant.account }

    public static let markedForDeletion = SecretRules.invalidRequest(
        "You can't perform this operation on the secret because it was marked for deletion.")

    public func arn(_ row: SecretRow) -> String { SecretRules.arn(tenant.scope, account: account, name: row.name, suffix: row.suffix) }

    /// A secret a request names, read in the caller's account. A reference into another account is refused by
    /// authorization before anything is read; a full ARN whose suffix differs (an older secret of the same
    /// name) is not found.
    func lookup(_ conn: PostgresConnection, _ id: String, forUpdate: Bool = false) async throws -> SecretRow {
        let name: String
        var suffix: String?
        switch SecretRules.reference(id) {
        case .name(let n): name = n
        case .arn(let account, let n, let s):
            guard account == self.account else { throw SecretRules.notFound() }
            name = n; suffix = s
        }
        guard let row = try await store.get(conn, account: account, name: name, forUpdate: forUpdate),
              suffix == nil || suffix == row.suffix, (row.deletionAt.map { $0 > tenant.clock.now() } ?? true) else {
            throw SecretRules.notFound()
        }
        return row
    }

    /// The secret a reference names if it exists, for the door to authorize on its real ARN.
    public func existing(_ id: String) async throws -> SecretRow? {
        try await tenant.database.withConnection { conn in try? await lookup(conn, id) }
    }

    /// Adds a version under `token` with `stages`; a token already used with the same value is a no-op (the
    /// request was repeated), with another value a conflict.
    func addVersion(_ conn: PostgresConnection, _ row: SecretRow, token: String?, value: (Data, Bool), stages: Set<String>) async throws
        -> (String, [String])
    {
        let versionId = token ?? UUID().uuidString.lowercased()
        let versions = try await store.versions(conn, account: account, name: row.name)
        if let same = versions.first(where: { $0.versionId == versionId }) {
            let old = try await vault.open(conn, account: account, SealedValue(keyVersion: same.keyVersion, bytes: same.sealed),
                                           context: Vault.secretContext(name: row.name, versionId: versionId))
            guard old == value.0, same.isBinary == value.1 else {
                throw APIError("ResourceExistsException", "You can't modify an existing version, you can only create a new version.")
            }
            return (versionId, same.stages)
        }
        let sealed = try await vault.seal(conn, account: account, value.0, context: Vault.secretContext(name: row.name, versionId: versionId))
        let now = tenant.clock.now()
        try await store.addVersion(conn, account: account, name: row.name, SecretVersionRow(
            versionId: versionId, sealed: sealed.bytes, keyVersion: sealed.keyVersion, isBinary: value.1, stages: [], createdAt: now))
        var map = Dictionary(uniqueKeysWithValues: versions.map { ($0.versionId, Set($0.stages)) })
        map[versionId] = []
        map = SecretRules.afterPut(map, newVersion: versionId, stages: stages)
        try await store.setStages(conn, account: account, name: row.name, map, keep: SecretRules.maxVersions)
        if !versions.isEmpty { try await ValueChange.announce(conn, tenant, kind: "secret", name: row.name) }
        return (versionId, (map[versionId] ?? []).sorted())
    }

    /// A new secret under the suffix its authorized ARN carries; the answer is the first version's id, if a value was given.
    public func create(name: String, suffix: String, description: String?, tags: [Tag], value: (Data, Bool)?, token: String?) async throws
        -> String?
    {
        try await tenant.database.transaction { conn in
            let now = tenant.clock.now()
            try await store.purgeExpired(conn, account: account, now: now)
            if let existing = try await store.get(conn, account: account, name: name, forUpdate: true) {
                if existing.deletionAt != nil {
                    throw SecretRules.invalidRequest("You can't create this secret because a secret with this name is already scheduled for deletion.")
                }
                throw APIError("ResourceExistsException", "The operation failed because the secret \(name) already exists.")
            }
            guard try await store.create(conn, account: account, name: name, suffix: suffix, description: description, tags: tags, now: now),
                  let row = try await store.get(conn, account: account, name: name) else {
                throw APIError("ResourceExistsException", "The operation failed because the secret \(name) already exists.")
            }
            guard let value else { return nil }
            return try await addVersion(conn, row, token: token, value: value, stages: [SecretRules.current]).0
        }
    }

    /// One secret value as a reader asks for it, authorized by `authorize` on the secret's ARN and condition keys
    /// (the caller's own policies for GetSecretValue; a task's execution role for ECS secrets), with no connection
    /// held while it runs.
    public func value(id: String, versionId: String?, stage: String?,
                      authorize: (String, [String: String]) async throws -> Void) async throws -> SecretsManager.GetSecretValueResponse {
        let (row, versions) = try await tenant.database.withConnection { conn in
            let row = try await lookup(conn, id)
            return (row, try await store.versions(conn, account: account, name: row.name))
        }
        let arn = arn(row)
        var keys = ["secretsmanager:SecretId": arn]
        if let versionId { keys["secretsmanager:VersionId"] = versionId }
        keys["secretsmanager:VersionStage"] = stage ?? (versionId == nil ? SecretRules.current : nil)
        try await authorize(arn, keys)
        guard row.deletionAt == nil else { throw Self.markedForDeletion }
        let wanted = stage ?? (versionId == nil ? SecretRules.current : nil)
        guard let version = versions.first(where: { v in
            (versionId == nil || v.versionId == versionId) && (wanted == nil || v.stages.contains(wanted ?? ""))
        }) else {
            if let versionId, let stage { throw SecretRules.notFound("Secrets Manager can't find the specified secret value for VersionId: \(versionId) and staging label: \(stage)") }
            if let versionId { throw SecretRules.notFound("Secrets Manager can't find the specified secret value for VersionId: \(versionId)") }
            throw SecretRules.notFound("Secrets Manager can't find the specified secret value for staging label: \(wanted ?? SecretRules.current)")
        }
        let plain = try await tenant.database.withConnection { conn in
            let plain = try await vault.open(conn, account: account, SealedValue(keyVersion: version.keyVersion, bytes: version.sealed),
                                             context: Vault.secretContext(name: row.name, versionId: version.versionId))
            let today = Calendar(identifier: .gregorian).startOfDay(for: tenant.clock.now())
            if row.accessedOn.map({ $0 < today }) ?? true {
                try await store.accessed(conn, account: account, name: row.name, on: tenant.clock.now())
            }
            return plain
        }
        return .init(arn: arn, name: row.name, versionId: version.versionId, secretBinary: version.isBinary ? plain : nil,
                     secretString: version.isBinary ? nil : String(decoding: plain, as: UTF8.self), versionStages: version.stages.sorted(),
                     createdDate: version.createdAt)
    }

    /// `value` is nil only when the door let a missing value through: it is refused after the secret is found.
    public func put(id: String, token: String?, value: (Data, Bool)?, stages: Set<String>) async throws -> SecretsManager.PutSecretValueResponse {
        try await tenant.database.transaction { conn in
            let row = try await lookup(conn, id, forUpdate: true)
            guard row.deletionAt == nil else { throw Self.markedForDeletion }
            guard let value else { throw SecretRules.invalidParameter("You must provide either SecretString or SecretBinary.") }
            let (versionId, labels) = try await addVersion(conn, row, token: token, value: value, stages: stages)
            return .init(arn: arn(row), name: row.name, versionId: versionId, versionStages: labels)
        }
    }

    public func update(id: String, description: String?, token: String?, value: (Data, Bool)?) async throws -> SecretsManager.SecretResponse {
        try await tenant.database.transaction { conn in
            let row = try await lookup(conn, id, forUpdate: true)
            guard row.deletionAt == nil else { throw Self.markedForDeletion }
            try await store.update(conn, account: account, name: row.name, description: description, now: tenant.clock.now())
            var versionId: String?
            if let value {
                versionId = try await addVersion(conn, row, token: token, value: value, stages: [SecretRules.current]).0
            }
            return .init(arn: arn(row), name: row.name, versionId: versionId)
        }
    }

    func described(_ conn: PostgresConnection, _ row: SecretRow) async throws -> SecretsManager.DescribeSecretResponse {
        let versions = try await store.versions(conn, account: account, name: row.name)
        var stages: [String: [String]] = [:]
        for v in versions where !v.stages.isEmpty { stages[v.versionId] = v.stages.sorted() }
        return .init(arn: arn(row), name: row.name, description: row.description, lastChangedDate: row.changedAt,
                     lastAccessedDate: row.accessedOn, deletedDate: row.deletedAt, tags: row.tags, versionIdsToStages: stages,
                     createdDate: row.createdAt)
    }

    public func describe(id: String) async throws -> SecretsManager.DescribeSecretResponse {
        try await tenant.database.withConnection { conn in try await described(conn, try await lookup(conn, id)) }
    }

    /// One page of the account's secrets, filtered by prefix (a value starting `!` negates) and sorted as asked.
    public func list(includeDeleted: Bool, filters: [SecretsManager.Filter], sortBy: String, ascending: Bool, offset: Int, limit: Int)
        async throws -> SecretsManager.ListSecretsResponse
    {
        let region = tenant.scope.region
        return try await tenant.database.withConnection { conn in
            let now = tenant.clock.now()
            var rows = try await store.list(conn, account: account, after: nil, limit: 100_000, includeDeleted: includeDeleted)
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
            rows.sort { ascending ? key($0) < key($1) : key($0) > key($1) }
            let page = rows.dropFirst(offset).prefix(limit)
            var entries: [SecretsManager.SecretListEntry] = []
            for row in page { entries.append(.init(try await described(conn, row))) }
            return .init(secretList: entries, nextToken: rows.count > offset + limit ? PageToken.encode([String(offset + limit)]) : nil)
        }
    }

    /// Forced, the secret goes now; else it is scheduled `days` ahead and can be restored until then.
    public func delete(id: String, force: Bool, days: Int) async throws -> SecretsManager.DeleteSecretResponse {
        try await tenant.database.transaction { conn in
            let row = try await lookup(conn, id, forUpdate: true)
            let now = tenant.clock.now()
            if force {
                try await store.delete(conn, account: account, name: row.name)
                return .init(arn: arn(row), name: row.name, deletionDate: now)
            }
            if row.deletionAt != nil {
                throw SecretRules.invalidRequest("You can't perform this operation on the secret because it was already scheduled for deletion.")
            }
            let at = now.addingTimeInterval(Double(days) * 86400)
            try await store.scheduleDeletion(conn, account: account, name: row.name, at: at, now: now)
            return .init(arn: arn(row), name: row.name, deletionDate: at)
        }
    }

    public func restore(id: String) async throws -> SecretsManager.SecretResponse {
        try await tenant.database.transaction { conn in
            let row = try await lookup(conn, id, forUpdate: true)
            try await store.scheduleDeletion(conn, account: account, name: row.name, at: nil, now: tenant.clock.now())
            return .init(arn: arn(row), name: row.name, versionId: nil)
        }
    }

    public func updateStage(id: String, stage: String, from: String?, to: String?) async throws -> SecretsManager.SecretResponse {
        try await tenant.database.transaction { conn in
            let row = try await lookup(conn, id, forUpdate: true)
            guard row.deletionAt == nil else { throw Self.markedForDeletion }
            let versions = try await store.versions(conn, account: account, name: row.name)
            let map = Dictionary(uniqueKeysWithValues: versions.map { ($0.versionId, Set($0.stages)) })
            if let from, map[from] == nil {
                throw SecretRules.notFound("Secrets Manager can't find the specified secret version: \(from).")
            }
            let next = try SecretRules.afterStageUpdate(map, stage: stage, from: from, to: to)
            try await store.setStages(conn, account: account, name: row.name, next, keep: SecretRules.maxVersions)
            if next != map { try await ValueChange.announce(conn, tenant, kind: "secret", name: row.name) }
            return .init(arn: arn(row), name: row.name, versionId: nil)
        }
    }

    public func versionIds(id: String, includeDeprecated: Bool, offset: Int, limit: Int) async throws
        -> SecretsManager.ListSecretVersionIdsResponse
    {
        try await tenant.database.withConnection { conn in
            let row = try await lookup(conn, id)
            let all = try await store.versions(conn, account: account, name: row.name).filter { includeDeprecated || !$0.stages.isEmpty }
            let page = all.dropFirst(offset).prefix(limit).map {
                SecretsManager.SecretVersionsListEntry(versionId: $0.versionId, versionStages: $0.stages.sorted(), lastAccessedDate: nil,
                                                       createdDate: $0.createdAt)
            }
            return .init(versions: Array(page), nextToken: all.count > offset + limit ? PageToken.encode([String(offset + limit)]) : nil,
                         arn: arn(row), name: row.name)
        }
    }

    /// New tags replace those with the same keys; `check` judges the merged set (the limits) before it is stored.
    public func tag(id: String, _ tags: [Tag], check: ([Tag]) throws -> Void) async throws {
        try await tenant.database.transaction { conn in
            let row = try await lookup(conn, id, forUpdate: true)
            var merged = row.tags.dictionary
            for t in tags { if let key = t.key { merged[key] = t.value ?? "" } }
            let tags = merged.sorted { $0.key < $1.key }.map { Tag(key: $0.key, value: $0.value) }
            try check(tags)
            try await store.setTags(conn, account: account, name: row.name, tags)
        }
    }

    public func untag(id: String, keys: [String]) async throws {
        try await tenant.database.transaction { conn in
            let row = try await lookup(conn, id, forUpdate: true)
            try await store.setTags(conn, account: account, name: row.name, row.tags.filter { !keys.contains($0.key ?? "") })
        }
    }
}
