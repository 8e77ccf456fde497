import Foundation
import HTTPTypes
import Hummingbird
import StowageModel

/// A path no route serves (a typo in a script's URL, a method the path does not take) is answered in the REST
/// door's JSON error format naming what was asked, not with Hummingbird's empty 404: a script's error handling
/// reads `__type` and `message` from every answer.
struct UnroutedRequests: RouterMiddleware {
    typealias Context = StowageContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound || error.status == .methodNotAllowed {
            guard error.body == nil else { throw error }
            let path = String(request.uri.path.prefix(200))
            let message = error.status == .notFound
                ? "No route serves \(request.method) \(path): see openapi/stowage.yaml for the REST API, or POST / for the AWS protocols."
                : "\(path) does not take \(request.method): see openapi/stowage.yaml."
            throw DoorError(error: APIError("UnknownOperationException", message, awsStatus: 404, restStatus: Int(error.status.code)),
                            door: .rest, requestId: context.requestId, signedService: nil)
        }
    }
}
