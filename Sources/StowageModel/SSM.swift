import Foundation

/// Parameter Store shapes (botocore's `ssm` model, JSON 1.1, `AmazonSSM.<Action>`). Members are PascalCase on
/// the wire; `ECSJSON.pascalEncoder()`/`pascalDecoder()` map them to these camelCase properties.
public enum SSM {
    public struct PutParameterRequest: Codable, Sendable {
        public var name: String
        public var description: String?
        public var value: String
        public var type: String?
        public var keyId: String?
        public var overwrite: Bool?
        public var allowedPattern: String?
        public var tags: [Tag]?
        public var tier: String?
        public var policies: String?
        public var dataType: String?
    }

    public struct PutParameterResult: Codable, Sendable {
        public var version: Int
        public var tier: String
        public init(version: Int, tier: String) { self.version = version; self.tier = tier }
    }

    public struct GetParameterRequest: Codable, Sendable {
        public var name: String
        public var withDecryption: Bool?
    }

    public struct GetParameterResult: Codable, Sendable {
        public var parameter: Parameter
        public init(parameter: Parameter) { self.parameter = parameter }
    }

    public struct Parameter: Codable, Sendable, Equatable {
        public var name: String
        public var type: String
        public var value: String
        public var version: Int
        public var selector: String?
        public var lastModifiedDate: Date
        public var arn: String
        public var dataType: String
        enum CodingKeys: String, CodingKey {
            case name, type, value, version, selector, lastModifiedDate, arn = "aRN", dataType
        }
        public init(name: String, type: String, value: String, version: Int, selector: String?, lastModifiedDate: Date, arn: String,
                    dataType: String) {
            self.name = name; self.type = type; self.value = value; self.version = version; self.selector = selector
            self.lastModifiedDate = lastModifiedDate; self.arn = arn; self.dataType = dataType
        }
    }

    public struct GetParametersRequest: Codable, Sendable {
        public var names: [String]
        public var withDecryption: Bool?
    }

    public struct GetParametersResult: Codable, Sendable {
        public var parameters: [Parameter]
        public var invalidParameters: [String]
        public init(parameters: [Parameter], invalidParameters: [String]) { self.parameters = parameters; self.invalidParameters = invalidParameters }
    }

    public struct ParameterStringFilter: Codable, Sendable {
        public var key: String
        public var option: String?
        public var values: [String]?
    }

    public struct ParametersFilter: Codable, Sendable {
        public var key: String
        public var values: [String]
    }

    public struct GetParametersByPathRequest: Codable, Sendable {
        public var path: String
        public var recursive: Bool?
        public var parameterFilters: [ParameterStringFilter]?
        public var withDecryption: Bool?
        public var maxResults: Int?
        public var nextToken: String?
    }

    public struct GetParametersByPathResult: Codable, Sendable {
        public var parameters: [Parameter]
        public var nextToken: String?
        public init(parameters: [Parameter], nextToken: String?) { self.parameters = parameters; self.nextToken = nextToken }
    }

    public struct GetParameterHistoryRequest: Codable, Sendable {
        public var name: String
        public var withDecryption: Bool?
        public var maxResults: Int?
        public var nextToken: String?
    }

    public struct ParameterHistory: Codable, Sendable {
        public var name: String
        public var type: String
        public var keyId: String?
        public var lastModifiedDate: Date
        public var lastModifiedUser: String
        public var description: String?
        public var value: String
        public var allowedPattern: String?
        public var version: Int
        public var labels: [String]
        public var tier: String
        public var policies: [String]
        public var dataType: String
        public init(name: String, type: String, keyId: String?, lastModifiedDate: Date, lastModifiedUser: String, description: String?,
                    value: String, allowedPattern: String?, version: Int, labels: [String], tier: String, dataType: String) {
            self.name = name; self.type = type; self.keyId = keyId; self.lastModifiedDate = lastModifiedDate
            self.lastModifiedUser = lastModifiedUser; self.description = description; self.value = value
            self.allowedPattern = allowedPattern; self.version = version; self.labels = labels; self.tier = tier
            self.policies = []; self.dataType = dataType
        }
    }

    public struct GetParameterHistoryResult: Codable, Sendable {
        public var parameters: [ParameterHistory]
        public var nextToken: String?
        public init(parameters: [ParameterHistory], nextToken: String?) { self.parameters = parameters; self.nextToken = nextToken }
    }

    public struct LabelParameterVersionRequest: Codable, Sendable {
        public var name: String
        public var parameterVersion: Int?
        public var labels: [String]
    }

    public struct LabelParameterVersionResult: Codable, Sendable {
        public var invalidLabels: [String]
        public var parameterVersion: Int
        public init(invalidLabels: [String], parameterVersion: Int) { self.invalidLabels = invalidLabels; self.parameterVersion = parameterVersion }
    }

    public struct UnlabelParameterVersionRequest: Codable, Sendable {
        public var name: String
        public var parameterVersion: Int
        public var labels: [String]
    }

    public struct UnlabelParameterVersionResult: Codable, Sendable {
        public var removedLabels: [String]
        public var invalidLabels: [String]
        public init(removedLabels: [String], invalidLabels: [String]) { self.removedLabels = removedLabels; self.invalidLabels = invalidLabels }
    }

    public struct DeleteParameterRequest: Codable, Sendable {
        public var name: String
    }

    public struct DeleteParametersRequest: Codable, Sendable {
        public var names: [String]
    }

    public struct DeleteParametersResult: Codable, Sendable {
        public var deletedParameters: [String]
        public var invalidParameters: [String]
        public init(deletedParameters: [String], invalidParameters: [String]) {
            self.deletedParameters = deletedParameters; self.invalidParameters = invalidParameters
        }
    }

    public struct DescribeParametersRequest: Codable, Sendable {
        public var filters: [ParametersFilter]?
        public var parameterFilters: [ParameterStringFilter]?
        public var maxResults: Int?
        public var nextToken: String?
        public var shared: Bool?
    }

    public struct ParameterMetadata: Codable, Sendable {
        public var name: String
        public var arn: String
        public var type: String
        public var keyId: String?
        public var lastModifiedDate: Date
        public var lastModifiedUser: String
        public var description: String?
        public var allowedPattern: String?
        public var version: Int
        public var tier: String
        public var policies: [String]
        public var dataType: String
        enum CodingKeys: String, CodingKey {
            case name, arn = "aRN", type, keyId, lastModifiedDate, lastModifiedUser, description, allowedPattern, version, tier, policies, dataType
        }
        public init(name: String, arn: String, type: String, keyId: String?, lastModifiedDate: Date, lastModifiedUser: String,
                    description: String?, allowedPattern: String?, version: Int, tier: String, dataType: String) {
            self.name = name; self.arn = arn; self.type = type; self.keyId = keyId; self.lastModifiedDate = lastModifiedDate
            self.lastModifiedUser = lastModifiedUser; self.description = description; self.allowedPattern = allowedPattern
            self.version = version; self.tier = tier; self.policies = []; self.dataType = dataType
        }
    }

    public struct DescribeParametersResult: Codable, Sendable {
        public var parameters: [ParameterMetadata]
        public var nextToken: String?
        public init(parameters: [ParameterMetadata], nextToken: String?) { self.parameters = parameters; self.nextToken = nextToken }
    }

    public struct AddTagsToResourceRequest: Codable, Sendable {
        public var resourceType: String
        public var resourceId: String
        public var tags: [Tag]
    }

    public struct RemoveTagsFromResourceRequest: Codable, Sendable {
        public var resourceType: String
        public var resourceId: String
        public var tagKeys: [String]
    }

    public struct ListTagsForResourceRequest: Codable, Sendable {
        public var resourceType: String
        public var resourceId: String
    }

    public struct ListTagsForResourceResult: Codable, Sendable {
        public var tagList: [Tag]
        public init(tagList: [Tag]) { self.tagList = tagList }
    }
}
