import Foundation
import Hummingbird
import StowageModel

/// ECS resources under `/v1`: clusters, task definitions, container instances, services, tasks, tags.
enum ECSREST {
    struct ClusterPatch: Codable { var settings: [ClusterSetting]?; var configuration: JSONValue? }
    struct InstancePatch: Codable { var status: String }
    struct ServicePatch: Codable {
        var desiredCount: Int?
        var taskDefinition: String?
        var deploymentConfiguration: DeploymentConfiguration?
        var placementConstraints: [PlacementConstraint]?
        var placementStrategy: [PlacementStrategy]?
        var forceNewDeployment: Bool?
        var healthCheckGracePeriodSeconds: Int?
    }

    static let routes: [RESTRoute] = [
        RESTRoute(method: .post, path: "/v1/clusters", action: IAMAction(.ecs, "CreateCluster")) { call in
            try .json(try await ClusterActions.create(try call.decode(CreateClusterRequest.self), call.caller), status: 201)
        },
        RESTRoute(method: .get, path: "/v1/clusters", action: IAMAction(.ecs, "ListClusters")) { call in
            try .json(try await ClusterActions.list(ListRequest(nextToken: call.query("nextToken"), maxResults: try call.int("maxResults")), call.caller))
        },
        RESTRoute(method: .get, path: "/v1/clusters/{cluster}", action: IAMAction(.ecs, "DescribeClusters")) { call in
            let name = call.path["cluster"] ?? ""
            let out = try await ClusterActions.describe(
                DescribeClustersRequest(clusters: [name], include: Array(ClusterActions.includes)), call.caller)
            guard let cluster = out.clusters.first, cluster.status == "ACTIVE" else {
                throw APIError.clusterNotFound("Cluster not found: \(name).")
            }
            return try .json(ClusterResponse(cluster: cluster))
        },
        RESTRoute(method: .patch, path: "/v1/clusters/{cluster}", action: IAMAction(.ecs, "UpdateCluster")) { call in
            let patch = try call.decode(ClusterPatch.self)
            return try .json(try await ClusterActions.update(
                UpdateClusterRequest(cluster: call.path["cluster"] ?? "", settings: patch.settings, configuration: patch.configuration),
                call.caller))
        },
        RESTRoute(method: .get, path: "/v1/clusters/{cluster}/events", action: IAMAction(.ecs, "DescribeClusters")) { call in
            try .json(try await ClusterActions.events(cluster: call.path["cluster"] ?? "", call.caller))
        },
        RESTRoute(method: .delete, path: "/v1/clusters/{cluster}", action: IAMAction(.ecs, "DeleteCluster")) { call in
            try .json(try await ClusterActions.delete(ClusterReferenceRequest(cluster: call.path["cluster"] ?? ""), call.caller))
        },
        RESTRoute(method: .post, path: "/v1/task-definitions", action: IAMAction(.ecs, "RegisterTaskDefinition")) { call in
            try .json(try await TaskDefinitionActions.register(try call.decode(RegisterTaskDefinitionRequest.self), call.caller), status: 201)
        },
        RESTRoute(method: .get, path: "/v1/task-definitions", action: IAMAction(.ecs, "ListTaskDefinitions")) { call in
            try .json(try await TaskDefinitionActions.list(ListTaskDefinitionsRequest(
                familyPrefix: call.query("familyPrefix"), status: call.query("status"), sort: call.query("sort"),
                nextToken: call.query("nextToken"), maxResults: try call.int("maxResults")), call.caller))
        },
        RESTRoute(method: .get, path: "/v1/task-definition-families", action: IAMAction(.ecs, "ListTaskDefinitionFamilies")) { call in
            try .json(try await TaskDefinitionActions.families(ListTaskDefinitionsRequest(
                familyPrefix: call.query("familyPrefix"), status: call.query("status"),
                nextToken: call.query("nextToken"), maxResults: try call.int("maxResults")), call.caller))
        },
        RESTRoute(method: .get, path: "/v1/task-definitions/{taskDefinition}", action: IAMAction(.ecs, "DescribeTaskDefinition")) { call in
            try .json(try await TaskDefinitionActions.describe(
                DescribeTaskDefinitionRequest(taskDefinition: call.path["taskDefinition"] ?? "", include: ["TAGS"]), call.caller))
        },
        RESTRoute(method: .delete, path: "/v1/task-definitions/{taskDefinition}", action: IAMAction(.ecs, "DeregisterTaskDefinition")) { call in
            let ref = call.path["taskDefinition"] ?? ""
            guard call.query("delete") == "true" else {
                return try .json(try await TaskDefinitionActions.deregister(DeregisterTaskDefinitionRequest(taskDefinition: ref), call.caller))
            }
            let out = try await TaskDefinitionActions.delete(DeleteTaskDefinitionsRequest(taskDefinitions: [ref]),
                                                          try call.caller(serving: .ecs, "DeleteTaskDefinitions"))
            guard let deleted = out.taskDefinitions.first else {
                let reason = out.failures.first?.reason ?? "The specified task definition does not exist."
                throw reason.contains("ACTIVE") ? APIError.client(reason) : APIError.taskDefinitionNotFound(reason)
            }
            return try .json(TaskDefinitionResponse(taskDefinition: deleted))
        },
        RESTRoute(method: .post, path: "/v1/clusters/{cluster}/container-instances", action: IAMAction(.ecs, "RegisterContainerInstance")) { call in
            var input = try call.decode(RegisterContainerInstanceRequest.self)
            input.cluster = call.path["cluster"]
            return try .json(try await ContainerInstanceActions.register(input, call.caller), status: 201)
        },
        RESTRoute(method: .get, path: "/v1/clusters/{cluster}/container-instances", action: IAMAction(.ecs, "ListContainerInstances")) { call in
            try .json(try await ContainerInstanceActions.list(ListContainerInstancesRequest(
                cluster: call.path["cluster"], status: call.query("status"), nextToken: call.query("nextToken"),
                maxResults: try call.int("maxResults")), call.caller))
        },
        RESTRoute(method: .get, path: "/v1/clusters/{cluster}/container-instances/{containerInstance}", action: IAMAction(.ecs, "DescribeContainerInstances")) { call in
            let id = call.path["containerInstance"] ?? ""
            let out = try await ContainerInstanceActions.describe(
                DescribeContainerInstancesRequest(cluster: call.path["cluster"], containerInstances: [id]), call.caller)
            guard let instance = out.containerInstances.first, instance.status != "INACTIVE" else {
                throw APIError.containerInstanceNotFound("Container instance \(id) not found.")
            }
            return try .json(ContainerInstanceResponse(containerInstance: instance))
        },
        RESTRoute(method: .patch, path: "/v1/clusters/{cluster}/container-instances/{containerInstance}", action: IAMAction(.ecs, "UpdateContainerInstancesState")) { call in
            let id = call.path["containerInstance"] ?? ""
            let patch = try call.decode(InstancePatch.self)
            let out = try await ContainerInstanceActions.updateState(
                UpdateContainerInstancesStateRequest(cluster: call.path["cluster"], containerInstances: [id], status: patch.status), call.caller)
            guard let instance = out.containerInstances.first else {
                throw APIError.containerInstanceNotFound("Container instance \(id) not found.")
            }
            return try .json(ContainerInstanceResponse(containerInstance: instance))
        },
        RESTRoute(method: .delete, path: "/v1/clusters/{cluster}/container-instances/{containerInstance}", action: IAMAction(.ecs, "DeregisterContainerInstance")) { call in
            try .json(try await ContainerInstanceActions.deregister(DeregisterContainerInstanceRequest(
                cluster: call.path["cluster"], containerInstance: call.path["containerInstance"] ?? "",
                force: call.query("force") == "true"), call.caller))
        },
        RESTRoute(method: .post, path: "/v1/clusters/{cluster}/services", action: IAMAction(.ecs, "CreateService")) { call in
            var input = try call.decode(CreateServiceRequest.self)
            input.cluster = call.path["cluster"]
            return try .json(try await ServiceActions.create(input, call.caller), status: 201)
        },
        RESTRoute(method: .get, path: "/v1/clusters/{cluster}/services", action: IAMAction(.ecs, "ListServices")) { call in
            var input = ListServicesRequest(cluster: call.path["cluster"])
            input.nextToken = call.query("nextToken")
            input.maxResults = try call.int("maxResults")
            input.schedulingStrategy = call.query("schedulingStrategy")
            return try .json(try await ServiceActions.list(input, call.caller))
        },
        RESTRoute(method: .get, path: "/v1/clusters/{cluster}/services/{service}", action: IAMAction(.ecs, "DescribeServices")) { call in
            let name = call.path["service"] ?? ""
            var input = DescribeServicesRequest(cluster: call.path["cluster"], services: [name])
            input.include = ["TAGS"]
            guard let service = try await ServiceActions.describe(input, call.caller).services.first else {
                throw ServiceActions.serviceNotFound(name)
            }
            return try .json(ServiceResponse(service: service))
        },
        RESTRoute(method: .get, path: "/v1/clusters/{cluster}/services/{service}/deployments", action: IAMAction(.ecs, "DescribeServices")) { call in
            try .json(try await ServiceActions.history(cluster: call.path["cluster"], service: call.path["service"] ?? "", call.caller))
        },
        RESTRoute(method: .patch, path: "/v1/clusters/{cluster}/services/{service}", action: IAMAction(.ecs, "UpdateService")) { call in
            let patch = try call.decode(ServicePatch.self)
            var input = UpdateServiceRequest(cluster: call.path["cluster"], service: call.path["service"] ?? "")
            input.desiredCount = patch.desiredCount
            input.taskDefinition = patch.taskDefinition
            input.deploymentConfiguration = patch.deploymentConfiguration
            input.placementConstraints = patch.placementConstraints
            input.placementStrategy = patch.placementStrategy
            input.forceNewDeployment = patch.forceNewDeployment
            input.healthCheckGracePeriodSeconds = patch.healthCheckGracePeriodSeconds
            return try .json(try await ServiceActions.update(input, call.caller))
        },
        RESTRoute(method: .delete, path: "/v1/clusters/{cluster}/services/{service}", action: IAMAction(.ecs, "DeleteService")) { call in
            try .json(try await ServiceActions.delete(DeleteServiceRequest(
                cluster: call.path["cluster"], service: call.path["service"] ?? "", force: call.query("force") == "true"), call.caller))
        },
        RESTRoute(method: .post, path: "/v1/clusters/{cluster}/tasks", action: IAMAction(.ecs, "RunTask")) { call in
            var input = try call.decode(RunTaskRequest.self)
            input.cluster = call.path["cluster"]
            return try .json(try await TaskActions.run(input, call.caller), status: 201)
        },
        RESTRoute(method: .get, path: "/v1/clusters/{cluster}/tasks", action: IAMAction(.ecs, "ListTasks")) { call in
            var input = ListTasksRequest(cluster: call.path["cluster"])
            input.containerInstance = call.query("containerInstance")
            input.family = call.query("family")
            input.serviceName = call.query("serviceName")
            input.startedBy = call.query("startedBy")
            input.desiredStatus = call.query("desiredStatus")
            input.nextToken = call.query("nextToken")
            input.maxResults = try call.int("maxResults")
            return try .json(try await TaskActions.list(input, call.caller))
        },
        RESTRoute(method: .get, path: "/v1/clusters/{cluster}/tasks/{task}", action: IAMAction(.ecs, "DescribeTasks")) { call in
            let id = call.path["task"] ?? ""
            var input = DescribeTasksRequest(cluster: call.path["cluster"], tasks: [id])
            input.include = ["TAGS"]
            guard let task = try await TaskActions.describe(input, call.caller).tasks.first else {
                throw APIError("InvalidParameterException", "The referenced task was not found.", restStatus: 404)
            }
            return try .json(TaskResponse(task: task))
        },
        RESTRoute(method: .delete, path: "/v1/clusters/{cluster}/tasks/{task}", action: IAMAction(.ecs, "StopTask")) { call in
            try .json(try await TaskActions.stop(StopTaskRequest(
                cluster: call.path["cluster"], task: call.path["task"] ?? "", reason: call.query("reason")), call.caller))
        },
        RESTRoute(method: .get, path: "/v1/tags", action: IAMAction(.ecs, "ListTagsForResource")) { call in
            try .json(try await TagActions.list(ListTagsForResourceRequest(resourceArn: call.query("resourceArn") ?? ""), call.caller))
        },
        RESTRoute(method: .post, path: "/v1/tags", action: IAMAction(.ecs, "TagResource")) { call in
            try .json(try await TagActions.tag(try call.decode(TagResourceRequest.self), call.caller))
        },
        RESTRoute(method: .delete, path: "/v1/tags", action: IAMAction(.ecs, "UntagResource")) { call in
            try .json(try await TagActions.untag(UntagResourceRequest(
                resourceArn: call.query("resourceArn") ?? "", tagKeys: call.query["tagKeys"] ?? []), call.caller))
        },
    ]
}
