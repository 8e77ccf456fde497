import Foundation
import StowageIAM
import StowageModel
import StowageStore
import StowageUseCases

/// SSM Parameter Store (`AmazonSSM.<Action>`): parameters with versions, labels and tags; SecureString values
/// sealed under the tenant's data key and shown only to callers that ask for decryption.
enum ParameterActions {
    static func validation(_ message: String) -> APIError { ParameterRules.validation(message) }

    typealias Target = Parameters.Target

    static func target(_ text: String, _ c: Caller, selectors: Bool = true) throws(APIError) -> Target {
        let ref = ParameterRules.reference(text)
        if ref.selector != nil, !selectors { throw validation("Parameter name \(text) must not carry a version or label selector here.") }
        let account = ref.account ?? c.account
        try ParameterRules.checkName(ref.name, arnPrefix: ParameterRules.arn(c.backend.scope, account: account, name: ""))
        return Target(name: ref.name, arn: ParameterRules.arn(c.backend.scope, account: account, name: ref.name), selector: ref.selector)
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
        return try await c.parameters.put(t, input, tags: tags, checked: checked, by: c.principal.arn)
    }

    /// Checks the value against the pattern it must match (the one given with it, else the stored one) before the
    /// put's transaction, on `PatternChecks`' threads: a check holds no pooled connection, no row lock and no thread
    /// of the API. Returns the pattern checked, which the transaction compares with the one it finds under the lock.
    static func checkPattern(_ input: SSM.PutParameterRequest, _ t: Target, _ c: Caller) async throws -> String? {
        var pattern = input.allowedPattern
        if pattern == nil {
            let stored = try await c.parameters.latest(t.name)
            if stored != nil, input.overwrite != true { throw Parameters.alreadyExists }
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
        return .init(parameter: try await c.parameters.get(t, decrypt: input.withDecryption ?? false))
    }

    static func getMany(_ input: SSM.GetParametersRequest, _ c: Caller) async throws -> SSM.GetParametersResult {
        guard (1...10).contains(input.names.count) else { throw validation("Names must list 1 to 10 parameters.") }
        var targets: [(String, Target?)] = []
        for name in input.names {
            let t = try? target(name, c)
            targets.append((name, t))
        }
        try await c.authorize(targets.compactMap { $0.1?.arn })
        return try await c.parameters.getMany(targets, decrypt: input.withDecryption ?? false)
    }

    static func byPath(_ input: SSM.GetParametersByPathRequest, _ c: Caller) async throws -> SSM.GetParametersByPathResult {
        guard input.path.hasPrefix("/") else { throw validation("The parameter path must begin with a forward slash (/).") }
        if input.path != "/" { try ParameterRules.checkName(input.path, arnPrefix: "") }
        let limit = input.maxResults ?? 10
        guard (1...10).contains(limit) else { throw validation("MaxResults must be between 1 and 10.") }
        let filters = try ParameterFilter.parse(input.parameterFilters ?? [], byPath: true)
        let after = try PageToken.decode(input.nextToken)?.first
        try await c.authorize([ParameterRules.arn(c.backend.scope, account: c.account, name: input.path)])
        return try await c.parameters.byPath(input.path, recursive: input.recursive ?? false, filters: filters, after: after, limit: limit,
                                             decrypt: input.withDecryption ?? false)
    }

    static func describe(_ input: SSM.DescribeParametersRequest, _ c: Caller) async throws -> SSM.DescribeParametersResult {
        if input.shared == true { throw validation("Shared is refused: parameters shared from other accounts are not supported.") }
        let limit = input.maxResults ?? 50
        guard (1...50).contains(limit) else { throw validation("MaxResults must be between 1 and 50.") }
        let filters = try ParameterFilter.parse(input.parameterFilters ?? [], legacy: input.filters ?? [])
        let after = try PageToken.decode(input.nextToken)?.first
        try await c.authorize(["*"])
        return try await c.parameters.describe(filters: filters, after: after, limit: limit)
    }

    static func history(_ input: SSM.GetParameterHistoryRequest, _ c: Caller) async throws -> SSM.GetParameterHistoryResult {
        let t = try target(input.name, c, selectors: false)
        let limit = input.maxResults ?? 50
        guard (1...50).contains(limit) else { throw validation("MaxResults must be between 1 and 50.") }
        let after = try PageToken.decode(input.nextToken)?.first.flatMap(Int.init) ?? 0
        try await c.authorize([t.arn])
        return try await c.parameters.history(t.name, after: after, limit: limit, decrypt: input.withDecryption ?? false)
    }

    static func label(_ input: SSM.LabelParameterVersionRequest, _ c: Caller) async throws -> SSM.LabelParameterVersionResult {
        let t = try target(input.name, c, selectors: false)
        guard (1...10).contains(input.labels.count) else { throw validation("Labels must list 1 to 10 labels.") }
        let valid = input.labels.filter(ParameterRules.validLabel)
        let invalid = input.labels.filter { !ParameterRules.validLabel($0) }
        try await c.authorize([t.arn])
        return try await c.parameters.label(t.name, version: input.parameterVersion, valid: valid, invalid: invalid)
    }

    static func unlabel(_ input: SSM.UnlabelParameterVersionRequest, _ c: Caller) async throws -> SSM.UnlabelParameterVersionResult {
        let t = try target(input.name, c, selectors: false)
        guard (1...10).contains(input.labels.count) else { throw validation("Labels must list 1 to 10 labels.") }
        try await c.authorize([t.arn])
        return try await c.parameters.unlabel(t.name, version: input.parameterVersion, labels: input.labels)
    }

    static func delete(_ input: SSM.DeleteParameterRequest, _ c: Caller) async throws -> Empty {
        let t = try target(input.name, c, selectors: false)
        try await c.authorize([t.arn])
        try await c.parameters.delete(t.name)
        return Empty()
    }

    static func deleteMany(_ input: SSM.DeleteParametersRequest, _ c: Caller) async throws -> SSM.DeleteParametersResult {
        guard (1...10).contains(input.names.count) else { throw validation("Names must list 1 to 10 parameters.") }
        let targets = input.names.map { name in (name, try? target(name, c, selectors: false)) }
        try await c.authorize(targets.compactMap { $0.1?.arn })
        return try await c.parameters.deleteMany(targets)
    }

    static func taggable(_ type: String, _ id: String, _ c: Caller) throws(APIError) -> Target {
        guard type == "Parameter" else {
            throw APIError("InvalidResourceType", "ResourceType \(type) is refused: Stowage tags only Parameter resources.")
        }
        do { return try target(id, c, selectors: false) } catch { throw APIError("InvalidResourceId", "The resource ID \(id) is not valid.") }
    }

    static func addTags(_ input: SSM.AddTagsToResourceRequest, _ c: Caller) async throws -> Empty {
        let t = try taggable(input.resourceType, input.resourceId, c)
        try checkTags(input.tags)
        try await c.authorize([t.arn], requestTags: input.tags)
        try await c.parameters.changeTags(t.name) { old in
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
        try await c.parameters.changeTags(t.name) { old in old.filter { !input.tagKeys.contains($0.key ?? "") } }
        return Empty()
    }

    static func listTags(_ input: SSM.ListTagsForResourceRequest, _ c: Caller) async throws -> SSM.ListTagsForResourceResult {
        let t = try taggable(input.resourceType, input.resourceId, c)
        try await c.authorize([t.arn])
        guard let row = try await c.parameters.latest(t.name) else {
            throw APIError("InvalidResourceId", "The resource ID \(t.name) is not valid: no such parameter.")
        }
        return .init(tagList: row.tags)
    }
}

extension Caller {
    /// Parameter Store's use cases, acting for this caller's account.
    var parameters: Parameters { Parameters(tenant: tenant, store: backend.parameters, vault: backend.vault) }
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
