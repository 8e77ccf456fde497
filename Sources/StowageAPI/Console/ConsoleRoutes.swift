import Foundation
import HTTPTypes
import Hummingbird
import StowageModel

/// The web console's routes: its files under `/console`, its session, and the API again under `/console/api`
/// behind the session cookie instead of a signature. The console has no handlers of its own beyond sign-in: it
/// calls the same actions as every client, so what a principal may see and do in the browser is exactly what
/// its policies allow through the API, and it is audited the same way.
enum ConsoleRoutes {
    static let apiPrefix = "/console/api"

    /// As `stowage routes` lists them; the REST API mirrored under `/console/api/v1/...` is documented once, at `/v1`.
    static let routeList = [
        "GET /console", "GET /console/{file}", "POST /console/api/session", "GET /console/api/session",
        "DELETE /console/api/session", "POST /console/api/aws",
    ]

    static func add(to router: Router<StowageContext>, backend: Backend, gateway: Gateway, secureTransport: Bool,
                    assets: ConsoleAssets) {
        router.get("/console") { request, _ in assets.response("index.html", request: request) }
        router.get("/console/**") { request, context in
            let parts = context.parameters.getCatchAll().map(String.init)
            guard !parts.isEmpty, !parts.contains(where: { $0 == ".." || $0 == "." || $0.isEmpty }) else {
                return assets.response("index.html", request: request)
            }
            return assets.response(parts.joined(separator: "/"), request: request)
        }

        let limiter = SignInLimiter()
        let session: [(HTTPRequest.Method, String, @Sendable (Request, StowageContext) async throws -> Response)] = [
            (.post, "ConsoleLogin", {
                try await ConsoleSession.signIn($0, context: $1, backend: backend, limiter: limiter, secure: secureTransport)
            }),
            (.get, "GetConsoleSession", { try await ConsoleSession.current($0, context: $1, backend: backend) }),
            (.delete, "ConsoleLogout", { try await ConsoleSession.signOut($0, context: $1, backend: backend, secure: secureTransport) }),
        ]
        for (method, action, handler) in session {
            router.group()
                .add(middleware: RequestAccounting(backend: backend, door: { _ in .rest }, action: { _ in action }))
                .on(RouterPath(apiPrefix + "/session"), method: method, use: handler)
        }

        router.group()
            .add(middleware: RequestAccounting(backend: backend, door: { _ in .rest }, action: APIRouter.awsActionName))
            .add(middleware: ConsoleAuthentication(backend: backend))
            .post(RouterPath(apiPrefix + "/aws"), use: APIRouter.awsDoor(gateway, consoleDoor: true))

        for route in RESTAPI.routes {
            router.group()
                .add(middleware: RequestAccounting(backend: backend, door: { _ in .rest }, action: { _ in route.action.name }))
                .add(middleware: ConsoleAuthentication(backend: backend))
                .on(RouterPath(apiPrefix + route.routerPath), method: route.method,
                    use: APIRouter.restHandler(route, gateway, input: .aws, rate: nil))
        }
    }
}
