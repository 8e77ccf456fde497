import Foundation
import Hummingbird
import StowageModel

/// What a REST route handler gets: the caller, the body and the request's parameters.
struct RESTCall: Sendable {
    var caller: Caller
    var body: Data
    var path: [String: String]
    var query: [String: [String]]

    func query(_ name: String) -> String? { query[name]?.first }
    func int(_ name: String) throws(APIError) -> Int? {
        guard let text = query(name) else { return nil }
        guard let value = Int(text) else { throw .invalidParameter("Query parameter \(name) must be an integer.") }
        return value
    }
    /// The caller as the handler of another declared operation, for a route that answers with two (DELETE with
    /// `?delete=true` deletes the task definition rather than deregistering it).
    func caller(serving service: AWSService, _ name: String) throws(APIError) -> Caller {
        guard let operation = Operations.named(service, name) else { throw .server() }
        return caller.serving(operation.action)
    }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if let checked = T.self as? any ShapeChecked.Type { try MemberSupport.check(body, shape: checked.shapeName) }
        return try ECSJSON.decoder().decode(T.self, from: body.isEmpty ? Data("{}".utf8) : body)
    }
}

/// A native REST route, described once: the router registers it and the OpenAPI test checks it is documented.
public struct RESTRoute: Sendable {
    public let method: HTTPRequest.Method
    /// OpenAPI-style path, `{name}` for parameters.
    public let path: String
    /// The operation it serves: what the handler authorizes, what metrics and the audit trail name it by, and (for
    /// a declared operation) its rate bucket.
    public let action: IAMAction
    /// The rate bucket of a route that serves no declared AWS operation (the agent's, Stowage's own REST views).
    let ownAccess: Access?
    let handle: @Sendable (RESTCall) async throws -> Reply

    init(method: HTTPRequest.Method, path: String, action: IAMAction, access: Access? = nil,
         handle: @escaping @Sendable (RESTCall) async throws -> Reply) {
        self.method = method; self.path = path; self.action = action; self.ownAccess = access; self.handle = handle
    }

    /// The declared operation's bucket, else the route's own; nil only for a route that declares neither, which
    /// `RESTTests` refuses.
    var access: Access? { Operations.byAction[action]?.access ?? ownAccess }

    /// Hummingbird's spelling of the path (`:name`).
    var routerPath: String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.hasPrefix("{") && segment.hasSuffix("}") ? ":" + segment.dropFirst().dropLast() : String(segment)
        }.joined(separator: "/")
    }

    var parameterNames: [String] {
        path.split(separator: "/").filter { $0.hasPrefix("{") }.map { String($0.dropFirst().dropLast()) }
    }
}

/// The `/v1` REST API: the same handlers as the AWS doors, with resource-shaped paths and 201/404 statuses.
/// Each service's folder holds its own routes; this is the whole table (the agent protocol's are `AgentREST`'s).
public enum RESTAPI {
    public static var routes: [RESTRoute] { ECSREST.routes + MonitoringREST.routes + IAMREST.routes + SecretStoresREST.routes + ELBREST.routes }
}
