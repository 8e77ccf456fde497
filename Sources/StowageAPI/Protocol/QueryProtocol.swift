import Foundation
import StowageModel

/// A query-protocol answer (IAM, STS) before it is written as XML for the AWS door or JSON for REST.
public indirect enum QueryValue: Sendable {
    case text(String)
    case object([(String, QueryValue)])
    case list([QueryValue])

    static func date(_ date: Date) -> QueryValue { .text(UTCTime.rfc3339(date)) }
    static func bool(_ value: Bool) -> QueryValue { .text(value ? "true" : "false") }
    static func int(_ value: Int) -> QueryValue { .text(String(value)) }

    func xml(into out: inout String) {
        switch self {
        case .text(let s): out += QueryProtocol.escape(s)
        case .object(let fields):
            for (name, value) in fields {
                out += "<\(name)>"
                value.xml(into: &out)
                out += "</\(name)>"
            }
        case .list(let items):
            for item in items {
                out += "<member>"
                item.xml(into: &out)
                out += "</member>"
            }
        }
    }

    var json: Any {
        switch self {
        case .text(let s): s
        case .object(let fields): Dictionary(fields.map { ($0.0, $0.1.json) }, uniquingKeysWith: { a, _ in a })
        case .list(let items): items.map(\.json)
        }
    }
}

/// The form parameters of a query-protocol request: `Action=CreateUser&UserName=ci&Tags.member.1.Key=env…`.
public struct QueryRequest: Sendable {
    public var params: [String: String]

    public init(params: [String: String]) { self.params = params }

    /// Parses `application/x-www-form-urlencoded` (`+` is a space).
    public init(form body: Data) {
        var params: [String: String] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String { (String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding) ?? String(s) }
            params[decode(kv[0])] = kv.count > 1 ? decode(kv[1]) : ""
        }
        self.params = params
    }

    /// REST bodies are JSON objects with the same member names; lists become `Name.member.N`.
    public init(json body: Data) throws {
        guard !body.isEmpty else { self.params = [:]; return }
        // JSONValue, not JSONSerialization: Foundation's NSNumber casts 1 and 0 to Bool, so `"MaxItems": 1` read as "true".
        guard case .object(let object)? = try? JSONDecoder().decode(JSONValue.self, from: body) else {
            throw APIError.serialization("The request body must be a JSON object of parameters.")
        }
        var params: [String: String] = [:]
        func flatten(_ prefix: String, _ value: JSONValue) {
            switch value {
            case .string(let s): params[prefix] = s
            case .bool(let b): params[prefix] = b ? "true" : "false"
            case .number(let n): params[prefix] = n.rounded() == n && abs(n) < 9.0e15 ? String(Int64(n)) : String(n)
            case .array(let list):
                for (i, item) in list.enumerated() { flatten("\(prefix).member.\(i + 1)", item) }
            case .object(let object):
                for (k, v) in object { flatten("\(prefix).\(k)", v) }
            case .null: break
            }
        }
        for (k, v) in object { flatten(k, v) }
        self.params = params
    }

    public var action: String { params["Action"] ?? "" }

    public func string(_ name: String) -> String? { params[name].flatMap { $0.isEmpty ? nil : $0 } }

    public func required(_ name: String) throws(APIError) -> String {
        guard let value = string(name) else {
            throw APIError("ValidationError", "1 validation error detected: Value null at '\(name.prefix(1).lowercased() + name.dropFirst())' failed to satisfy constraint: Member must not be null")
        }
        return value
    }

    public func int(_ name: String) throws(APIError) -> Int? {
        guard let text = string(name) else { return nil }
        guard let value = Int(text) else { throw APIError("ValidationError", "\(name) must be an integer; got '\(text)'.") }
        return value
    }

    public func bool(_ name: String) -> Bool? { string(name).map { $0.lowercased() == "true" } }

    /// `Name.member.1`, `Name.member.2`, … in order.
    public func list(_ name: String) -> [String] {
        var out: [String] = []
        var i = 1
        while let value = params["\(name).member.\(i)"] { out.append(value); i += 1 }
        return out
    }

    public func tags(_ name: String = "Tags") -> [Tag] {
        var out: [Tag] = []
        var i = 1
        while let key = params["\(name).member.\(i).Key"] {
            out.append(Tag(key: key, value: params["\(name).member.\(i).Value"] ?? ""))
            i += 1
        }
        return out
    }
}

/// Writing query-protocol answers the way botocore's XML parser reads them.
public enum QueryProtocol {
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(ch)
            }
        }
        return out
    }

    static func namespace(_ service: String) -> String {
        switch service {
        case "sts": "https://sts.amazonaws.com/doc/2011-06-15/"
        case "elasticloadbalancing": "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"
        default: "https://iam.amazonaws.com/doc/2010-05-08/"
        }
    }

    static func xml(action: String, service: String, fields: [(String, QueryValue)], requestId: String) -> Data {
        var out = "<\(action)Response xmlns=\"\(namespace(service))\">"
        // ELBv2's empty answers still carry their (empty) result element, which botocore looks for.
        if !fields.isEmpty || service == "elasticloadbalancing" {
            out += "<\(action)Result>"
            QueryValue.object(fields).xml(into: &out)
            out += "</\(action)Result>"
        }
        out += "<ResponseMetadata><RequestId>\(escape(requestId))</RequestId></ResponseMetadata></\(action)Response>"
        return Data(out.utf8)
    }

    static func errorXML(_ error: APIError, service: String, requestId: String) -> Data {
        let type = error.awsStatus >= 500 ? "Receiver" : "Sender"
        let out = "<ErrorResponse xmlns=\"\(namespace(service))\"><Error><Type>\(type)</Type><Code>\(escape(error.code))</Code>"
            + "<Message>\(escape(error.message))</Message></Error><RequestId>\(escape(requestId))</RequestId></ErrorResponse>"
        return Data(out.utf8)
    }

    static func json(_ fields: [(String, QueryValue)]) throws -> Data {
        try JSONSerialization.data(withJSONObject: QueryValue.object(fields).json, options: [.sortedKeys])
    }
}

/// IAM, STS and ELBv2 share the query protocol; the signature's credential scope says which one was meant.
enum QueryDoors {
    /// The query-protocol service a credential scope names.
    static func service(_ signed: String) -> AWSService? {
        guard let service = AWSService(rawValue: signed), case .query = service.wire else { return nil }
        return service
    }

    static func run(_ q: QueryRequest, _ c: Caller, service explicit: AWSService? = nil) async throws -> ([(String, QueryValue)], AWSService) {
        guard let service = explicit ?? service(c.signedService) else {
            throw APIError.unknownOperation("Form-encoded requests are accepted for iam, sts and elasticloadbalancing; this one was signed for '\(c.signedService)'.")
        }
        guard !q.action.isEmpty else { throw APIError("MissingAction", "The request must contain the parameter Action.") }
        guard let operation = Operations.named(service, q.action) else {
            throw APIError("InvalidAction", "Could not find operation \(q.action) for \(service.rawValue.uppercased()).")
        }
        c.trail.note(action: operation.action.description, resources: [])
        guard case .fields(let fields) = try await operation.run(.form(q), c) else { throw APIError.server() }
        return (fields, service)
    }
}
