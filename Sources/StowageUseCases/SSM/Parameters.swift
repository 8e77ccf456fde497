import Foundation
import PostgresNIO
import StowageIAM
import StowageModel
import StowageStore

/// Parameter Store's use cases: each opens its own transaction and takes values the door has checked and
/// authorized. SecureString values are opened only when the caller asked for decryption.
public struct Parameters: Sendable {
    /// A parameter a request names (by name, selector or ARN): its name, the ARN authorization sees, its selector.
    public struct Target: Sendable {
        public var name: String
        public var arn: String
        public var selector: ParameterRules.Selector?
        public init(name: String, arn: String, selector: ParameterRules.Selector?) { self.name = name; self.arn = arn; self.selector = selector }
    }

    let tenant: TenantContext
    let store: ParameterStore
    let vault: Vault

    public init(tenant: TenantContext, store: ParameterStore, vault: Vault) { self.tenant = tenant; self.store = store; self.vault = vault }

    var account: String { tenant.account }

    public static func notFound(_ name: String) -> APIError { APIError("ParameterNotFound", "Parameter \(name) not found.", restStatus: 404) }
    public static let alreadyExists = APIError(
        "ParameterAlreadyExists", "The parameter already exists. To overwrite this request value, set the overwrite option in the request to true.")

    func arn(_ name: String) -> String { ParameterRules.arn(tenant.scope, account: account, name: name) }

    /// Reads the version a target selects.
    func read(_ conn: PostgresConnection, _ t: Target) async throws -> ParameterRow {
        switch t.selector {
        case nil:
            guard let row = try await store.latest(conn, account: account, name: t.name) else { throw Self.notFound(t.name) }
            return row
        case .version(let v)?:
            guard let row = try await store.selected(conn, account: account, name: t.name, version: v, label: nil) else {
                guard try await store.latest(conn, account: account, name: t.name) != nil else { throw Self.notFound(t.name) }
                throw APIError("ParameterVersionNotFound", "Systems Manager could not find version \(v) of \(t.name).", restStatus: 404)
            }
            return row
        case .label(let l)?:
            guard let row = try await store.selected(conn, account: account, name: t.name, version: nil, label: l) else {
                guard try await store.latest(conn, account: account, name: t.name) != nil else { throw Self.notFound(t.name) }
                throw APIError("ParameterVersionNotFound", "Systems Manager could not find label \(l) on \(t.name).", restStatus: 404)
            }
            return row
        }
    }

    /// The value as shown: SecureStrings only when decryption was asked for, else their ciphertext form.
    func shown(_ conn: PostgresConnection, _ row: ParameterRow, decrypt: Bool) async throws -> String {
        let sealed = SealedValue(keyVersion: row.keyVersion, bytes: row.sealed)
        if row.type == "SecureString", !decrypt { return Vault.ciphertextForm(sealed) }
        let plain = try await vault.open(conn, account: account, sealed, context: Vault.parameterContext(name: row.name, version: row.version))
        return String(decoding: plain, as: UTF8.self)
    }

    func parameter(_ conn: PostgresConnection, _ row: ParameterRow, selector: ParameterRules.Selector?, decrypt: Bool) async throws
        -> SSM.Parameter
    {
        SSM.Parameter(name: row.name, type: row.type, value: try await shown(conn, row, decrypt: decrypt), version: row.version,
                      selector: selector?.text, lastModifiedDate: row.modifiedAt, arn: arn(row.name), dataType: row.dataType)
    }

    /// The latest version, read without a lock: what a put's pattern is checked against before its transaction,
    /// and where tags are listed from.
    public func latest(_ name: String) async throws -> ParameterRow? {
        try await tenant.database.withConnection { conn in try await store.latest(conn, account: account, name: name) }
    }

    /// Writes the next version. `checked` is the pattern the door checked the value against, outside any
    /// transaction; if the pattern found under the row lock differs, the put is refused rather than trusted.
    public func put(_ t: Target, _ input: SSM.PutParameterRequest, tags: [Tag], checked: String?, by principal: String) async throws
        -> SSM.PutParameterResult
    {
        try await tenant.database.transaction { conn in
            let existing = try await store.latest(conn, account: account, name: t.name, forUpdate: true)
            if existing != nil, input.overwrite != true { throw Self.alreadyExists }
            guard let type = input.type ?? existing?.type else { throw ParameterRules.validation("Type is required to create a parameter.") }
            let tier = try ParameterRules.tier(input.tier, value: input.value, current: existing?.tier)
            let pattern = input.allowedPattern ?? existing?.allowedPattern
            guard pattern == checked else {
                throw APIError("TooManyUpdates", "The AllowedPattern of parameter \(t.name) changed while the value was checked against it: try again.")
            }
            let version = (existing?.version ?? 0) + 1
            let sealed = try await vault.seal(conn, account: account, Data(input.value.utf8),
                                              context: Vault.parameterContext(name: t.name, version: version))
            let row = ParameterRow(name: t.name, version: version, type: type, sealed: sealed.bytes, keyVersion: sealed.keyVersion,
                                   description: input.description ?? existing?.description, allowedPattern: pattern, tier: tier,
                                   dataType: "text", labels: [], modifiedAt: tenant.clock.now(), modifiedBy: principal, tags: tags)
            guard try await store.write(conn, account: account, row, isNew: existing == nil) else {
                throw APIError("ParameterMaxVersionLimitExceeded", "Parameter \(t.name) has \(ParameterRules.maxVersions) versions and its oldest has a label: remove the label to add versions.")
            }
            if existing != nil { try await ValueChange.announce(conn, tenant, kind: "parameter", name: t.name) }
            return SSM.PutParameterResult(version: version, tier: tier)
        }
    }

    /// The version a target selects, as GetParameter answers it (and as a task's secret reads it, decrypted).
    public func get(_ t: Target, decrypt: Bool) async throws -> SSM.Parameter {
        try await tenant.database.withConnection { conn in
            try await parameter(conn, try await read(conn, t), selector: t.selector, decrypt: decrypt)
        }
    }

    /// Each name is found or listed as invalid (a name the door could not parse has no target).
    public func getMany(_ targets: [(String, Target?)], decrypt: Bool) async throws -> SSM.GetParametersResult {
        try await tenant.database.withConnection { conn in
            var found: [SSM.Parameter] = []
            var invalid: [String] = []
            for (name, t) in targets {
                guard let t else { invalid.append(name); continue }
                do {
                    found.append(try await parameter(conn, try await read(conn, t), selector: t.selector, decrypt: decrypt))
                } catch let error as APIError where ["ParameterNotFound", "ParameterVersionNotFound"].contains(error.code) {
                    invalid.append(name)
                }
            }
            return .init(parameters: found, invalidParameters: invalid)
        }
    }

    func subject(_ row: ParameterRow) -> ParameterFilter.Subject {
        .init(name: row.name, type: row.type, tier: row.tier, dataType: row.dataType, labels: row.labels, tags: row.tags.dictionary)
    }

    /// Pages through the latest versions by name, keeping those `keep` accepts, until `limit` (plus one) are found.
    func scan(_ conn: PostgresConnection, prefix: String?, after: String?, limit: Int, keep: (ParameterRow) -> Bool) async throws
        -> (rows: [ParameterRow], next: String?)
    {
        var kept: [ParameterRow] = []
        var cursor = after
        while kept.count <= limit {
            let batch = try await store.list(conn, account: account, prefix: prefix, after: cursor, limit: 200)
            kept += batch.filter(keep)
            guard batch.count == 200, let last = batch.last else { break }
            cursor = last.name
        }
        let page = Array(kept.prefix(limit))
        return (page, kept.count > limit ? page.last.map { PageToken.encode([$0.name]) } : nil)
    }

    public func byPath(_ path: String, recursive: Bool, filters: [ParameterFilter], after: String?, limit: Int, decrypt: Bool) async throws
        -> SSM.GetParametersByPathResult
    {
        let base = path.hasSuffix("/") ? path : path + "/"
        return try await tenant.database.withConnection { conn in
            let (rows, next) = try await scan(conn, prefix: base, after: after, limit: limit) { row in
                ParameterRules.under(row.name, path: path, recursive: recursive) && filters.allSatisfy { $0.matches(subject(row)) }
            }
            var out: [SSM.Parameter] = []
            for row in rows { out.append(try await parameter(conn, row, selector: nil, decrypt: decrypt)) }
            return .init(parameters: out, nextToken: next)
        }
    }

    public func describe(filters: [ParameterFilter], after: String?, limit: Int) async throws -> SSM.DescribeParametersResult {
        try await tenant.database.withConnection { conn in
            let (rows, next) = try await scan(conn, prefix: nil, after: after, limit: limit) { row in
                filters.allSatisfy { $0.matches(subject(row)) }
            }
            return .init(parameters: rows.map { row in
                SSM.ParameterMetadata(name: row.name, arn: arn(row.name),
                                      type: row.type, keyId: row.type == "SecureString" ? ParameterRules.defaultKeyId : nil,
                                      lastModifiedDate: row.modifiedAt, lastModifiedUser: row.modifiedBy, description: row.description,
                                      allowedPattern: row.allowedPattern, version: row.version, tier: row.tier, dataType: row.dataType)
            }, nextToken: next)
        }
    }

    public func history(_ name: String, after: Int, limit: Int, decrypt: Bool) async throws -> SSM.GetParameterHistoryResult {
        try await tenant.database.withConnection { conn in
            let rows = try await store.history(conn, account: account, name: name, after: after, limit: limit + 1)
            guard !rows.isEmpty || after > 0 else { throw Self.notFound(name) }
            var out: [SSM.ParameterHistory] = []
            for row in rows.prefix(limit) {
                out.append(SSM.ParameterHistory(
                    name: row.name, type: row.type, keyId: row.type == "SecureString" ? ParameterRules.defaultKeyId : nil,
                    lastModifiedDate: row.modifiedAt, lastModifiedUser: row.modifiedBy, description: row.description,
                    value: try await shown(conn, row, decrypt: decrypt), allowedPattern: row.allowedPattern,
                    version: row.version, labels: row.labels, tier: row.tier, dataType: row.dataType))
            }
            return .init(parameters: out, nextToken: rows.count > limit ? out.last.map { PageToken.encode([String($0.version)]) } : nil)
        }
    }

    /// Puts the valid labels on a version (the latest if none is named); the invalid ones are only reported back.
    public func label(_ name: String, version: Int?, valid: [String], invalid: [String]) async throws -> SSM.LabelParameterVersionResult {
        try await tenant.database.transaction { conn in
            guard let latest = try await store.latest(conn, account: account, name: name, forUpdate: true) else { throw Self.notFound(name) }
            let version = version ?? latest.version
            guard let row = try await store.selected(conn, account: account, name: name, version: version, label: nil) else {
                throw APIError("ParameterVersionNotFound", "Systems Manager could not find version \(version) of \(name).", restStatus: 404)
            }
            guard Set(row.labels + valid).count <= ParameterRules.maxLabelsPerVersion else {
                throw APIError("ParameterVersionLabelLimitExceeded", "A parameter version can have at most \(ParameterRules.maxLabelsPerVersion) labels.")
            }
            if !valid.isEmpty {
                try await store.label(conn, account: account, name: name, version: version, labels: valid)
                try await ValueChange.announce(conn, tenant, kind: "parameter", name: name)
            }
            return .init(invalidLabels: invalid, parameterVersion: version)
        }
    }

    public func unlabel(_ name: String, version: Int, labels: [String]) async throws -> SSM.UnlabelParameterVersionResult {
        try await tenant.database.transaction { conn in
            guard try await store.selected(conn, account: account, name: name, version: version, label: nil) != nil else {
                guard try await store.latest(conn, account: account, name: name) != nil else { throw Self.notFound(name) }
                throw APIError("ParameterVersionNotFound", "Systems Manager could not find version \(version) of \(name).", restStatus: 404)
            }
            let removed = try await store.unlabel(conn, account: account, name: name, version: version, labels: labels)
            if !removed.isEmpty { try await ValueChange.announce(conn, tenant, kind: "parameter", name: name) }
            return .init(removedLabels: removed, invalidLabels: labels.filter { !removed.contains($0) })
        }
    }

    public func delete(_ name: String) async throws {
        try await tenant.database.transaction { conn in
            guard try await store.delete(conn, account: account, name: name) else { throw Self.notFound(name) }
        }
    }

    /// Deletes what exists in one transaction; names without a target or a parameter are listed as invalid.
    public func deleteMany(_ targets: [(String, Target?)]) async throws -> SSM.DeleteParametersResult {
        try await tenant.database.transaction { conn in
            var deleted: [String] = []
            var invalid: [String] = []
            for (name, t) in targets {
                if let t, try await store.delete(conn, account: account, name: t.name) { deleted.append(name) } else { invalid.append(name) }
            }
            return .init(deletedParameters: deleted, invalidParameters: invalid)
        }
    }

    /// Replaces the latest version's tags with what `change` makes of them, under the row lock.
    public func changeTags(_ name: String, _ change: ([Tag]) throws -> [Tag]) async throws {
        try await tenant.database.transaction { conn in
            guard let row = try await store.latest(conn, account: account, name: name, forUpdate: true) else {
                throw APIError("InvalidResourceId", "The resource ID \(name) is not valid: no such parameter.")
            }
            _ = try await store.setTags(conn, account: account, name: name, try change(row.tags))
        }
    }
}
