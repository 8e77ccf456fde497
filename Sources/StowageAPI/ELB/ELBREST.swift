import Foundation
import StowageModel

/// `/v1/load-balancers`, `/v1/target-groups` (resource paths for the common calls, names in the path) and
/// `/v1/elbv2/{action}` for every ELBv2 action with its parameters as JSON: the same handlers as the query door.
enum ELBREST {
    static let routes: [RESTRoute] = [
        RESTRoute(method: .get, path: "/v1/load-balancers", action: IAMAction(.elasticloadbalancing, "DescribeLoadBalancers")) { call in
            try await run(call, "DescribeLoadBalancers", [:])
        },
        RESTRoute(method: .post, path: "/v1/load-balancers", action: IAMAction(.elasticloadbalancing, "CreateLoadBalancer")) { call in
            try await run(call, "CreateLoadBalancer", [:], body: true, status: 201)
        },
        RESTRoute(method: .get, path: "/v1/load-balancers/{name}", action: IAMAction(.elasticloadbalancing, "DescribeLoadBalancers")) { call in
            try await run(call, "DescribeLoadBalancers", ["Names.member.1": call.path["name"] ?? ""])
        },
        RESTRoute(method: .delete, path: "/v1/load-balancers/{name}", action: IAMAction(.elasticloadbalancing, "DeleteLoadBalancer")) { call in
            try await run(call, "DeleteLoadBalancer", ["LoadBalancerArn": try await arn(call, loadBalancer: call.path["name"] ?? "")])
        },
        RESTRoute(method: .get, path: "/v1/load-balancers/{name}/listeners", action: IAMAction(.elasticloadbalancing, "DescribeListeners")) { call in
            try await run(call, "DescribeListeners", ["LoadBalancerArn": try await arn(call, loadBalancer: call.path["name"] ?? "")])
        },
        RESTRoute(method: .get, path: "/v1/target-groups", action: IAMAction(.elasticloadbalancing, "DescribeTargetGroups")) { call in
            try await run(call, "DescribeTargetGroups", [:])
        },
        RESTRoute(method: .post, path: "/v1/target-groups", action: IAMAction(.elasticloadbalancing, "CreateTargetGroup")) { call in
            try await run(call, "CreateTargetGroup", [:], body: true, status: 201)
        },
        RESTRoute(method: .get, path: "/v1/target-groups/{name}/health", action: IAMAction(.elasticloadbalancing, "DescribeTargetHealth")) { call in
            try await run(call, "DescribeTargetHealth", ["TargetGroupArn": try await arn(call, targetGroup: call.path["name"] ?? "")])
        },
        RESTRoute(method: .post, path: "/v1/target-groups/{name}/targets", action: IAMAction(.elasticloadbalancing, "RegisterTargets")) { call in
            try await run(call, "RegisterTargets", ["TargetGroupArn": try await arn(call, targetGroup: call.path["name"] ?? "")], body: true)
        },
        RESTRoute(method: .delete, path: "/v1/target-groups/{name}/targets", action: IAMAction(.elasticloadbalancing, "DeregisterTargets")) { call in
            try await run(call, "DeregisterTargets", ["TargetGroupArn": try await arn(call, targetGroup: call.path["name"] ?? "")], body: true)
        },
        RESTRoute(method: .post, path: "/v1/elbv2/{action}", action: IAMAction(.elasticloadbalancing, "ELBv2")) { call in
            try await run(call, call.path["action"] ?? "", [:], body: true)
        },
    ]

    static func run(_ call: RESTCall, _ action: String, _ params: [String: String], body: Bool = false, status: Int = 200) async throws -> Reply {
        var q = body ? try QueryRequest(json: call.body) : QueryRequest(params: [:])
        for (k, v) in params { q.params[k] = v }
        q.params["Action"] = action
        let (fields, _) = try await QueryDoors.run(q, call.caller, service: .elasticloadbalancing)
        var reply = Reply(body: try QueryProtocol.json(fields))
        reply.status = status
        return reply
    }

    static func arn(_ call: RESTCall, loadBalancer name: String) async throws -> String {
        try await arn(call, describe: "DescribeLoadBalancers", list: "LoadBalancers", field: "LoadBalancerArn", name: name,
                      missing: APIError("LoadBalancerNotFound", "Load balancer '\(name)' not found", awsStatus: 400, restStatus: 404))
    }

    static func arn(_ call: RESTCall, targetGroup name: String) async throws -> String {
        try await arn(call, describe: "DescribeTargetGroups", list: "TargetGroups", field: "TargetGroupArn", name: name,
                      missing: APIError("TargetGroupNotFound", "Target group '\(name)' not found", awsStatus: 400, restStatus: 404))
    }

    /// The ARN of a named resource, through the same describe call a client would make.
    static func arn(_ call: RESTCall, describe action: String, list: String, field: String, name: String, missing: APIError) async throws -> String {
        let q = QueryRequest(params: ["Action": action, "Names.member.1": name])
        let (fields, _) = try await QueryDoors.run(q, call.caller, service: .elasticloadbalancing)
        guard case .list(let items)? = fields.first(where: { $0.0 == list })?.1, case .object(let found)? = items.first,
              case .text(let arn)? = found.first(where: { $0.0 == field })?.1 else { throw missing }
        return arn
    }
}
