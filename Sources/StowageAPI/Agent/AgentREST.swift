import Foundation
import Hummingbird
import StowageModel

/// The agent protocol under `/agent/v1`: desired tasks (long poll), state reports, task credentials and secrets, the
/// tenant's DNS names, telemetry.
enum AgentREST {
    static let routes: [RESTRoute] = [
        RESTRoute(method: .get, path: "/agent/v1/clusters/{cluster}/container-instances/{containerInstance}/tasks", action: IAMAction(.ecs, "Poll")) { call in
            try .json(try await AgentActions.desired(cluster: call.path["cluster"] ?? "", instance: call.path["containerInstance"] ?? "",
                                                     after: call.query("after"), wait: try call.int("wait") ?? 0, call.caller))
        },
        RESTRoute(method: .post, path: "/agent/v1/clusters/{cluster}/container-instances/{containerInstance}/state", action: IAMAction(.ecs, "SubmitTaskStateChange")) { call in
            try .json(try await AgentActions.report(cluster: call.path["cluster"] ?? "", instance: call.path["containerInstance"] ?? "",
                                                    try call.decode(StateReportRequest.self), call.caller))
        },
        RESTRoute(method: .get, path: "/agent/v1/clusters/{cluster}/container-instances/{containerInstance}/tasks/{task}/credentials",
                  action: IAMAction(.ecs, "GetTaskCredentials")) { call in
            try .json(try await AgentActions.taskCredentials(cluster: call.path["cluster"] ?? "", instance: call.path["containerInstance"] ?? "",
                                                             task: call.path["task"] ?? "", call.caller))
        },
        RESTRoute(method: .get, path: "/agent/v1/clusters/{cluster}/container-instances/{containerInstance}/tasks/{task}/secrets",
                  action: IAMAction(.ecs, "GetTaskSecrets")) { call in
            try .json(try await TaskSecretActions.taskSecrets(cluster: call.path["cluster"] ?? "", instance: call.path["containerInstance"] ?? "",
                                                              task: call.path["task"] ?? "", call.caller))
        },
        RESTRoute(method: .get, path: "/agent/v1/clusters/{cluster}/container-instances/{containerInstance}/discovery",
                  action: IAMAction(.ecs, "GetDiscoveryNames")) { call in
            try .json(try await AgentActions.discoveryNames(cluster: call.path["cluster"] ?? "", instance: call.path["containerInstance"] ?? "",
                                                            call.caller))
        },
        RESTRoute(method: .get, path: "/agent/v1/clusters/{cluster}/container-instances/{containerInstance}/routes",
                  action: IAMAction(.ecs, "GetTaskRoutes")) { call in
            try .json(try await AgentActions.taskRoutes(cluster: call.path["cluster"] ?? "", instance: call.path["containerInstance"] ?? "",
                                                        call.caller))
        },
        RESTRoute(method: .post, path: "/agent/v1/clusters/{cluster}/container-instances/{containerInstance}/instance-credentials",
                  action: IAMAction(.ecs, "RotateInstanceCredentials")) { call in
            try .json(try await AgentActions.rotateCredentials(cluster: call.path["cluster"] ?? "", instance: call.path["containerInstance"] ?? "",
                                                               call.caller))
        },
        RESTRoute(method: .post, path: "/agent/v1/clusters/{cluster}/container-instances/{containerInstance}/telemetry", action: IAMAction(.ecs, "SubmitTelemetry")) { call in
            try .json(try await TelemetryActions.ingest(cluster: call.path["cluster"] ?? "", instance: call.path["containerInstance"] ?? "",
                                                        try call.decode(AgentProtocol.Telemetry.self), call.caller))
        },
    ]
}
