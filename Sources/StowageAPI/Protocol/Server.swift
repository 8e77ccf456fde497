import Foundation
import HTTPTypes
import Hummingbird
import StowageModel

/// Builds the HTTP surface: the AWS-protocol door at `POST /`, the REST API, and the operational endpoints.
public enum APIRouter {
    /// Every route the router serves, as `METHOD path`: the OpenAPI test checks each is documented.
    public static var routeList: [String] {
        ["GET /healthz", "GET /readyz", "GET /metrics", "POST /"] + RESTAPI.routes.map { "\($0.method.rawValue) \($0.path)" }
    }

    public static func build(backend: Backend) -> Router<StowageContext> {
        let router = Router(context: StowageContext.self)
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

        router.get("/metrics") { _, _ in
            let text = backend.metrics.render(
                connectionsInUse: backend.database.connectionsInUse, maxConnections: backend.database.maxConnections,
                auditDropped: backend.audit.dropped, auditCleaned: backend.audit.cleaned)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: .init(byteBuffer: ByteBuffer(bytes: text)))
        }

        // Every AWS JSON-protocol service shares POST /, told apart by X-Amz-Target.
        let doors: [(String, [String: Action])] = [
            (ECSActions.targetPrefix, ECSActions.all), (LogsActions.targetPrefix, LogsActions.all),
            (CloudWatchDoor.targetPrefix, CloudWatchDoor.all), (AutoScalingDoor.targetPrefix, AutoScalingDoor.all),
        ]
        router.post("/") { request, context in
            let target = request.headers[HTTPField.Name("X-Amz-Target") ?? .contentType] ?? ""
            let contentType = request.headers[.contentType] ?? "application/x-amz-json-1.1"
            if target.isEmpty, contentType.hasPrefix("application/x-www-form-urlencoded") {
                return await gateway.serve(request, context: context, door: .query, action: "Query", input: .form) { caller, body in
                    let form = QueryRequest(form: body)
                    let (fields, service) = try await QueryDoors.run(form, caller)
                    return Reply(body: QueryProtocol.xml(action: form.action, service: service, fields: fields, requestId: caller.requestId))
                }
            }
            let door = Door.aws(contentType: contentType.hasPrefix("application/x-amz-json") ? contentType : "application/x-amz-json-1.1")
            let action: Action? = doors.lazy.compactMap { prefix, table in
                target.hasPrefix(prefix) ? table[String(target.dropFirst(prefix.count))] : nil
            }.first
            return await gateway.serve(request, context: context, door: door, action: action?.name ?? "unknown") { caller, body in
                guard let action else {
                    throw APIError.unknownOperation(
                        target.isEmpty ? "Missing X-Amz-Target header." : "Unknown operation \(target).")
                }
                return Reply(body: try await action.run(body, caller))
            }
        }

        for route in RESTAPI.routes {
            let names = route.parameterNames
            router.on(RouterPath(route.routerPath), method: route.method) { request, context in
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
                return await gateway.serve(request, context: context, door: .rest, action: route.action,
                                           input: route.path.hasPrefix("/agent/") ? .agent : .aws, texts: texts) { caller, body in
                    try await route.handle(RESTCall(caller: caller, body: body, path: call.path, query: call.query))
                }
            }
        }
        return router
    }
}
