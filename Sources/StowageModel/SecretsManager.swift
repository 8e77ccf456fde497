import Foundation

/// Secrets Manager shapes (botocore's `secretsmanager` model, JSON 1.1, `secretsmanager.<Action>`), PascalCase on
/// the wire through `ECSJSON.pascalEncoder()`/`pascalDecoder()`.
public enum SecretsManager {
    public struct CreateSecretRequest: Codable, Sendable {
        public var name: String
        public var clientRequestToken: String?
        public var description: String?
        public var kmsKeyId: String?
        public var secretBinary: Data?
        public var secretString: String?
        public var tags: [Tag]?
        public var addReplicaRegions: [JSONValue]?
        public var forceOverwriteReplicaSecret: Bool?
        public var type: String?
    }

    public struct SecretResponse: Codable, Sendable {
        public var arn: String
        public var name: String
        public var versionId: String?
        enum CodingKeys: String, CodingKey { case arn = "aRN", name, versionId }
        public init(arn: String, name: String, versionId: String?) { self.arn = arn; self.name = name; self.versionId = versionId }
    }

    public struct GetSecretValueRequest: Codable, Sendable {
        public var secretId: String
        public var versionId: String?
        public var versionStage: String?
        public init(secretId: String, versionId: String? = nil, versionStage: String? = nil) {
            self.secretId = secretId; self.versionId = versionId; self.versionStage = versionStage
        }
    }

    public struct GetSecretValueResponse: Codable, Sendable {
        public var arn: String
        public var name: String
        public var versionId: String
        public var secretBinary: Data?
        public var secretString: String?
        public var versionStages: [String]
        public var createdDate: Date
        enum CodingKeys: String, CodingKey { case arn = "aRN", name, versionId, secretBinary, secretString, versionStages, createdDate }
        public init(arn: String, name: String, versionId: String, secretBinary: Data?, secretString: String?, versionStages: [String],
                    createdDate: Date) {
            self.arn = arn; self.name = name; self.versionId = versionId; self.secretBinary = secretBinary
            self.secretString = secretString; self.versionStages = versionStages; self.createdDate = createdDate
        }
    }

    public struct PutSecretValueRequest: Codable, Sendable {
        public var secretId: String
        public var clientRequestToken: String?
        public var secretBinary: Data?
        public var secretString: String?
        public var versionStages: [String]?
        public var rotationToken: String?
    }

    public struct PutSecretValueResponse: Codable, Sendable {
        public var arn: String
        public var name: String
        public var versionId: String
        public var versionStages: [String]
        enum CodingKeys: String, CodingKey { case arn = "aRN", name, versionId, versionStages }
        public init(arn: String, name: String, versionId: String, versionStages: [String]) {
            self.arn = arn; self.name = name; self.versionId = versionId; self.versionStages = versionStages
        }
    }

    public struct UpdateSecretRequest: Codable, Sendable {
        public var secretId: String
        public var clientRequestToken: String?
        public var description: String?
        public var kmsKeyId: String?
        public var secretBinary: Data?
        public var secretString: String?
        public var type: String?
    }

    public struct SecretIdRequest: Codable, Sendable {
        public var secretId: String
        public init(secretId: String) { self.secretId = secretId }
    }

    public struct DescribeSecretResponse: Codable, Sendable {
        public var arn: String
        public var name: String
        public var description: String?
        public var lastChangedDate: Date
        public var lastAccessedDate: Date?
        public var deletedDate: Date?
        public var tags: [Tag]
        public var versionIdsToStages: [String: [String]]
        public var createdDate: Date
        enum CodingKeys: String, CodingKey {
            case arn = "aRN", name, description, lastChangedDate, lastAccessedDate, deletedDate, tags, versionIdsToStages, createdDate
        }
        public init(arn: String, name: String, description: String?, lastChangedDate: Date, lastAccessedDate: Date?, deletedDate: Date?,
                    tags: [Tag], versionIdsToStages: [String: [String]], createdDate: Date) {
            self.arn = arn; self.name = name; self.description = description; self.lastChangedDate = lastChangedDate
            self.lastAccessedDate = lastAccessedDate; self.deletedDate = deletedDate; self.tags = tags
            self.versionIdsToStages = versionIdsToStages; self.createdDate = createdDate
        }
    }

    public struct Filter: Codable, Sendable {
        public var key: String?
        public var values: [String]?
        public init(key: String?, values: [String]?) { self.key = key; self.values = values }
    }

    public struct ListSecretsRequest: Codable, Sendable {
        public var includePlannedDeletion: Bool?
        public var maxResults: Int?
        public var nextToken: String?
        public var filters: [Filter]?
        public var sortOrder: String?
        public var sortBy: String?
    }

    public struct SecretListEntry: Codable, Sendable {
        public var arn: String
        public var name: String
        public var description: String?
        public var lastChangedDate: Date
        public var lastAccessedDate: Date?
        public var deletedDate: Date?
        public var tags: [Tag]
        public var secretVersionsToStages: [String: [String]]
        public var createdDate: Date
        enum CodingKeys: String, CodingKey {
            case arn = "aRN", name, description, lastChangedDate, lastAccessedDate, deletedDate, tags, secretVersionsToStages, createdDate
        }
        public init(_ d: DescribeSecretResponse) {
            arn = d.arn; name = d.name; description = d.description; lastChangedDate = d.lastChangedDate
            lastAccessedDate = d.lastAccessedDate; deletedDate = d.deletedDate; tags = d.tags
            secretVersionsToStages = d.versionIdsToStages; createdDate = d.createdDate
        }
    }

    public struct ListSecretsResponse: Codable, Sendable {
        public var secretList: [SecretListEntry]
        public var nextToken: String?
        public init(secretList: [SecretListEntry], nextToken: String?) { self.secretList = secretList; self.nextToken = nextToken }
    }

    public struct DeleteSecretRequest: Codable, Sendable {
        public var secretId: String
        public var recoveryWindowInDays: Int?
        public var forceDeleteWithoutRecovery: Bool?
        public init(secretId: String, recoveryWindowInDays: Int?, forceDeleteWithoutRecovery: Bool?) {
            self.secretId = secretId; self.recoveryWindowInDays = recoveryWindowInDays; self.forceDeleteWithoutRecovery = forceDeleteWithoutRecovery
        }
    }

    public struct DeleteSecretResponse: Codable, Sendable {
        public var arn: String
        public var name: String
        public var deletionDate: Date
        enum CodingKeys: String, CodingKey { case arn = "aRN", name, deletionDate }
        public init(arn: String, name: String, deletionDate: Date) { self.arn = arn; self.name = name; self.deletionDate = deletionDate }
    }

    public struct UpdateSecretVersionStageRequest: Codable, Sendable {
        public var secretId: String
        public var versionStage: String
        public var removeFromVersionId: String?
        public var moveToVersionId: String?
    }

    public struct ListSecretVersionIdsRequest: Codable, Sendable {
        public var secretId: String
        public var maxResults: Int?
        public var nextToken: String?
        public var includeDeprecated: Bool?
    }

    public struct SecretVersionsListEntry: Codable, Sendable {
        public var versionId: String
        public var versionStages: [String]
        public var lastAccessedDate: Date?
        public var createdDate: Date
        public init(versionId: String, versionStages: [String], lastAccessedDate: Date?, createdDate: Date) {
            self.versionId = versionId; self.versionStages = versionStages; self.lastAccessedDate = lastAccessedDate; self.createdDate = createdDate
        }
    }

    public struct ListSecretVersionIdsResponse: Codable, Sendable {
        public var versions: [SecretVersionsListEntry]
        public var nextToken: String?
        public var arn: String
        public var name: String
        enum CodingKeys: String, CodingKey { case versions, nextToken, arn = "aRN", name }
        public init(versions: [SecretVersionsListEntry], nextToken: String?, arn: String, name: String) {
            self.versions = versions; self.nextToken = nextToken; self.arn = arn; self.name = name
        }
    }

    public struct TagResourceRequest: Codable, Sendable {
        public var secretId: String
        public var tags: [Tag]
    }

    public struct UntagResourceRequest: Codable, Sendable {
        public var secretId: String
        public var tagKeys: [String]
    }
}

/// Secrets Manager's rules: names, values, ARNs with their random suffix, and how staging labels move.
public enum SecretRules {
    public static let current = "AWSCURRENT"
    public static let previous = "AWSPREVIOUS"
    public static let pending = "AWSPENDING"
    public static let defaultKeyId = "alias/aws/secretsmanager"
    public static let maxValueBytes = 65_536
    /// Versions without a staging label kept beyond the labelled ones (AWS keeps about 100).
    public static let maxVersions = 100

    public static func invalidParameter(_ message: String) -> APIError { APIError("InvalidParameterException", message) }
    public static func invalidRequest(_ message: String) -> APIError { APIError("InvalidRequestException", message) }
    public static func notFound(_ message: String = "Secrets Manager can't find the specified secret.") -> APIError {
        APIError("ResourceNotFoundException", message, restStatus: 404)
    }

    public static func checkName(_ name: String) throws(APIError) {
        guard (1...512).contains(name.count) else { throw invalidParameter("Name must be 1 to 512 characters.") }
        guard name.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "/_+=.@-".unicodeScalars.contains($0)) })
        else { throw invalidParameter("Name can contain only ASCII letters, numbers and the characters /_+=.@-") }
    }

    public static func checkToken(_ token: String) throws(APIError) {
        guard (32...64).contains(token.count) else { throw invalidParameter("ClientRequestToken must be 32 to 64 characters.") }
    }

    /// The value given as exactly one of SecretString and SecretBinary (or none): (bytes, isBinary).
    public static func value(string: String?, binary: Data?, required: Bool) throws(APIError) -> (Data, Bool)? {
        switch (string, binary) {
        case (let s?, nil):
            guard s.utf8.count <= maxValueBytes else { throw invalidParameter("SecretString may be at most \(maxValueBytes) bytes.") }
            return (Data(s.utf8), false)
        case (nil, let b?):
            guard b.count <= maxValueBytes else { throw invalidParameter("SecretBinary may be at most \(maxValueBytes) bytes.") }
            return (b, true)
        case (nil, nil):
            if required { throw invalidParameter("You must provide either SecretString or SecretBinary.") }
            return nil
        case (_?, _?):
            throw invalidParameter("You can't specify both SecretString and SecretBinary in the same request.")
        }
    }

    /// A random 6-character ARN suffix, as AWS adds.
    public static func suffix() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        return String((0..<6).map { _ in alphabet.randomElement() ?? "a" })
    }

    public static func arn(_ scope: ARNScope, account: String, name: String, suffix: String) -> String {
        "arn:\(scope.partition):secretsmanager:\(scope.region):\(account):secret:\(name)-\(suffix)"
    }

    /// How a SecretId names a secret: by name, by full ARN (name and suffix), or by partial ARN (name only).
    public enum Reference: Sendable, Equatable {
        case name(String)
        case arn(account: String, name: String, suffix: String?)
    }

    public static func reference(_ id: String) -> Reference {
        guard id.hasPrefix("arn:"), let arn = ARN(id), arn.service == "secretsmanager", arn.resource.hasPrefix("secret:") else { return .name(id) }
        let full = String(arn.resource.dropFirst("secret:".count))
        // A full ARN ends in -XXXXXX; a partial one (the name alone) may not.
        if let dash = full.lastIndex(of: "-"), full.distance(from: dash, to: full.endIndex) == 7 {
            return .arn(account: arn.account, name: String(full[..<dash]), suffix: String(full[full.index(after: dash)...]))
        }
        return .arn(account: arn.account, name: full, suffix: nil)
    }

    /// Staging labels after a new version takes `stages` (default AWSCURRENT): each label leaves its old holder;
    /// the version losing AWSCURRENT takes AWSPREVIOUS, as Secrets Manager does.
    public static func afterPut(_ versions: [String: Set<String>], newVersion: String, stages: Set<String>) -> [String: Set<String>] {
        var out = versions
        out[newVersion, default: []].formUnion(stages)
        for stage in stages { move(&out, stage: stage, to: newVersion) }
        return out
    }

    /// Moves one label to `to` (nil: only removes it from `from`); AWSCURRENT's old holder takes AWSPREVIOUS.
    public static func afterStageUpdate(_ versions: [String: Set<String>], stage: String, from: String?, to: String?) throws(APIError)
        -> [String: Set<String>]
    {
        let holder = versions.first { $0.value.contains(stage) }?.key
        if let to {
            guard versions[to] != nil else { throw notFound("Secrets Manager can't find the specified secret version: \(to).") }
            if let holder, holder != to, holder != from {
                throw invalidParameter("The parameter RemoveFromVersionId doesn't match the version that currently has the staging label \(stage): \(holder).")
            }
            var out = versions
            out[to, default: []].insert(stage)
            move(&out, stage: stage, to: to)
            return out
        }
        guard let from else { throw invalidParameter("Give RemoveFromVersionId, MoveToVersionId or both.") }
        guard stage != current else {
            throw invalidParameter("You can't remove the staging label AWSCURRENT from a version: move it to another version instead.")
        }
        guard holder == from else { throw invalidParameter("Version \(from) does not have the staging label \(stage).") }
        var out = versions
        out[from]?.remove(stage)
        return out
    }

    static func move(_ versions: inout [String: Set<String>], stage: String, to: String) {
        for (id, labels) in versions where id != to && labels.contains(stage) {
            versions[id]?.remove(stage)
            if stage == current {
                for (other, l) in versions where l.contains(previous) { versions[other]?.remove(previous) }
                versions[id]?.insert(previous)
            }
        }
    }

    /// An ECS `valueFrom` naming a secret: `arn:…:secret:name-AbCdEf[:json-key:version-stage:version-id]`.
    public struct ValueFrom: Sendable, Equatable {
        public var secretArn: String
        public var jsonKey: String?
        public var versionStage: String?
        public var versionId: String?
        public init(secretArn: String, jsonKey: String? = nil, versionStage: String? = nil, versionId: String? = nil) {
            self.secretArn = secretArn; self.jsonKey = jsonKey; self.versionStage = versionStage; self.versionId = versionId
        }
    }

    /// Parses an ECS secret reference; nil when it is not a Secrets Manager ARN.
    public static func valueFrom(_ text: String) -> ValueFrom? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 7, parts[0] == "arn", parts[2] == "secretsmanager", parts[5] == "secret" else { return nil }
        let arn = parts[0...6].joined(separator: ":")
        func part(_ i: Int) -> String? { parts.count > i && !parts[i].isEmpty ? parts[i] : nil }
        return ValueFrom(secretArn: arn, jsonKey: part(7), versionStage: part(8), versionId: part(9))
    }
}
