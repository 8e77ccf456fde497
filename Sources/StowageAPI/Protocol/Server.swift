import Foundation
import HTTPTypes
import Hummingbird
import Metrics
import StowageModel
import StowageStore
import StowageUseCases

/// Builds the HTTP surface: the AWS-protocol door at `POST /`, the REST API, and the operational endpoints.
public enum APIRouter {
    /// Every route the router serves, as `METHOD path`: the OpenAPI test checks each is documented.
    public static var routeList: [String] {
        ["GET /healthz", "GET /readyz", "GET /metrics", "POST /"] + (RESTAPI.routes + AgentREST.routes).map { "\($0.method.rawValue) \($0.path)" }
            + ConsoleRoutes.routeList
    }

    /// `secureTransport`: the router serves an HTTPS listener (console cookies are then marked Secure).
    public static func build(backend: Backend, secureTransport: Bool = false, console: ConsoleAssets = .none) -> Router<StowageContext> {
        let router = Router(context: StowageContext.self)
        router.add(middleware: UnroutedRequests())
        let gateway = Gateway(backend: backend)

        // Liveness: the process answers, within a second, whatever the database does; the body says how the
        // database is. A supervisor restarts on this; it must not restart servers because PostgreSQL is down.
        router.get("/healthz") { _, _ in
            let up = await backend.database.ping()
            let body = up ? #"{"database":"up","status":"ok"}"# : #"{"database":"unreachable","status":"ok"}"#
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: body)))
        }

        // Readiness: whether a load balancer should send this server traffic (503 while the database is down).
        router.get("/readyz") { _, _ in
            let up = await backend.database.ping()
            let body = up ? #"{"status":"ready"}"# : #"{"status":"database unreachable"}"#
            return Response(status: up ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: body)))
        }

        // Operational figures for Prometheus; series that name a tenant (account ids, cluster names) only for a scrape
        // that presents the operator's token as a bearer token.
        router.get("/metrics") { request, _ in
            let access = MetricsExport.access(authorization: request.headers[.authorization], token: backend.metricsToken)
            guard access != .refused else {
                return Response(status: .unauthorized, headers: [.contentType: "text/plain", .wwwAuthenticate: "Bearer"],
                                body: .init(byteBuffer: ByteBuffer(string: "The bearer token is not the metrics token (STOWAGE_METRICS_TOKEN).\n")))
            }
            // The job queue's depth, read at scrape time (skipped, and said so by the gauge, while the database
            // cannot be reached: a scrape never waits out an outage).
            let stats = try? await ControlPlane(database: backend.database, logger: backend.database.logger).queueStats()
            Gauge(label: "stowage_jobs_queue_readable").record(stats == nil ? 0 : 1)
            if let stats {
                for (state, count) in [("pending", stats.pending), ("ready", stats.ready), ("running", stats.running),
                                       ("expired", stats.expired), ("retrying", stats.retrying), ("dead", stats.dead)] {
                    Gauge(label: "stowage_jobs", dimensions: [("state", state)]).record(count)
                }
            }
            let text = backend.metrics.render(auditDropped: backend.audit.dropped, auditCleaned: backend.audit.cleaned,
                                              tenantSeries: access == .whole)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: .init(byteBuffer: ByteBuffer(bytes: text)))
        }

        // The AWS doors: every JSON-protocol service shares POST /, told apart by X-Amz-Target; IAM and STS
        // (query protocol) answer form-encoded requests there too.
        router.group()
            .add(middleware: RequestAccounting(backend: backend, door: Door.aws(for:), action: awsActionName))
            .add(middleware: SigV4Authentication(backend: backend))
            .post("/", use: awsDoor(gateway, consoleDoor: false))

        // The REST API under /v1, and the agent protocol under /agent/v1: a group per route, so the route's action
        // is known to the accounting before authentication; the agent's routes spend their own rate bucket, so a
        // fleet's polls and reports never count against a tenant's writes (nor the reverse).
        let tables: [([RESTRoute], InputRules, Quotas.RateClass?)] = [(RESTAPI.routes, .aws, nil), (AgentREST.routes, .agent, .agent)]
        for (routes, input, rate) in tables {
            for route in routes {
                router.group()
                    .add(middleware: RequestAccounting(backend: backend, door: { _ in .rest }, action: { _ in route.action.name }))
                    .add(middleware: SigV4Authentication(backend: backend))
                    .on(RouterPath(route.routerPath), method: route.method, use: restHandler(route, gateway, input: input, rate: rate))
            }
        }

        ConsoleRoutes.add(to: router, backend: backend, gateway: gateway, secureTransport: secureTransport, assets: console)
        return router
    }

    /// The operation a JSON-protocol request's `X-Amz-Target` names.
    static func operation(_ request: Request) -> Operation? {
        Operations.target(request.headers[HTTPField.Name("X-Amz-Target") ?? .contentType] ?? "")
    }

    /// The action name metrics and audit know a door request by; the query door is "Query", not the form's
    /// action, so a client cannot mint label values.
    @Sendable static func awsActionName(_ request: Request) -> String {
        if case .query = Door.aws(for: request) { return "Query" }
        return operation(request)?.name ?? "unknown"
    }

    /// The handler behind `POST /` (and the console's `POST /console/api/aws`, which answers JSON actions only,
    /// with REST statuses so the page can tell a 403 from a 400).
    static func awsDoor(_ gateway: Gateway, consoleDoor: Bool) -> @Sendable (Request, StowageContext) async throws -> Response {
        { request, context in
            let target = request.headers[HTTPField.Name("X-Amz-Target") ?? .contentType] ?? ""
            let door = consoleDoor ? Door.rest : Door.aws(for: request)
            if case .query = door {
                let form = QueryRequest(form: context.signedBody)
                // The bucket of the operation the form names; an unknown one is refused after it is spent as a write.
                let service = context.caller.flatMap { QueryDoors.service($0.signedService) }
                let access = service.flatMap { Operations.named($0, form.action) }?.access ?? .write
                return try await gateway.run(request, context: context, door: door, action: "Query", rate: .init(access),
                                             input: .form) { caller, body in
                    let form = QueryRequest(form: body)
                    let (fields, service) = try await QueryDoors.run(form, caller)
                    return Reply(body: QueryProtocol.xml(action: form.action, service: service.rawValue, fields: fields, requestId: caller.requestId))
                }
            }
            guard let operation = operation(request) else {
                throw APIError.unknownOperation(target.isEmpty ? "Missing X-Amz-Target header." : "Unknown operation \(target).")
            }
            return try await gateway.run(request, context: context, door: door, action: operation.name,
                                         rate: .init(operation.access)) { caller, body in
                guard case .json(let data) = try await operation.run(.json(body), caller) else { throw APIError.server() }
                return Reply(body: data)
            }
        }
    }

    /// The handler of one REST route: path and query parameters decoded and checked, then the route's handler.
    static func restHandler(_ route: RESTRoute, _ gateway: Gateway, input: InputRules, rate: Quotas.RateClass?)
        -> @Sendable (Request, StowageContext) async throws -> Response
    {
        let names = route.parameterNames
        return { request, context in
            var path: [String: String] = [:]
            for name in names {
                let raw = context.parameters.get(name) ?? ""
                path[name] = raw.removingPercentEncoding ?? raw
            }
            var query: [String: [String]] = [:]
            for (name, value) in request.uri.queryParameters {
                query[String(name), default: []].append(String(value).removingPercentEncoding ?? String(value))
            }
            let call = (path: path, query: query)
            let texts = path.map { (member: $0.key, value: $0.value) }
                + query.flatMap { name, values in values.map { (member: name, value: $0) } }
            // A route serving a declared operation spends its bucket; the query services' generic routes
            // (`/v1/iam/{action}`) the bucket of the operation their path names.
            let access = route.access ?? Operations.named(route.action.service, call.path["action"] ?? "")?.access ?? .write
            return try await gateway.run(request, context: context, door: .rest, action: route.action.name,
                                         rate: rate ?? .init(access), input: input, texts: texts) { caller, body in
                try await route.handle(RESTCall(caller: caller.serving(route.action), body: body, path: call.path, query: call.query))
            }
        }
    }
}
