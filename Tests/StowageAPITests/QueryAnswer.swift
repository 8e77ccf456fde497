import Foundation
import HTTPTypes

/// A form body as botocore writes one (Python's `urlencode`): unreserved bytes as they are, a space as `+`, the rest `%XX`.
func formEncoded(_ pairs: [(String, String)]) -> String {
    let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~".utf8)
    func encode(_ text: String) -> String {
        text.utf8.map { byte in
            if unreserved.contains(byte) { return String(UnicodeScalar(byte)) }
            return byte == UInt8(ascii: " ") ? "+" : String(format: "%%%02X", byte)
        }.joined()
    }
    return pairs.map { encode($0.0) + "=" + encode($0.1) }.joined(separator: "&")
}

/// A query-protocol answer as botocore reads it: the root element, `<Action>Result` for output, `<Error>` for errors.
struct QueryAnswer: Sendable {
    var status: Int
    var headers: HTTPFields
    var action: String
    /// Nil when the body is not well-formed XML (botocore would fail to parse it).
    var root: XMLTree?
    /// The element botocore reads the output from (the operation's `resultWrapper`).
    var result: XMLTree? { root?.child("\(action)Result") }
    var errorCode: String? { root?.first("Error.Code")?.text }
    var message: String { root?.first("Error.Message")?.text ?? "" }
    /// A value under the result element by dotted path (`LoadBalancers.member.LoadBalancerArn`, first match at each step).
    subscript(_ path: String) -> String? { result?.first(path)?.text }
    /// The `member` items of a list under the result element.
    func list(_ path: String) -> [XMLTree] { result?.list(path) ?? [] }
}

/// An XML element with its namespace prefix and attributes dropped, as botocore's parser keeps it.
struct XMLTree: Sendable {
    var name: String
    var text: String
    var children: [XMLTree]

    func child(_ name: String) -> XMLTree? { children.first { $0.name == name } }

    /// The element at a dotted path of child names, the first of each name.
    func first(_ path: String) -> XMLTree? {
        var node: XMLTree? = self
        for step in path.split(separator: ".") { node = node?.child(String(step)) }
        return node
    }

    /// The `member` children of the list element at `path`.
    func list(_ path: String) -> [XMLTree] { first(path)?.children.filter { $0.name == "member" } ?? [] }
    func strings(_ path: String) -> [String] { list(path).map(\.text) }

    /// Parses a document of elements and text (the query protocol's whole vocabulary); nil unless well-formed.
    static func parse(_ data: Data) -> XMLTree? {
        var reader = XMLTextReader(bytes: Array(data))
        return reader.document()
    }
}

/// A strict reader for the XML the query protocol writes: a prolog, nested elements with attributes, text with the
/// five named entities and character references. Anything else (a mismatched end tag, a stray `&`) is refused.
private struct XMLTextReader {
    let bytes: [UInt8]
    var at = 0

    mutating func document() -> XMLTree? {
        skipSpace()
        if starts("<?") { guard let end = find("?>") else { return nil }; at = end + 2 }
        skipSpace()
        guard let root = element() else { return nil }
        skipSpace()
        return at == bytes.count ? root : nil
    }

    mutating func element() -> XMLTree? {
        guard starts("<"), !starts("</") else { return nil }
        at += 1
        let name = readName()
        guard !name.isEmpty else { return nil }
        // Attributes (xmlns): name="value", read and dropped.
        while true {
            skipSpace()
            if starts("/>") { at += 2; return XMLTree(name: local(name), text: "", children: []) }
            if starts(">") { at += 1; break }
            guard !readName().isEmpty, starts("=") else { return nil }
            at += 1
            guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") || bytes[at] == UInt8(ascii: "'") else { return nil }
            let quote = bytes[at]
            at += 1
            while at < bytes.count, bytes[at] != quote { at += 1 }
            guard at < bytes.count else { return nil }
            at += 1
        }
        var text: [UInt8] = []
        var children: [XMLTree] = []
        while at < bytes.count {
            if starts("</") {
                at += 2
                guard readName() == name else { return nil }
                skipSpace()
                guard starts(">") else { return nil }
                at += 1
                return XMLTree(name: local(name), text: String(decoding: text, as: UTF8.self), children: children)
            } else if starts("<") {
                guard let child = element() else { return nil }
                children.append(child)
            } else if starts("&") {
                guard let end = bytes[at...].firstIndex(of: UInt8(ascii: ";")) else { return nil }
                let entity = String(decoding: bytes[(at + 1)..<end], as: UTF8.self)
                let named = ["amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'"]
                if let value = named[entity] {
                    text += Array(value.utf8)
                } else if entity.hasPrefix("#x"), let code = UInt32(entity.dropFirst(2), radix: 16), let scalar = UnicodeScalar(code) {
                    text += Array(String(Character(scalar)).utf8)
                } else if entity.hasPrefix("#"), let code = UInt32(entity.dropFirst()), let scalar = UnicodeScalar(code) {
                    text += Array(String(Character(scalar)).utf8)
                } else {
                    return nil
                }
                at = end + 1
            } else {
                text.append(bytes[at])
                at += 1
            }
        }
        return nil
    }

    func local(_ name: String) -> String { name.split(separator: ":").last.map(String.init) ?? name }

    func starts(_ text: String) -> Bool {
        let t = Array(text.utf8)
        return at + t.count <= bytes.count && Array(bytes[at..<(at + t.count)]) == t
    }

    func find(_ text: String) -> Int? {
        var i = at
        while i < bytes.count { if XMLTextReader(bytes: bytes, at: i).starts(text) { return i }; i += 1 }
        return nil
    }

    mutating func readName() -> String {
        let start = at
        while at < bytes.count, !" \t\r\n/>=".utf8.contains(bytes[at]) { at += 1 }
        return String(decoding: bytes[start..<at], as: UTF8.self)
    }

    mutating func skipSpace() { while at < bytes.count, " \t\r\n".utf8.contains(bytes[at]) { at += 1 } }
}
