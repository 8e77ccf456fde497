import Foundation
import StowageModel

/// One entry of the dispatch table: decodes the JSON input, runs the handler, encodes the output.
public struct Action: Sendable {
    public let name: String
    let run: @Sendable (Data, Caller) async throws -> Data

    /// Member spelling on the wire: ECS and Logs use camelCase, CloudWatch and Application Auto Scaling PascalCase.
    enum Spelling: Sendable { case camel, pascal }

    init<Input: Decodable & Sendable, Output: Encodable & Sendable>(
        _ name: String, spelling: Spelling = .camel, _ handler: @escaping @Sendable (Input, Caller) async throws -> Output
    ) {
        self.name = name
        self.run = { body, caller in
            let decoder = spelling == .camel ? ECSJSON.decoder() : ECSJSON.pascalDecoder()
            let encoder = spelling == .camel ? ECSJSON.encoder() : ECSJSON.pascalEncoder()
            if let checked = Input.self as? any ShapeChecked.Type { try MemberSupport.check(body, shape: checked.shapeName) }
            let input = try decoder.decode(Input.self, from: body.isEmpty ? Data("{}".utf8) : body)
            return try encoder.encode(try await handler(input, caller))
        }
    }
}

/// The ECS actions by name: the AWS door dispatches here, and the REST routes call the same handlers.
public enum ECSActions {
    public static let targetPrefix = "AmazonEC2ContainerServiceV20141113."

    public static let all: [String: Action] = {
        let actions = [
            Action("CreateCluster", ClusterActions.create),
            Action("DescribeClusters", ClusterActions.describe),
            Action("ListClusters", ClusterActions.list),
            Action("UpdateCluster", ClusterActions.update),
            Action("UpdateClusterSettings", ClusterActions.updateSettings),
            Action("DeleteCluster", ClusterActions.delete),
            Action("TagResource", TagActions.tag),
            Action("UntagResource", TagActions.untag),
            Action("ListTagsForResource", TagActions.list),
            Action("RegisterTaskDefinition", TaskDefinitionActions.register),
            Action("DescribeTaskDefinition", TaskDefinitionActions.describe),
            Action("ListTaskDefinitions", TaskDefinitionActions.list),
            Action("ListTaskDefinitionFamilies", TaskDefinitionActions.families),
            Action("DeregisterTaskDefinition", TaskDefinitionActions.deregister),
            Action("DeleteTaskDefinitions", TaskDefinitionActions.delete),
            Action("RegisterContainerInstance", ContainerInstanceActions.register),
            Action("DescribeContainerInstances", ContainerInstanceActions.describe),
            Action("ListContainerInstances", ContainerInstanceActions.list),
            Action("DeregisterContainerInstance", ContainerInstanceActions.deregister),
            Action("UpdateContainerInstancesState", ContainerInstanceActions.updateState),
            Action("PutAttributes", { (input: AttributesRequest, caller: Caller) in
                try await ContainerInstanceActions.changeAttributes(input, caller, remove: false)
            }),
            Action("DeleteAttributes", { (input: AttributesRequest, caller: Caller) in
                try await ContainerInstanceActions.changeAttributes(input, caller, remove: true)
            }),
            Action("ListAttributes", ContainerInstanceActions.listAttributes),
            Action("RunTask", TaskActions.run),
            Action("StartTask", TaskActions.start),
            Action("StopTask", TaskActions.stop),
            Action("DescribeTasks", TaskActions.describe),
            Action("ListTasks", TaskActions.list),
            Action("CreateService", ServiceActions.create),
            Action("UpdateService", ServiceActions.update),
            Action("DescribeServices", ServiceActions.describe),
            Action("ListServices", ServiceActions.list),
            Action("DeleteService", ServiceActions.delete),
            Action("PutAccountSetting", AccountSettingActions.put),
            Action("PutAccountSettingDefault", AccountSettingActions.putDefault),
            Action("DeleteAccountSetting", AccountSettingActions.delete),
            Action("ListAccountSettings", AccountSettingActions.list),
            Action("UpdateTaskProtection", TaskProtectionActions.update),
            Action("GetTaskProtection", TaskProtectionActions.get),
        ]
        return Dictionary(uniqueKeysWithValues: actions.map { ($0.name, $0) })
    }()
}
