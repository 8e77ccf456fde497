import Foundation
import HTTPTypes
import Hummingbird
import Logging
import StowageIAM
import StowageModel
import StowageSigning
import StowageStore

/// Outermost layer of every API route group: times the request, records its metrics and audit event, and turns
/// whatever was thrown inside into a `DoorError` that Hummingbird renders in the door's error format.
struct RequestAccounting: RouterMiddleware {
    typealias Context = StowageContext
    let backend: Backend
    /// The door a request came through (the AWS door at `POST /` serves JSON and query requests).
    let door: @Sendable (Request) -> Door
    /// The action a request names, known before authentication so refused requests are counted under it too.
    let action: @Sendable (Request) -> String

    func handle(_ request: Request, context: StowageContext,
                next: (Request, StowageContext) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let exchange = context.exchange
        exchange.action = action(request)
        func finish(status: Int) {
            let action = exchange.action ?? "unknown"
            if let caller = exchange.caller { backend.audit.record(caller, fallbackAction: action) }
            backend.metrics.record(action: action, status: status, duration: ContinuousClock.now - started,
                                   account: exchange.caller?.principal.accountId)
        }
        do {
            let response = try await next(request, context)
            finish(status: response.status.code)
            return response
        } catch {
            let apiError = APIError.from(error)
            var logger = exchange.caller?.logger ?? context.logger
            logger[metadataKey: "action"] = .string(exchange.action ?? "unknown")
            if apiError.awsStatus >= 500 {
                logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            } else if DatabaseConflict.matches(error) {
                // A race no use case settles: the caller retries, and the operator sees which index it hit.
                logger.warning("request lost a write race", metadata: ["error": "\(String(reflecting: error))"])
            } else {
                logger.info("request refused", metadata: ["code": .string(apiError.code), "message": .string(apiError.message)])
            }
            exchange.caller?.trail.fail(apiError)
            let rendered = DoorError(error: apiError, door: door(request), requestId: context.requestId,
                                     signedService: exchange.caller?.signedService)
            finish(status: Int(rendered.status.code))
            throw rendered
        }
    }
}

/// Authentication for every API route: reads the body within the limit, checks the SigV4 signature (and
/// session token) against the tenant's keys, and puts the caller and the signed body on the context.
struct SigV4Authentication: RouterMiddleware {
    typealias Context = StowageContext
    let backend: Backend

    func handle(_ request: Request, context: StowageContext,
                next: (Request, StowageContext) async throws -> Response) async throws -> Response {
        let bytes = try await RequestBody.read(request, limit: backend.maxBodyBytes)
        let verified = try await backend.verifier.verify(Self.signable(request, body: bytes))
        // ARNs name the installation's region: a request signed for another would get answers that look right and
        // name the wrong region. IAM and STS are global, as in AWS, and take any region.
        if verified.region != backend.scope.region, !["iam", "sts"].contains(verified.service) {
            throw APIError.invalidSignature(
                "Credential should be scoped to a valid region: this Stowage installation serves \(backend.scope.region) (STOWAGE_REGION), not '\(verified.region)'.")
        }
        var context = context
        context.logger[metadataKey: "account"] = .string(verified.principal.accountId)
        let caller = Caller(principal: verified.principal, requestId: context.requestId, logger: context.logger, backend: backend,
                            sourceIp: context.sourceIp, signedService: verified.service)
        context.caller = caller
        context.signedBody = bytes
        context.exchange.caller = caller
        return try await next(request, context)
    }

    static func signable(_ request: Request, body: Data) -> SignableRequest {
        var headers: [String: [String]] = [:]
        for field in request.headers { headers[field.name.canonicalName, default: []].append(field.value) }
        if headers["host"] == nil, let authority = request.head.authority { headers["host"] = [authority] }
        return SignableRequest(method: request.method.rawValue, path: request.uri.path, query: request.uri.query ?? "",
                               headers: headers, body: body)
    }
}

/// A request's body read once within a limit: refused from Content-Length before reading when it says too
/// much, and while reading when it sends more than it said.
enum RequestBody {
    static func read(_ request: Request, limit: Int) async throws(APIError) -> Data {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw APIError.requestTooLarge(limit: limit)
        }
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return Data(buffer.readableBytesView)
        } catch {
            throw APIError.requestTooLarge(limit: limit)
        }
    }
}

/// An API error on its way out: Hummingbird renders it through `HTTPResponseError`, in the format of the door
/// it came through (AWS JSON `__type`, query-protocol XML, or REST JSON with REST statuses).
struct DoorError: HTTPResponseError {
    let error: APIError
    let door: Door
    let requestId: String
    /// The service the caller signed for, so a query-protocol error names IAM or STS as AWS does.
    let signedService: String?

    var status: HTTPResponse.Status { .init(code: door.status(for: error)) }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let body: Data
        switch door {
        case .query: body = QueryProtocol.errorXML(error, service: signedService ?? "iam", requestId: requestId)
        case .aws, .rest: body = Gateway.errorBody(error)
        }
        var reply = Reply(status: Int(status.code), body: body)
        reply.errorType = error.code
        return Gateway.response(reply, door: door, requestId: requestId)
    }
}

extension APIError {
    /// What callers see for anything thrown: API errors as they are, decoding errors named by member, a database
    /// that cannot be reached as 503, a write that lost a race its use case does not settle as 409, and everything else as a ServerException that leaks nothing.
    static func from(_ error: any Error) -> APIError {
        switch error {
        case let e as APIError: return e
        case let e as DoorError: return e.error
        case let e as DecodingError: return Gateway.decodingError(e)
        case let e where DatabaseUnavailable.matches(e): return .unavailable()
        case let e where DatabaseConflict.matches(e):
            return APIError("ConflictException", "A concurrent request wrote the same resource at the same moment; retry the request.",
                            awsStatus: 409)
        default: return .server()
        }
    }
}
