import Foundation
import StowageModel

/// The ECS operations: the AWS door dispatches here, and the ECS REST routes name the same operations.
public enum ECSOperations {
    public static let all: [Operation] = [
        Operation.json(.ecs, "CreateCluster", .write, ClusterActions.create),
        Operation.json(.ecs, "DescribeClusters", .read, ClusterActions.describe),
        Operation.json(.ecs, "ListClusters", .read, ClusterActions.list),
        Operation.json(.ecs, "UpdateCluster", .write, ClusterActions.update),
        Operation.json(.ecs, "UpdateClusterSettings", .write, ClusterActions.updateSettings),
        Operation.json(.ecs, "DeleteCluster", .write, ClusterActions.delete),
        Operation.json(.ecs, "TagResource", .write, TagActions.tag),
        Operation.json(.ecs, "UntagResource", .write, TagActions.untag),
        Operation.json(.ecs, "ListTagsForResource", .read, TagActions.list),
        Operation.json(.ecs, "RegisterTaskDefinition", .write, TaskDefinitionActions.register),
        Operation.json(.ecs, "DescribeTaskDefinition", .read, TaskDefinitionActions.describe),
        Operation.json(.ecs, "ListTaskDefinitions", .read, TaskDefinitionActions.list),
        Operation.json(.ecs, "ListTaskDefinitionFamilies", .read, TaskDefinitionActions.families),
        Operation.json(.ecs, "DeregisterTaskDefinition", .write, TaskDefinitionActions.deregister),
        Operation.json(.ecs, "DeleteTaskDefinitions", .write, TaskDefinitionActions.delete),
        Operation.json(.ecs, "RegisterContainerInstance", .write, ContainerInstanceActions.register),
        Operation.json(.ecs, "DescribeContainerInstances", .read, ContainerInstanceActions.describe),
        Operation.json(.ecs, "ListContainerInstances", .read, ContainerInstanceActions.list),
        Operation.json(.ecs, "DeregisterContainerInstance", .write, ContainerInstanceActions.deregister),
        Operation.json(.ecs, "UpdateContainerInstancesState", .write, ContainerInstanceActions.updateState),
        Operation.json(.ecs, "PutAttributes", .write, { (input: AttributesRequest, caller: Caller) in
            try await ContainerInstanceActions.changeAttributes(input, caller, remove: false)
        }),
        Operation.json(.ecs, "DeleteAttributes", .write, { (input: AttributesRequest, caller: Caller) in
            try await ContainerInstanceActions.changeAttributes(input, caller, remove: true)
        }),
        Operation.json(.ecs, "ListAttributes", .read, ContainerInstanceActions.listAttributes),
        Operation.json(.ecs, "RunTask", .write, TaskActions.run),
        Operation.json(.ecs, "StartTask", .write, TaskActions.start),
        Operation.json(.ecs, "StopTask", .write, TaskActions.stop),
        Operation.json(.ecs, "DescribeTasks", .read, TaskActions.describe),
        Operation.json(.ecs, "ListTasks", .read, TaskActions.list),
        Operation.json(.ecs, "CreateService", .write, ServiceActions.create),
        Operation.json(.ecs, "UpdateService", .write, ServiceActions.update),
        Operation.json(.ecs, "DescribeServices", .read, ServiceActions.describe),
        Operation.json(.ecs, "ListServices", .read, ServiceActions.list),
        Operation.json(.ecs, "DeleteService", .write, ServiceActions.delete),
        Operation.json(.ecs, "PutAccountSetting", .write, AccountSettingActions.put),
        Operation.json(.ecs, "PutAccountSettingDefault", .write, AccountSettingActions.putDefault),
        Operation.json(.ecs, "DeleteAccountSetting", .write, AccountSettingActions.delete),
        Operation.json(.ecs, "ListAccountSettings", .read, AccountSettingActions.list),
        Operation.json(.ecs, "UpdateTaskProtection", .write, TaskProtectionActions.update),
        Operation.json(.ecs, "GetTaskProtection", .read, TaskProtectionActions.get),
        Operation.json(.ecs, "CreateCapacityProvider", .write, CapacityProviderActions.create),
        Operation.json(.ecs, "UpdateCapacityProvider", .write, CapacityProviderActions.update),
        Operation.json(.ecs, "DescribeCapacityProviders", .read, CapacityProviderActions.describe),
        Operation.json(.ecs, "DeleteCapacityProvider", .write, CapacityProviderActions.delete),
        Operation.json(.ecs, "PutClusterCapacityProviders", .write, CapacityProviderActions.putCluster),
    ]
}
