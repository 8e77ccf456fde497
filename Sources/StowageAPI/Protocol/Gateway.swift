import CompressNIO
import Foundation
import HTTPTypes
import Hummingbird
import StowageModel
import StowageStore
import StowageUseCases

/// Which door a request came through: they share handlers but not status codes or content types.
public enum Door: Sendable {
    case aws(contentType: String)
    /// IAM and STS: form-encoded requests, XML answers.
    case query
    case rest

    /// The door of a request to `POST /`: form-encoded without a target is the query protocol (IAM, STS).
    static func aws(for request: Request) -> Door {
        let target = request.headers[HTTPField.Name("X-Amz-Target") ?? .contentType] ?? ""
        let contentType = request.headers[.contentType] ?? "application/x-amz-json-1.1"
        if target.isEmpty, contentType.hasPrefix("application/x-www-form-urlencoded") { return .query }
        return .aws(contentType: contentType.hasPrefix("application/x-amz-json") ? contentType : "application/x-amz-json-1.1")
    }

    func status(for error: APIError) -> Int {
        switch self {
        case .aws, .query: error.awsStatus
        case .rest: error.restStatus
        }
    }

    var contentType: String {
        switch self {
        case .aws(let contentType): contentType
        case .query: "text/xml"
        case .rest: "application/json"
        }
    }
}

/// How a door's request body is checked before decoding.
public enum InputRules: Sendable {
    case json(numbers: RequestBodyCheck.Numbers, nul: RequestBodyCheck.NUL)
    case form

    /// AWS shapes: NUL refused, numbers as the models declare them.
    public static let aws = InputRules.json(numbers: .awsShapes, nul: .refuse)
    /// The agent's protocol: 64-bit counters, and NULs that containers printed replaced and counted.
    public static let agent = InputRules.json(numbers: .any, nul: .replace)
}

/// A handler's answer before it becomes an HTTP response.
public struct Reply: Sendable {
    public var status: Int
    public var body: Data
    /// The AWS error name, echoed in `x-amzn-ErrorType` as AWS does.
    public var errorType: String?
    /// A body written while the response streams (the live log tail), sent instead of `body`.
    public var stream: ResponseBody?
    /// Fields beside the door's defaults; a content type here replaces the door's.
    public var headers: HTTPFields
    public init(status: Int = 200, body: Data, errorType: String? = nil) {
        self.status = status; self.body = body; self.errorType = errorType; self.headers = [:]
    }
    public init(stream: ResponseBody, headers: HTTPFields) {
        self.status = 200; self.body = Data(); self.stream = stream; self.headers = headers
    }
}

/// The handler step every API route runs once the middleware has named the action and authenticated the
/// caller: spend the rate bucket, check and inflate the body, run the handler, shape the response for the door.
/// Errors are thrown to `RequestAccounting`, which renders them.
public struct Gateway: Sendable {
    public let backend: Backend

    public init(backend: Backend) { self.backend = backend }

    public func run(
        _ request: Request, context: StowageContext, door: Door, action: String, rate: Quotas.RateClass,
        input: InputRules = .aws, texts: [(member: String, value: String)] = [],
        _ body: @Sendable (Caller, Data) async throws -> Reply
    ) async throws -> Response {
        guard var caller = context.caller else {
            // A route registered outside the authenticated groups: a programming error, never a client's.
            context.logger.error("route without authentication", metadata: ["action": .string(action)])
            throw APIError.server()
        }
        caller.logger[metadataKey: "action"] = .string(action)
        try await backend.quotas.admit(account: caller.account, rate)
        for text in texts { try RequestBodyCheck.text(text.value, member: text.member) }
        let bytes = try checked(try inflated(context.signedBody, request: request), input)
        // A tenant's request leases within its account's share of the pool; the agent protocol has a pool of its own.
        let reply = try await Database.$account.withValue(rate == .agent ? nil : caller.account) { try await body(caller, bytes) }
        return Self.response(reply, door: door, requestId: context.requestId)
    }

    /// botocore gzips large bodies (PutMetricData over 10 KiB) and signs the compressed bytes, so the
    /// signature is checked first and the body inflated afterwards, within the same size limit.
    func inflated(_ bytes: Data, request: Request) throws -> Data {
        let encodings = request.headers[values: .contentEncoding].flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty && $0 != "identity" }
        guard !encodings.isEmpty else { return bytes }
        guard encodings == ["gzip"] else {
            throw APIError.invalidParameter("Content-Encoding \(encodings.joined(separator: ", ")) is not supported; use gzip.")
        }
        var buffer = ByteBuffer(bytes: bytes)
        do {
            let plain = try buffer.decompress(with: .gzip(), maxSize: backend.maxBodyBytes)
            return Data(plain.readableBytesView)
        } catch let error as CompressNIOError where error == .bufferOverflow {
            throw APIError.requestTooLarge(limit: backend.maxBodyBytes)
        } catch {
            throw APIError.serialization("The request body is not valid gzip data.")
        }
    }

    /// Every body is checked against what the store can hold before a handler decodes it.
    func checked(_ body: Data, _ rules: InputRules) throws -> Data {
        switch rules {
        case .form:
            for (name, value) in QueryRequest(form: body).params {
                try RequestBodyCheck.text(name, member: "A parameter name")
                try RequestBodyCheck.text(value, member: name)
            }
            return body
        case .json(let numbers, let nul):
            let (clean, replaced) = try RequestBodyCheck.check(body, numbers: numbers, nul: nul)
            if replaced > 0 { backend.metrics.cleaned(.nulCharacters, count: replaced) }
            return clean
        }
    }

    static func decodingError(_ error: DecodingError) -> APIError {
        func path(_ context: DecodingError.Context) -> String {
            let p = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return p.hasPrefix(".") ? String(p.dropFirst()) : (p.isEmpty ? "(root)" : p)
        }
        switch error {
        case .keyNotFound(let key, let context):
            let prefix = path(context) == "(root)" ? "" : path(context) + "."
            return .invalidParameter("\(prefix)\(key.stringValue) is required.")
        case .typeMismatch(let type, let context):
            return .serialization("Field \(path(context)) has the wrong type: expected \(jsonTypeName(type)).")
        case .valueNotFound(let type, let context):
            return .invalidParameter("Field \(path(context)) must be a non-null \(jsonTypeName(type)).")
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return .serialization("The request body is not valid JSON.") }
            return .serialization("Field \(path(context)) is not valid: \(context.debugDescription)")
        @unknown default:
            return .serialization("The request body could not be read.")
        }
    }

    static func jsonTypeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "string"
        case is Int.Type, is Int64.Type, is Double.Type: "number"
        case is Bool.Type: "boolean"
        case is [Any].Type: "array"
        default: "\(type)".hasPrefix("Array") ? "array" : "object"
        }
    }

    static func errorBody(_ error: APIError) -> Data {
        (try? JSONSerialization.data(withJSONObject: ["__type": error.code, "message": error.message], options: [.sortedKeys]))
            ?? Data()
    }

    static func response(_ reply: Reply, door: Door, requestId: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = door.contentType
        if let name = HTTPField.Name("x-amzn-RequestId") { headers[name] = requestId }
        if let type = reply.errorType, let name = HTTPField.Name("x-amzn-ErrorType") { headers[name] = type }
        for field in reply.headers { headers[field.name] = field.value }
        return Response(status: .init(code: reply.status), headers: headers,
                        body: reply.stream ?? .init(byteBuffer: ByteBuffer(bytes: reply.body)))
    }
}

extension Reply {
    /// Encodes a handler's output with the AWS JSON conventions.
    static func json<T: Encodable>(_ value: T, status: Int = 200) throws -> Reply {
        Reply(status: status, body: try ECSJSON.encoder().encode(value))
    }
}
