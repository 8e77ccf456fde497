import Foundation

public struct Tag: Codable, Sendable, Equatable, Hashable {
    public var key: String?
    public var value: String?
    public init(key: String, value: String) { self.key = key; self.value = value }
}

extension Array where Element == Tag {
    /// Key to value, as policy conditions read tags (aws:RequestTag/…, aws:ResourceTag/…); the last of a repeated key wins.
    public var dictionary: [String: String] {
        Dictionary(compactMap { t in t.key.map { ($0, t.value ?? "") } }, uniquingKeysWith: { _, b in b })
    }
}

public struct KeyValuePair: Codable, Sendable, Equatable, Hashable {
    public var name: String?
    public var value: String?
    public init(name: String?, value: String?) { self.name = name; self.value = value }
}

/// An entry of a describe call's `failures`: a name ECS could not resolve, and why.
public struct Failure: Codable, Sendable, Equatable {
    public var arn: String?
    public var reason: String?
    public var detail: String?
    public init(arn: String?, reason: String?, detail: String? = nil) {
        self.arn = arn; self.reason = reason; self.detail = detail
    }
}

public struct Attribute: Codable, Sendable, Equatable, Hashable {
    public var name: String
    public var value: String?
    public var targetType: String?
    public var targetId: String?
    public init(name: String, value: String? = nil, targetType: String? = nil, targetId: String? = nil) {
        self.name = name; self.value = value; self.targetType = targetType; self.targetId = targetId
    }
}

/// An empty JSON object, the answer of actions that return nothing.
public struct Empty: Codable, Sendable, Equatable { public init() {} }

public struct TagResourceRequest: Codable, Sendable {
    public var resourceArn: String
    public var tags: [Tag]
    public init(resourceArn: String, tags: [Tag]) { self.resourceArn = resourceArn; self.tags = tags }
}
public struct UntagResourceRequest: Codable, Sendable {
    public var resourceArn: String
    public var tagKeys: [String]
    public init(resourceArn: String, tagKeys: [String]) { self.resourceArn = resourceArn; self.tagKeys = tagKeys }
}
public struct ListTagsForResourceRequest: Codable, Sendable {
    public var resourceArn: String
    public init(resourceArn: String) { self.resourceArn = resourceArn }
}
public struct ListTagsForResourceResponse: Codable, Sendable {
    public var tags: [Tag]
    public init(tags: [Tag]) { self.tags = tags }
}
