import Foundation
import StowageModel

// The query protocol (IAM, STS, ELBv2) as Codable, so its handlers take typed inputs and return typed outputs like
// every JSON door's: form parameters (`Tags.member.1.Key=env`) decode into the input's members, and the output's
// members become the XML (or REST JSON) answer in declaration order. Member names are the Swift names with the first
// letter capitalised (`loadBalancerArn` ↔ `LoadBalancerArn`); a type spells an acronym (`DNSName`) in its CodingKeys.

/// Decodes form parameters into a `Decodable` input, remembering every parameter a member read: one that nothing
/// read is a member Stowage does not honour, refused by its name rather than accepted and ignored.
enum QueryDecoder {
    /// The deepest parameter name any modelled member has is under ten segments; the state below indexes every
    /// prefix of every name, which costs a name's length times its depth, so deeper or longer names are refused first.
    static let maxNameSegments = 16
    static let maxNameLength = 512

    static func decode<T: Decodable>(_ type: T.Type, from request: QueryRequest, errorCode: String) throws -> T {
        for name in request.params.keys where name.utf8.count > maxNameLength
            || name.utf8.lazy.filter({ $0 == UInt8(ascii: ".") }).count >= maxNameSegments {
            throw APIError(errorCode, "The parameter name \(name.prefix(64))… is longer or deeper than any member of \(request.action.prefix(64)); omit it.")
        }
        let state = QueryDecodingState(params: request.params, errorCode: errorCode)
        let value = try T(from: QueryNodeDecoder(state: state, path: []))
        if let unread = request.params.keys.filter({ !state.wasRead($0) }).sorted().first {
            let member = unread.replacingOccurrences(of: #"\.member\.\d+"#, with: "[]", options: .regularExpression)
            throw APIError(errorCode, "Stowage does not support the request member \(member) of \(request.action); omit it.")
        }
        return value
    }
}

/// What every container of one decoding shares: the parameters and those read so far.
final class QueryDecodingState {
    let params: [String: String]
    let errorCode: String
    var read: Set<String> = ["Action", "Version"]
    /// Members every parameter under which counts as read (`Refused`): one insertion each, where marking their
    /// parameters one by one scanned the whole form per member and made a list of them cost its length squared.
    var readUnder: Set<String> = []
    /// Every prefix of a parameter name (`A`, `A.member`, `A.member.1`), so presence is one lookup.
    let prefixes: Set<String>
    /// The prefixes that have parameters under them (`A`, `A.member` for `A.member.1`): one lookup rather than a scan
    /// of every prefix per empty member, which made a form of many empty members cost its size squared.
    let parents: Set<String>

    init(params: [String: String], errorCode: String) {
        self.params = params
        self.errorCode = errorCode
        var prefixes = Set<String>(), parents = Set<String>()
        for key in params.keys {
            var parts: [Substring] = []
            for part in key.split(separator: ".", omittingEmptySubsequences: false) {
                if !parts.isEmpty { parents.insert(parts.joined(separator: ".")) }
                parts.append(part)
                prefixes.insert(parts.joined(separator: "."))
            }
        }
        self.prefixes = prefixes
        self.parents = parents
    }

    /// Whether a member has a value: its own parameter or parameters under it. An empty parameter (`Names=`, how
    /// botocore sends an empty list) counts as read and absent.
    func present(_ name: String) -> Bool {
        if let value = params[name], value.isEmpty, !parents.contains(name) {
            read.insert(name)
            return false
        }
        return prefixes.contains(name)
    }

    func wasRead(_ key: String) -> Bool {
        if read.contains(key) { return true }
        guard !readUnder.isEmpty else { return false }
        var prefix: [Substring] = []
        for part in key.split(separator: ".", omittingEmptySubsequences: false) {
            prefix.append(part)
            if readUnder.contains(prefix.joined(separator: ".")) { return true }
        }
        return false
    }

    func text(_ name: String) throws -> String {
        guard let value = params[name], !value.isEmpty else { throw missing(name) }
        read.insert(name)
        return value
    }

    func missing(_ name: String) -> APIError {
        APIError(errorCode, "1 validation error detected: Value null at '\(name.prefix(1).lowercased() + name.dropFirst())' failed to satisfy constraint: Member must not be null")
    }
}

struct QueryNodeDecoder: Decoder {
    let state: QueryDecodingState
    let path: [String]
    var codingPath: [any CodingKey] { path.map(QueryKey.init) }
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    var name: String { path.joined(separator: ".") }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(QueryKeyedDecoding<Key>(decoder: self))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { QueryListDecoding(decoder: self) }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { QueryValueDecoding(decoder: self) }

    func child(_ key: String) -> QueryNodeDecoder { QueryNodeDecoder(state: state, path: path + [key]) }

    /// A scalar member: text, an integer, a boolean; anything else is a structure of its own.
    func scalar<T: Decodable>(_ type: T.Type) throws -> T {
        switch type {
        case is String.Type: return try cast(try state.text(name))
        case is Int.Type:
            let text = try state.text(name)
            guard let value = Int(text) else { throw APIError(state.errorCode, "\(name) must be an integer; got '\(text)'.") }
            return try cast(value)
        case is Double.Type:
            let text = try state.text(name)
            guard let value = Double(text), value.isFinite else { throw APIError(state.errorCode, "\(name) must be a number; got '\(text)'.") }
            return try cast(value)
        case is Bool.Type:
            let text = try state.text(name)
            switch text.lowercased() {
            case "true": return try cast(true)
            case "false": return try cast(false)
            default: throw APIError(state.errorCode, "\(name) must be true or false; got '\(text)'.")
            }
        default:
            return try T(from: self)
        }
    }

    private func cast<T, V>(_ value: V) throws -> T {
        guard let typed = value as? T else { throw APIError.server() }
        return typed
    }
}

struct QueryKey: CodingKey {
    var stringValue: String
    var intValue: Int? { Int(stringValue) }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { stringValue = String(intValue) }

    /// The wire spelling of a Swift member name.
    static func wire(_ key: some CodingKey) -> String { key.stringValue.prefix(1).uppercased() + key.stringValue.dropFirst() }
}

struct QueryKeyedDecoding<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: QueryNodeDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }
    var allKeys: [Key] {
        let prefix = decoder.name.isEmpty ? "" : decoder.name + "."
        let names = Set(decoder.state.params.keys.filter { $0.hasPrefix(prefix) }.compactMap {
            $0.dropFirst(prefix.count).split(separator: ".").first.map(String.init)
        })
        return names.compactMap { name in Key(stringValue: name.prefix(1).lowercased() + name.dropFirst()) ?? Key(stringValue: name) }
    }

    func child(_ key: Key) -> QueryNodeDecoder { decoder.child(QueryKey.wire(key)) }

    func contains(_ key: Key) -> Bool { decoder.state.present(child(key).name) }

    func decodeNil(forKey key: Key) throws -> Bool { !contains(key) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let node = child(key)
        guard decoder.state.present(node.name) else {
            // An absent list is an empty one, as botocore leaves empty lists out.
            if let empty = [Any]() as? T, T.self is any EmptyListDecodable.Type { return empty }
            throw decoder.state.missing(node.name)
        }
        return try node.scalar(type)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try child(key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { try child(key).unkeyedContainer() }

    func superDecoder() throws -> any Decoder { decoder }
    func superDecoder(forKey key: Key) throws -> any Decoder { child(key) }
}

/// Arrays decode absent as empty (the query protocol cannot tell an empty list from none).
protocol EmptyListDecodable {}
extension Array: EmptyListDecodable {}

/// `Name.member.1`, `Name.member.2`, … until the first index with nothing under it.
struct QueryListDecoding: UnkeyedDecodingContainer {
    let decoder: QueryNodeDecoder
    var currentIndex = 0
    var codingPath: [any CodingKey] { decoder.codingPath }
    /// Counted once: `isAtEnd` is asked before every element, and counting each time made a list cost its length
    /// squared (8,000 members took 23 s of a server thread).
    let count: Int?

    init(decoder: QueryNodeDecoder) {
        self.decoder = decoder
        var n = 0
        while decoder.state.prefixes.contains("\(decoder.name).member.\(n + 1)") { n += 1 }
        count = n
    }

    var element: QueryNodeDecoder { decoder.child("member").child(String(currentIndex + 1)) }
    var isAtEnd: Bool { currentIndex >= (count ?? 0) }

    mutating func decodeNil() throws -> Bool { false }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let value = try element.scalar(type)
        currentIndex += 1
        return value
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        defer { currentIndex += 1 }
        return try element.container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        defer { currentIndex += 1 }
        return try element.unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        defer { currentIndex += 1 }
        return element
    }
}

struct QueryValueDecoding: SingleValueDecodingContainer {
    let decoder: QueryNodeDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }
    func decodeNil() -> Bool { !decoder.state.present(decoder.name) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.scalar(type) }
}

/// Encodes an output into query-protocol fields: members in declaration order, lists as `member` elements, dates as
/// RFC 3339, booleans as `true`/`false`, absent optionals left out.
enum QueryValueEncoder {
    static func fields<T: Encodable>(_ value: T) throws -> [(String, QueryValue)] {
        let root = QueryEncodingNode()
        try value.encode(to: QueryNodeEncoder(node: root, path: []))
        guard case .object(let fields) = root.value else { return [] }
        return fields
    }
}

/// One value being written; a container fills it in place, so nested containers need no copying back.
final class QueryEncodingNode {
    enum Kind { case unset, text(String), object([(String, QueryEncodingNode)]), list([QueryEncodingNode]) }
    var kind: Kind = .unset

    var value: QueryValue {
        switch kind {
        case .unset: .object([])
        case .text(let text): .text(text)
        case .object(let fields): .object(fields.map { ($0.0, $0.1.value) })
        case .list(let items): .list(items.map(\.value))
        }
    }

    func field(_ name: String) -> QueryEncodingNode {
        let node = QueryEncodingNode()
        if case .object(var fields) = kind { fields.append((name, node)); kind = .object(fields) } else { kind = .object([(name, node)]) }
        return node
    }

    func item() -> QueryEncodingNode {
        let node = QueryEncodingNode()
        if case .list(var items) = kind { items.append(node); kind = .list(items) } else { kind = .list([node]) }
        return node
    }
}

struct QueryNodeEncoder: Encoder {
    let node: QueryEncodingNode
    let path: [String]
    var codingPath: [any CodingKey] { path.map(QueryKey.init) }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .unset = node.kind { node.kind = .object([]) }
        return KeyedEncodingContainer(QueryKeyedEncoding<Key>(encoder: self))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .unset = node.kind { node.kind = .list([]) }
        return QueryListEncoding(encoder: self)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { QueryValueEncoding(encoder: self) }

    /// Scalars become text; a date is written as AWS writes timestamps; anything else encodes itself.
    func write<T: Encodable>(_ value: T) throws {
        switch value {
        case let text as String: node.kind = .text(text)
        case let flag as Bool: node.kind = .text(flag ? "true" : "false")
        case let number as Int: node.kind = .text(String(number))
        case let number as Int64: node.kind = .text(String(number))
        case let number as Double: node.kind = .text(String(number))
        case let date as Date: node.kind = .text(UTCTime.rfc3339(date))
        default: try value.encode(to: self)
        }
    }
}

struct QueryKeyedEncoding<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let encoder: QueryNodeEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }

    func child(_ key: Key) -> QueryNodeEncoder {
        let name = QueryKey.wire(key)
        return QueryNodeEncoder(node: encoder.node.field(name), path: encoder.path + [name])
    }

    mutating func encodeNil(forKey key: Key) throws {}
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try child(key).write(value) }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        child(key).container(keyedBy: keyType)
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer { child(key).unkeyedContainer() }
    mutating func superEncoder() -> any Encoder { encoder }
    mutating func superEncoder(forKey key: Key) -> any Encoder { child(key) }
}

struct QueryListEncoding: UnkeyedEncodingContainer {
    let encoder: QueryNodeEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }
    var count: Int {
        if case .list(let items) = encoder.node.kind { return items.count }
        return 0
    }

    func element() -> QueryNodeEncoder { QueryNodeEncoder(node: encoder.node.item(), path: encoder.path + ["member"]) }

    mutating func encodeNil() throws {}
    mutating func encode<T: Encodable>(_ value: T) throws { try element().write(value) }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        element().container(keyedBy: keyType)
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { element().unkeyedContainer() }
    mutating func superEncoder() -> any Encoder { element() }
}

struct QueryValueEncoding: SingleValueEncodingContainer {
    let encoder: QueryNodeEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }
    mutating func encodeNil() throws {}
    mutating func encode<T: Encodable>(_ value: T) throws { try encoder.write(value) }
}
