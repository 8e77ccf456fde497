import CompressNIO
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import StowageIAM
import StowageModel
import StowageSigning
import StowageStore

/// The request context: Hummingbird's core storage, whose logger already carries the request id on every line.
public struct StowageContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The client's address, for `aws:SourceIp` and the audit trail.
    public var sourceIp: String

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        sourceIp = source.channel.remoteAddress?.ipAddress ?? ""
    }

    /// The id AWS clients read from `x-amzn-RequestId`; the same as `hb.request.id` in the logs.
    public var requestId: String { id }
}

/// Which door a request came through: they share handlers but not status codes or content types.
public enum Door: Sendable {
    case aws(contentType: String)
    /// IAM and STS: form-encoded requests, XML answers.
    case query
    case rest

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

/// The one pipeline every API request runs: read the body within the limit, verify the signature,
/// run the handler, render errors in the ECS format, record metrics.
public struct Gateway: Sendable {
    public let backend: Backend

    public init(backend: Backend) { self.backend = backend }

    public func serve(
        _ request: Request, context: StowageContext, door: Door, action: @autoclosure () -> String,
        input: InputRules = .aws, texts: [(member: String, value: String)] = [],
        _ body: @Sendable (Caller, Data) async throws -> Reply
    ) async -> Response {
        let started = ContinuousClock.now
        let actionName = action()
        var logger = context.logger
        logger[metadataKey: "action"] = .string(actionName)
        let reply: Reply
        var caller: Caller?
        do {
            let bytes = try await readBody(request)
            let verified = try await backend.verifier.verify(signable(request, body: bytes))
            logger[metadataKey: "account"] = .string(verified.principal.accountId)
            let verifiedCaller = Caller(principal: verified.principal, requestId: context.requestId, logger: logger, backend: backend,
                                        sourceIp: context.sourceIp, signedService: verified.service)
            caller = verifiedCaller
            try await backend.quotas.admit(account: verified.principal.accountId, action: actionName)
            for text in texts { try RequestBodyCheck.text(text.value, member: text.member) }
            reply = try await body(verifiedCaller, try checked(try inflated(bytes, request: request), input))
        } catch {
            let apiError = Self.apiError(from: error, logger: logger)
            let body: Data
            if case .query = door, let service = caller?.signedService {
                body = QueryProtocol.errorXML(apiError, service: service, requestId: context.requestId)
            } else if case .query = door {
                body = QueryProtocol.errorXML(apiError, service: "iam", requestId: context.requestId)
            } else {
                body = Self.errorBody(apiError)
            }
            reply = Reply(status: door.status(for: apiError), body: body, errorType: apiError.code)
            if apiError.awsStatus >= 500 {
                logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            } else {
                logger.info("request refused", metadata: ["code": .string(apiError.code), "message": .string(apiError.message)])
            }
            caller?.trail.fail(apiError)
        }
        if let caller { backend.audit.record(caller, fallbackAction: actionName) }
        backend.metrics.record(action: actionName, status: reply.status, duration: ContinuousClock.now - started)
        return Self.response(reply, door: door, requestId: context.requestId)
    }

    func readBody(_ request: Request) async throws -> Data {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > backend.maxBodyBytes {
            throw APIError.requestTooLarge(limit: backend.maxBodyBytes)
        }
        do {
            let buffer = try await request.body.collect(upTo: backend.maxBodyBytes)
            return Data(buffer.readableBytesView)
        } catch {
            throw APIError.requestTooLarge(limit: backend.maxBodyBytes)
        }
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

    func signable(_ request: Request, body: Data) -> SignableRequest {
        var headers: [String: [String]] = [:]
        for field in request.headers { headers[field.name.canonicalName, default: []].append(field.value) }
        if headers["host"] == nil, let authority = request.head.authority { headers["host"] = [authority] }
        return SignableRequest(method: request.method.rawValue, path: request.uri.path, query: request.uri.query ?? "",
                               headers: headers, body: body)
    }

    /// Maps anything a handler threw to the error callers see; unexpected errors become a ServerException.
    static func apiError(from error: any Error, logger: Logger) -> APIError {
        switch error {
        case let e as APIError: return e
        case let e as DecodingError: return decodingError(e)
        case let e where DatabaseUnavailable.matches(e): return .unavailable()
        default: return .server()
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
