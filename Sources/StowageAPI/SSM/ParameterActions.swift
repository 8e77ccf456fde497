import Foundation
import PostgresNIO
import StowageIAM
import StowageModel
import StowageStore

/// SSM Parameter Store (`AmazonSSM.<Action>`): parameters with versions, labels and tags; SecureString values
/// sealed under the tenant's data key and shown only to callers that ask for decryption.
enum ParameterActions {
    static func notFound(_ name: String) -> APIError { APIError("ParameterNotFound", "Parameter \(name) not found.", restStatus: 404) }
    static func validation(_ message: String) -> APIError { ParameterRules.validation(message) }

    /// A parameter a request names (by name, selector or ARN): its name, the ARN authorization sees, its selector.
    struct Target {
        var name: String
        var arn: String
        var selector: ParameterRules.Selector?
    }

    static func target(_ text: String, _ c: Caller, selectors: Bool = true) throws(APIError) -> Target {
        let ref = ParameterRules.reference(text)
        if ref.selector != nil, !selectors { throw validation("Parameter name \(text) must not carry a version or label selector here.") }
        let account = ref.account ?? c.account
        try ParameterRules.checkName(ref.name, arnPrefix: ParameterRules.arn(c.backend.scope, account: account, name: ""))
        return Target(name: ref.name, arn: ParameterRules.arn(c.backend.scope, account: account, name: ref.name), selector: ref.selector)
    }

    /// Reads the version a target selects.
    static func read(_ conn: PostgresConnection, _ c: Caller, _ t: Target) async throws -> ParameterRow {
        let store = c.backend.parameters
        switch t.selector {
        case nil:
            guard let row = try await store.latest(conn, account: c.account, name: t.name) else { throw notFound(t.name) }
            return row
        case .version(let v)?:
            guard let row = try await store.selected(conn, account: c.account, name: t.name, version: v, label: nil) else {
                guard try await store.latest(conn, account: c.account, name: t.name) != nil else { throw notFound(t.name) }
                throw APIError("ParameterVersionNotFound", "Systems Manager could not find version \(v) of \(t.name).", restStatus: 404)
            }
            return row
        case .label(let l)?:
            guard let row = try await store.selected(conn, account: c.account, name: t.name, version: nil, label: l) else {
                guard try await store.latest(conn, account: c.account, name: t.name) != nil else { throw notFound(t.name) }
                throw APIError("ParameterVersionNotFound", "Systems Manager could not find label \(l) on \(t.name).", restStatus: 404)
            }
            return row
        }
    }

    /// The value as shown: SecureStrings only when decryption was asked for, else their ciphertext form.
    static func shown(_ conn: PostgresConnection, _ c: Caller, _ row: ParameterRow, decrypt: Bool) async throws -> String {
        let sealed = SealedValue(keyVersion: row.keyVersion, bytes: row.sealed)
        if row.type == "SecureString", !decrypt { return Vault.ciphertextForm(sealed) }
        let plain = try await c.backend.vault.open(conn, account: c.account, sealed,
                                                   context: Vault.parameterContext(name: row.name, version: row.version))
        return String(decoding: plain, as: UTF8.self)
    }

    static func parameter(_ conn: PostgresConnection, _ c: Caller, _ row: ParameterRow, selector: ParameterRules.Selector?, decrypt: Bool)
        async throws -> SSM.Parameter
    {
        SSM.Parameter(name: row.name, type: row.type, value: try await shown(conn, c, row, decrypt: decrypt), version: row.version,
                      selector: selector?.text, lastModifiedDate: row.modifiedAt,
                      arn: ParameterRules.arn(c.backend.scope, account: c.account, name: row.name), dataType: row.dataType)
    }

    static func checkTags(_ tags: [Tag]) throws(APIError) {
        guard tags.count <= 50 else { throw APIError("TooManyTagsError", "A parameter can have at most 50 tags.") }
        for tag in tags {
            guard let key = tag.key, (1...128).contains(key.count), (tag.value ?? "").count <= 256 else {
                throw validation("Tag keys must be 1 to 128 characters and values at most 256.")
            }
            guard !key.lowercased().hasPrefix("aws:") else { throw validation("Tag keys may not begin with aws:.") }
        }
    }

    static func put(_ input: SSM.PutParameterRequest, _ c: Caller) async throws -> SSM.PutParameterResult {
        let t = try target(input.name, c, selectors: false)
        guard !input.name.hasPrefix("arn:") else { throw validation("PutParameter takes a parameter name, not an ARN.") }
        if let type = input.type, !ParameterRules.types.contains(type) {
            throw APIError("UnsupportedParameterType", "Type \(type) is not one of String, StringList, SecureString.")
        }
        if let policies = input.policies, !policies.isEmpty, policies != "[]" {
            throw validation("Policies is refused: parameter policies (expiration, notifications) are not supported by Stowage.")
        }
        if let dataType = input.dataType, dataType != "text" {
            throw validation("DataType \(dataType) is refused: only text is supported (aws:ec2:image and aws:ssm:integration validate against AWS services).")
        }
        if let keyId = input.keyId {
            guard input.type == "SecureString" || input.type == nil else { throw validation("KeyId is only for SecureString parameters.") }
            guard keyId == ParameterRules.defaultKeyId else {
                throw APIError("InvalidKeyId", "KeyId \(keyId) is refused: Stowage seals SecureStrings under its own per-tenant key; give \(ParameterRules.defaultKeyId) or omit KeyId.")
            }
        }
        guard !input.value.isEmpty else { throw validation("Value must not be empty.") }
        if let d = input.description, d.count > 1024 { throw validation("Description may be at most 1024 characters.") }
        let tags = input.tags ?? []
        try checkTags(tags)
        if input.overwrite == true, !tags.isEmpty {
            throw validation("Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.")
        }
        try await c.authorize([t.arn], requestTags: input.tags)
        let checked = try await checkPattern(input, t, c)
        return try await c.backend.database.transaction { conn in
            let existing = try await c.backend.parameters.latest(conn, account: c.account, name: t.name, forUpdate: true)
            if existing != nil, input.overwrite != true { throw alreadyExists }
            guard let type = input.type ?? existing?.type else { throw validation("Type is required to create a parameter.") }
            let tier = try ParameterRules.tier(input.tier, value: input.value, current: existing?.tier)
            let pattern = input.allowedPattern ?? existing?.allowedPattern
            guard pattern == checked else {
                throw APIError("TooManyUpdates", "The AllowedPattern of parameter \(t.name) changed while the value was checked against it: try again.")
            }
            let version = (existing?.version ?? 0) + 1
            let sealed = try await c.backend.vault.seal(conn, account: c.account, Data(input.value.utf8),
                                                        context: Vault.parameterContext(name: t.name, version: version))
            let row = ParameterRow(name: t.name, version: version, type: type, sealed: sealed.bytes, keyVersion: sealed.keyVersion,
                                   description: input.description ?? existing?.description, allowedPattern: pattern, tier: tier,
                                   dataType: "text", labels: [], modifiedAt: c.backend.clock.now(), modifiedBy: c.principal.arn, tags: tags)
            guard try await c.backend.parameters.write(conn, account: c.account, row, isNew: existing == nil) else {
                throw APIError("ParameterMaxVersionLimitExceeded", "Parameter \(t.name) has \(ParameterRules.maxVersions) versions and its oldest has a label: remove the label to add versions.")
            }
            if existing != nil { try await ValueChange.announce(conn, c, kind: "parameter", name: t.name) }
            return SSM.PutParameterResult(version: version, tier: tier)
        }
    }

    static let alreadyExists = APIError("ParameterAlreadyExists", "The parameter already exists. To overwrite this request value, set the overwrite option in the request to true.")

    /// Checks the value against the pattern it must match (the one given with it, else the stored one) before the
    /// put's transaction, on `PatternChecks`' threads: a check holds no pooled connection, no row lock and no thread
    /// of the API. Returns the pattern checked, which the transaction compares with the one it finds under the lock.
    static func checkPattern(_ input: SSM.PutParameterRequest, _ t: Target, _ c: Caller) async throws -> String? {
        var pattern = input.allowedPattern
        if pattern == nil {
            let stored = try await c.backend.database.withConnection { conn in
                try await c.backend.parameters.latest(conn, account: c.account, name: t.name)
            }
            if stored != nil, input.overwrite != true { throw alreadyExists }
            pattern = stored?.allowedPattern
        }
        guard let pattern else { return nil }
        let value = input.value
        try await PatternChecks.shared.run(account: c.account) { () throws(APIError) in try ParameterRules.checkPattern(pattern, value: value) }
        return pattern
    }

    static func get(_ input: SSM.GetParameterRequest, _ c: Caller) async throws -> SSM.GetParameterResult {
        let t = try target(input.name, c)
        try await c.authorize([t.arn])
        return try await c.backend.database.withConnection { conn in
            .init(parameter: try await parameter(conn, c, try await read(conn, c, t), selector: t.selector, decrypt: input.withDecryption ?? false))
        }
    }

    static func getMany(_ input: SSM.GetParametersRequest, _ c: Caller) async throws -> SSM.GetParametersResult {
        guard (1...10).contains(input.names.count) else { throw validation("Names must list 1 to 10 parameters.") }
        var targets: [(String, Target?)] = []
        for name in input.names {
            let t = try? target(name, c)
            targets.append((name, t))
        }
        try await c.authorize(targets.compactMap { $0.1?.arn })
        return try await c.backend.database.withConnection { conn in
            var found: [SSM.Parameter] = []
            var invalid: [String] = []
            for (name, t) in targets {
                guard let t else { invalid.append(name); continue }
                do {
                    found.append(try await parameter(conn, c, try await read(conn, c, t), selector: t.selector, decrypt: input.withDecryption ?? false))
                } catch let error as APIError where ["ParameterNotFound", "ParameterVersionNotFound"].contains(error.code) {
                    invalid.append(name)
                }
            }
            return .init(parameters: found, invalidParameters: invalid)
        }
    }

    static func subject(_ row: ParameterRow) -> ParameterFilter.Subject {
        .init(name: row.name, type: row.type, tier: row.tier, dataType: row.dataType, labels: row.labels, tags: row.tags.dictionary)
    }

    /// Pages through the latest versions by name, keeping those `keep` accepts, until `limit` (plus one) are found.
    static func scan(_ conn: PostgresConnection, _ c: Caller, prefix: String?, after: String?, limit: Int,
                     keep: (ParameterRow) -> Bool) async throws -> (rows: [ParameterRow], next: String?) {
        var kept: [ParameterRow] = []
        var cursor = after
        while kept.count <= limit {
            let batch = try await c.backend.parameters.list(conn, account: c.account, prefix: prefix, after: cursor, limit: 200)
            kept += batch.filter(keep)
            guard batch.count == 200, let last = batch.last else { break }
            cursor = last.name
        }
        let page = Array(kept.prefix(limit))
        return (page, kept.count > limit ? page.last.map { PageToken.encode([$0.name]) } : nil)
    }

    static func byPath(_ input: SSM.GetParametersByPathRequest, _ c: Caller) async throws -> SSM.GetParametersByPathResult {
        guard input.path.hasPrefix("/") else { throw validation("The parameter path must begin with a forward slash (/).") }
        if input.path != "/" { try ParameterRules.checkName(input.path, arnPrefix: "") }
        let limit = input.maxResults ?? 10
        guard (1...10).contains(limit) else { throw validation("MaxResults must be between 1 and 10.") }
        let filters = try ParameterFilter.parse(input.parameterFilters ?? [], byPath: true)
        let after = try PageToken.decode(input.nextToken)?.first
        let base = input.path.hasSuffix("/") ? input.path : input.path + "/"
        try await c.authorize([ParameterRules.arn(c.backend.scope, account: c.account, name: input.path)])
        return try await c.backend.database.withConnection { conn in
            let (rows, next) = try await scan(conn, c, prefix: base, after: after, limit: limit) { row in
                ParameterRules.under(row.name, path: input.path, recursive: input.recursive ?? false)
                    && filters.allSatisfy { $0.matches(subject(row)) }
            }
            var out: [SSM.Parameter] = []
            for row in rows { out.append(try await parameter(conn, c, row, selector: nil, decrypt: input.withDecryption ?? false)) }
            return .init(parameters: out, nextToken: next)
        }
    }

    static func describe(_ input: SSM.DescribeParametersRequest, _ c: Caller) async throws -> SSM.DescribeParametersResult {
        if input.shared == true { throw validation("Shared is refused: parameters shared from other accounts are not supported.") }
        let limit = input.maxResults ?? 50
        guard (1...50).contains(limit) else { throw validation("MaxResults must be between 1 and 50.") }
        let filters = try ParameterFilter.parse(input.parameterFilters ?? [], legacy: input.filters ?? [])
        let after = try PageToken.decode(input.nextToken)?.first
        try await c.authorize(["*"])
        return try await c.backend.database.withConnection { conn in
            let (rows, next) = try await scan(conn, c, prefix: nil, after: after, limit: limit) { row in
                filters.allSatisfy { $0.matches(subject(row)) }
            }
            return .init(parameters: rows.map { row in
                SSM.ParameterMetadata(name: row.name, arn: ParameterRules.arn(c.backend.scope, account: c.account, name: row.name),
                                      type: row.type, keyId: row.type == "SecureString" ? ParameterRules.defaultKeyId : nil,
                                      lastModifiedDate: row.modifiedAt, lastModifiedUser: row.modifiedBy, description: row.description,
                                      allowedPattern: row.allowedPattern, version: row.version, tier: row.tier, dataType: row.dataType)
            }, nextToken: next)
        }
    }

    static func history(_ input: SSM.GetParameterHistoryRequest, _ c: Caller) async throws -> SSM.GetParameterHistoryResult {
        let t = try target(input.name, c, selectors: false)
        let limit = input.maxResults ?? 50
        guard (1...50).contains(limit) else { throw validation("MaxResults must be between 1 and 50.") }
        let after = try PageToken.decode(input.nextToken)?.first.flatMap(Int.init) ?? 0
        try await c.authorize([t.arn])
        return try await c.backend.database.withConnection { conn in
            let rows = try await c.backend.parameters.history(conn, account: c.account, name: t.name, after: after, limit: limit + 1)
            guard !rows.isEmpty || after > 0 else { throw notFound(t.name) }
            var out: [SSM.ParameterHistory] = []
            for row in rows.prefix(limit) {
                out.append(SSM.ParameterHistory(
                    name: row.name, type: row.type, keyId: row.type == "SecureString" ? ParameterRules.defaultKeyId : nil,
                    lastModifiedDate: row.modifiedAt, lastModifiedUser: row.modifiedBy, description: row.description,
                    value: try await shown(conn, c, row, decrypt: input.withDecryption ?? false), allowedPattern: row.allowedPattern,
                    version: row.version, labels: row.labels, tier: row.tier, dataType: row.dataType))
            }
            return .init(parameters: out, nextToken: rows.count > limit ? out.last.map { PageToken.encode([String($0.version)]) } : nil)
        }
    }

    static func label(_ input: SSM.LabelParameterVersionRequest, _ c: Caller) async throws -> SSM.LabelParameterVersionResult {
        let t = try target(input.name, c, selectors: false)
        guard (1...10).contains(input.labels.count) else { throw validation("Labels must list 1 to 10 labels.") }
        let valid = input.labels.filter(ParameterRules.validLabel)
        let invalid = input.labels.filter { !ParameterRules.validLabel($0) }
        try await c.authorize([t.arn])
        return try await c.backend.database.transaction { conn in
            guard let latest = try await c.backend.parameters.latest(conn, account: c.account, name: t.name, forUpdate: true) else {
                throw notFound(t.name)
            }
            let version = input.parameterVersion ?? latest.version
            guard let row = try await c.backend.parameters.selected(conn, account: c.account, name: t.name, version: version, label: nil) else {
                throw APIError("ParameterVersionNotFound", "Systems Manager could not find version \(version) of \(t.name).", restStatus: 404)
            }
            guard Set(row.labels + valid).count <= ParameterRules.maxLabelsPerVersion else {
                throw APIError("ParameterVersionLabelLimitExceeded", "A parameter version can have at most \(ParameterRules.maxLabelsPerVersion) labels.")
            }
            if !valid.isEmpty {
                try await c.backend.parameters.label(conn, account: c.account, name: t.name, version: version, labels: valid)
                try await ValueChange.announce(conn, c, kind: "parameter", name: t.name)
            }
            return .init(invalidLabels: invalid, parameterVersion: version)
        }
    }

    static func unlabel(_ input: SSM.UnlabelParameterVersionRequest, _ c: Caller) async throws -> SSM.UnlabelParameterVersionResult {
        let t = try target(input.name, c, selectors: false)
        guard (1...10).contains(input.labels.count) else { throw validation("Labels must list 1 to 10 labels.") }
        try await c.authorize([t.arn])
        return try await c.backend.database.transaction { conn in
            guard try await c.backend.parameters.selected(conn, account: c.account, name: t.name, version: input.parameterVersion, label: nil) != nil
            else {
                guard try await c.backend.parameters.latest(conn, account: c.account, name: t.name) != nil else { throw notFound(t.name) }
                throw APIError("ParameterVersionNotFound", "Systems Manager could not find version \(input.parameterVersion) of \(t.name).", restStatus: 404)
            }
            let removed = try await c.backend.parameters.unlabel(conn, account: c.account, name: t.name, version: input.parameterVersion,
                                                                 labels: input.labels)
            if !removed.isEmpty { try await ValueChange.announce(conn, c, kind: "parameter", name: t.name) }
            return .init(removedLabels: removed, invalidLabels: input.labels.filter { !removed.contains($0) })
        }
    }

    static func delete(_ input: SSM.DeleteParameterRequest, _ c: Caller) async throws -> Empty {
        let t = try target(input.name, c, selectors: false)
        try await c.authorize([t.arn])
        try await c.backend.database.transaction { conn in
            guard try await c.backend.parameters.delete(conn, account: c.account, name: t.name) else { throw notFound(t.name) }
        }
        return Empty()
    }

    static func deleteMany(_ input: SSM.DeleteParametersRequest, _ c: Caller) async throws -> SSM.DeleteParametersResult {
        guard (1...10).contains(input.names.count) else { throw validation("Names must list 1 to 10 parameters.") }
        let targets = input.names.map { name in (name, try? target(name, c, selectors: false)) }
        try await c.authorize(targets.compactMap { $0.1?.arn })
        return try await c.backend.database.transaction { conn in
            var deleted: [String] = []
            var invalid: [String] = []
            for (name, t) in targets {
                if let t, try await c.backend.parameters.delete(conn, account: c.account, name: t.name) { deleted.append(name) } else { invalid.append(name) }
            }
            return .init(deletedParameters: deleted, invalidParameters: invalid)
        }
    }

    static func taggable(_ type: String, _ id: String, _ c: Caller) throws(APIError) -> Target {
        guard type == "Parameter" else {
            throw APIError("InvalidResourceType", "ResourceType \(type) is refused: Stowage tags only Parameter resources.")
        }
        do { return try target(id, c, selectors: false) } catch { throw APIError("InvalidResourceId", "The resource ID \(id) is not valid.") }
    }

    static func changeTags(_ c: Caller, _ t: Target, _ change: @escaping @Sendable ([Tag]) throws -> [Tag]) async throws {
        try await c.backend.database.transaction { conn in
            guard let row = try await c.backend.parameters.latest(conn, account: c.account, name: t.name, forUpdate: true) else {
                throw APIError("InvalidResourceId", "The resource ID \(t.name) is not valid: no such parameter.")
            }
            _ = try await c.backend.parameters.setTags(conn, account: c.account, name: t.name, try change(row.tags))
        }
    }

    static func addTags(_ input: SSM.AddTagsToResourceRequest, _ c: Caller) async throws -> Empty {
        let t = try taggable(input.resourceType, input.resourceId, c)
        try checkTags(input.tags)
        try await c.authorize([t.arn], requestTags: input.tags)
        try await changeTags(c, t) { old in
            var merged = old.dictionary
            for tag in input.tags { if let key = tag.key { merged[key] = tag.value ?? "" } }
            let tags = merged.sorted { $0.key < $1.key }.map { Tag(key: $0.key, value: $0.value) }
            try checkTags(tags)
            return tags
        }
        return Empty()
    }

    static func removeTags(_ input: SSM.RemoveTagsFromResourceRequest, _ c: Caller) async throws -> Empty {
        let t = try taggable(input.resourceType, input.resourceId, c)
        try await c.authorize([t.arn])
        try await changeTags(c, t) { old in old.filter { !input.tagKeys.contains($0.key ?? "") } }
        return Empty()
    }

    static func listTags(_ input: SSM.ListTagsForResourceRequest, _ c: Caller) async throws -> SSM.ListTagsForResourceResult {
        let t = try taggable(input.resourceType, input.resourceId, c)
        try await c.authorize([t.arn])
        let row = try await c.backend.database.withConnection { conn in
            try await c.backend.parameters.latest(conn, account: c.account, name: t.name)
        }
        guard let row else { throw APIError("InvalidResourceId", "The resource ID \(t.name) is not valid: no such parameter.") }
        return .init(tagList: row.tags)
    }
}

/// Tells the workers a parameter's or secret's value changed, in the writing transaction: services whose tasks
/// read it roll (`roll-on-value-change`). Writes in quick succession coalesce into one roll.
enum ValueChange {
    static func announce(_ conn: PostgresConnection, _ c: Caller, kind: String, name: String) async throws {
        try await JobQueue(logger: c.logger).enqueue(conn, account: c.account, kind: JobKind.rollOnValueChange, uniqueKey: "\(kind):\(name)",
                                                     payload: .object(["kind": .string(kind), "name": .string(name)]), delay: 1)
    }
}

/// The Parameter Store actions by name (`AmazonSSM.<Action>`).
public enum SSMOperations {
    public static let all: [Operation] = [
        Operation.json(.ssm, "PutParameter", .write, ParameterActions.put),
        Operation.json(.ssm, "GetParameter", .read, ParameterActions.get),
        Operation.json(.ssm, "GetParameters", .read, ParameterActions.getMany),
        Operation.json(.ssm, "GetParametersByPath", .read, ParameterActions.byPath),
        Operation.json(.ssm, "GetParameterHistory", .read, ParameterActions.history),
        Operation.json(.ssm, "DescribeParameters", .read, ParameterActions.describe),
        Operation.json(.ssm, "LabelParameterVersion", .write, ParameterActions.label),
        Operation.json(.ssm, "UnlabelParameterVersion", .write, ParameterActions.unlabel),
        Operation.json(.ssm, "DeleteParameter", .write, ParameterActions.delete),
        Operation.json(.ssm, "DeleteParameters", .write, ParameterActions.deleteMany),
        Operation.json(.ssm, "AddTagsToResource", .write, ParameterActions.addTags),
        Operation.json(.ssm, "RemoveTagsFromResource", .write, ParameterActions.removeTags),
        Operation.json(.ssm, "ListTagsForResource", .read, ParameterActions.listTags),
    ]
}
