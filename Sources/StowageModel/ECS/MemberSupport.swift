import Foundation

/// A request shape whose members are checked against `MemberSupport` before decoding: JSON decoding drops
/// members it does not know, and a member Stowage does not honour must be refused, never silently ignored.
public protocol ShapeChecked {
    static var shapeName: String { get }
}

/// Which members of the ECS request shapes Stowage honours and which it refuses (with why), member by member.
/// The one table behind the request check, `stowage members` and docs/ECS-MEMBERS.md; a test walks botocore's
/// ECS model and fails on a member that is in neither list.
public enum MemberSupport {
    public enum Status: Sendable, Equatable {
        /// Applied as ECS applies it; the text says how (and any limit).
        case honoured(String)
        /// Refused with InvalidParameterException naming the member; the text says why.
        case refused(String)
    }

    /// Shape -> member -> status.
    public static let shapes: [String: [String: Status]] = [
        "RegisterTaskDefinitionRequest": registerTaskDefinition,
        "ContainerDefinition": containerDefinition,
        "CreateClusterRequest": createCluster,
        "CreateServiceRequest": createService,
        "UpdateServiceRequest": updateService,
        "RunTaskRequest": runTask,
        "StartTaskRequest": startTask,
        "TaskOverride": taskOverride,
        "ContainerOverride": containerOverride,
    ]

    /// Members whose values are shapes of the table, walked by the check.
    static let nested: [String: [String: String]] = [
        "RegisterTaskDefinitionRequest": ["containerDefinitions": "ContainerDefinition"],
        "RunTaskRequest": ["overrides": "TaskOverride"],
        "StartTaskRequest": ["overrides": "TaskOverride"],
        "TaskOverride": ["containerOverrides": "ContainerOverride"],
    ]

    /// Members honoured only for some values of their `type` (the rest refused by the check).
    static let allowedTypes: [String: [String: Set<String>]] = [
        "CreateServiceRequest": ["deploymentController": ["ECS"]],
        "UpdateServiceRequest": ["deploymentController": ["ECS"]],
    ]

    static let later13 = "not supported yet (Stowage's container settings work, issue 13)"
    static let laterSecrets = "not supported yet: Parameter Store and Secrets Manager are not built (issue 14)"

    static let registerTaskDefinition: [String: Status] = [
        "family": .honoured("the family; each call adds a revision"),
        "taskRoleArn": .honoured("credentials served to the task by the agent's credentials endpoint (iam:PassRole checked)"),
        "executionRoleArn": .honoured("checked with iam:PassRole and kept; used to read secrets once they exist"),
        "networkMode": .honoured("bridge (dynamic or static host ports), host or none; awsvpc is refused"),
        "containerDefinitions": .honoured("see ContainerDefinition"),
        "placementConstraints": .honoured("memberOf expressions of the cluster query language"),
        "requiresCompatibilities": .honoured("EC2 and EXTERNAL (Stowage's hosts); FARGATE is refused"),
        "cpu": .honoured("task CPU units, reserved on the instance at placement"),
        "memory": .honoured("task memory, reserved on the instance at placement"),
        "tags": .honoured("tags on the task definition"),
        "volumes": .refused("volumes are \(later13)"),
        "pidMode": .refused("pidMode is \(later13)"),
        "ipcMode": .refused("ipcMode is \(later13)"),
        "proxyConfiguration": .refused("App Mesh proxies are not supported"),
        "inferenceAccelerators": .refused("Elastic Inference accelerators do not exist outside AWS"),
        "ephemeralStorage": .refused("ephemeral storage is a Fargate setting"),
        "runtimePlatform": .refused("runtimePlatform is \(later13)"),
        "enableFaultInjection": .refused("fault injection is not supported"),
    ]

    static let later15 = "not supported yet: load balancing and service discovery are not built (issue 15)"
    static let noCapacityProviders = "capacity providers are not supported: Stowage places on its registered instances"
    static let noExec = "ECS Exec is not supported"
    static let noManagedTags = "ECS-managed and propagated tags are not supported yet"
    static let noAwsvpc = "awsvpc network configuration is refused: tasks do not get their own network interface yet"
    static let noVolumeConfigurations = "EBS volume configurations are not supported"

    static let createCluster: [String: Status] = [
        "clusterName": .honoured("the cluster's name (default: default)"),
        "tags": .honoured("tags on the cluster"),
        "settings": .honoured("containerInsights is kept and shown; Stowage collects task and container metrics always"),
        "configuration": .honoured("kept and shown (ECS Exec itself is refused where it is asked for)"),
        "capacityProviders": .refused(noCapacityProviders),
        "defaultCapacityProviderStrategy": .refused(noCapacityProviders),
        "serviceConnectDefaults": .refused("Service Connect is \(later15)"),
    ]

    /// What CreateService and UpdateService share: the same settings, honoured or refused alike.
    static let serviceSettings: [String: Status] = [
        "cluster": .honoured("the cluster"),
        "desiredCount": .honoured("tasks kept running"),
        "deploymentConfiguration": .honoured("minimum/maximum percent, circuit breaker with rollback, alarms"),
        "placementConstraints": .honoured("distinctInstance and memberOf"),
        "placementStrategy": .honoured("spread, binpack and random"),
        "healthCheckGracePeriodSeconds": .honoured("container health ignored for this long after start"),
        "deploymentController": .honoured("type ECS (rolling updates); CODE_DEPLOY and EXTERNAL are refused"),
        "loadBalancers": .refused("loadBalancers are \(later15)"),
        "serviceRegistries": .refused("serviceRegistries are \(later15)"),
        "serviceConnectConfiguration": .refused("Service Connect is \(later15)"),
        "vpcLatticeConfigurations": .refused("VPC Lattice does not exist outside AWS"),
        "availabilityZoneRebalancing": .refused("availability-zone rebalancing is not supported yet"),
        "capacityProviderStrategy": .refused(noCapacityProviders),
        "platformVersion": .refused("platformVersion is a Fargate setting"),
        "networkConfiguration": .refused(noAwsvpc),
        "enableExecuteCommand": .refused(noExec),
        "enableECSManagedTags": .refused(noManagedTags),
        "propagateTags": .refused(noManagedTags),
        "volumeConfigurations": .refused(noVolumeConfigurations),
    ]

    static let createService: [String: Status] = serviceSettings.merging([
        "serviceName": .honoured("the service's name"),
        "taskDefinition": .honoured("family, family:revision or ARN"),
        "clientToken": .honoured("idempotency of the create"),
        "launchType": .honoured("EC2 or EXTERNAL; FARGATE is refused"),
        "schedulingStrategy": .honoured("REPLICA or DAEMON"),
        "tags": .honoured("tags on the service"),
        "role": .refused("the service-linked load balancer role is \(later15)"),
    ]) { _, own in own }

    static let updateService: [String: Status] = serviceSettings.merging([
        "service": .honoured("the service"),
        "taskDefinition": .honoured("a new deployment with this revision"),
        "forceNewDeployment": .honoured("a new deployment of the same revision"),
    ]) { _, own in own }

    /// What RunTask and StartTask share.
    static let taskLaunch: [String: Status] = [
        "cluster": .honoured("the cluster"),
        "taskDefinition": .honoured("family, family:revision or ARN"),
        "group": .honoured("the task group (for placement and listing)"),
        "overrides": .honoured("see TaskOverride"),
        "startedBy": .honoured("kept and listable"),
        "tags": .honoured("tags on the tasks"),
        "networkConfiguration": .refused(noAwsvpc),
        "enableExecuteCommand": .refused(noExec),
        "enableECSManagedTags": .refused(noManagedTags),
        "propagateTags": .refused(noManagedTags),
        "referenceId": .refused("referenceId is not supported"),
        "volumeConfigurations": .refused(noVolumeConfigurations),
    ]

    static let runTask: [String: Status] = taskLaunch.merging([
        "count": .honoured("1 to 10 tasks"),
        "placementConstraints": .honoured("distinctInstance and memberOf"),
        "placementStrategy": .honoured("spread, binpack and random"),
        "clientToken": .honoured("idempotency of the run"),
        "launchType": .honoured("EC2 or EXTERNAL; FARGATE is refused"),
        "capacityProviderStrategy": .refused(noCapacityProviders),
        "platformVersion": .refused("platformVersion is a Fargate setting"),
    ]) { _, own in own }

    static let startTask: [String: Status] = taskLaunch.merging([
        "containerInstances": .honoured("the instances to start on (ACTIVE, with room)"),
    ]) { _, own in own }

    static let taskOverride: [String: Status] = [
        "containerOverrides": .honoured("see ContainerOverride"),
        "cpu": .honoured("task CPU reserved at placement"),
        "memory": .honoured("task memory reserved at placement"),
        "taskRoleArn": .refused("overriding the task role is not supported yet: the task definition's role is used"),
        "executionRoleArn": .refused("overriding the execution role is not supported yet"),
        "inferenceAcceleratorOverrides": .refused("Elastic Inference accelerators do not exist outside AWS"),
        "ephemeralStorage": .refused("ephemeral storage is a Fargate setting"),
    ]

    static let containerOverride: [String: Status] = [
        "name": .honoured("the container overridden"),
        "command": .honoured("replaces the command"),
        "environment": .honoured("added to (and replacing) the definition's variables"),
        "cpu": .honoured("CPU shares and placement"),
        "memory": .honoured("hard memory limit and placement"),
        "memoryReservation": .honoured("soft memory limit and placement"),
        "environmentFiles": .refused("environmentFiles (S3 objects) are not supported"),
        "resourceRequirements": .refused("overriding GPU requirements is not supported yet"),
    ]

    static let containerDefinition: [String: Status] = [
        "name": .honoured("the container's name"),
        "image": .honoured("run with the engine's local copy"),
        "cpu": .honoured("CPU shares, and CPU units reserved at placement"),
        "memory": .honoured("hard memory limit, reserved at placement"),
        "memoryReservation": .honoured("soft memory limit, reserved at placement"),
        "portMappings": .honoured("tcp/udp; dynamic host ports from the instance's range"),
        "essential": .honoured("an essential container's exit stops the task"),
        "entryPoint": .honoured("the container's entry point"),
        "command": .honoured("the container's command"),
        "environment": .honoured("environment variables"),
        "dependsOn": .honoured("START, COMPLETE, SUCCESS and HEALTHY"),
        "startTimeout": .honoured("seconds a dependency may take"),
        "stopTimeout": .honoured("seconds between SIGTERM and SIGKILL"),
        "user": .honoured("the user the process runs as"),
        "workingDirectory": .honoured("the working directory"),
        "logConfiguration": .honoured("awslogs: lines shipped to Stowage's CloudWatch Logs"),
        "healthCheck": .honoured("run by the agent; UNHEALTHY replaces the task"),
        "resourceRequirements": .honoured("GPU counts reserved and assigned at placement"),
        "repositoryCredentials": .refused("repositoryCredentials is \(laterSecrets)"),
        "secrets": .refused("secrets is \(laterSecrets)"),
        "restartPolicy": .refused("restartPolicy is \(later13)"),
        "links": .refused("links are \(later13)"),
        "environmentFiles": .refused("environmentFiles (S3 objects) are not supported"),
        "mountPoints": .refused("mountPoints are \(later13)"),
        "volumesFrom": .refused("volumesFrom is \(later13)"),
        "linuxParameters": .refused("linuxParameters is \(later13)"),
        "versionConsistency": .refused("versionConsistency is \(later13)"),
        "hostname": .refused("hostname is \(later13)"),
        "disableNetworking": .refused("disableNetworking is \(later13)"),
        "privileged": .refused("privileged is \(later13)"),
        "readonlyRootFilesystem": .refused("readonlyRootFilesystem is \(later13)"),
        "dnsServers": .refused("dnsServers is \(later13)"),
        "dnsSearchDomains": .refused("dnsSearchDomains is \(later13)"),
        "extraHosts": .refused("extraHosts is \(later13)"),
        "dockerSecurityOptions": .refused("dockerSecurityOptions is \(later13)"),
        "interactive": .refused("interactive is \(later13)"),
        "pseudoTerminal": .refused("pseudoTerminal is \(later13)"),
        "dockerLabels": .refused("dockerLabels are \(later13)"),
        "ulimits": .refused("ulimits are \(later13)"),
        "systemControls": .refused("systemControls is \(later13)"),
        "firelensConfiguration": .refused("FireLens log routing is not supported"),
        "credentialSpecs": .refused("credentialSpecs (Active Directory) are not supported"),
    ]

    /// Refuses the first member that is present and refused, or that the shape does not have. Null, false and
    /// empty lists or objects ask for nothing, so they pass.
    public static func check(_ body: Data, shape: String) throws(APIError) {
        guard let object = try? JSONSerialization.jsonObject(with: body.isEmpty ? Data("{}".utf8) : body) else { return }
        try check(object, shape: shape, path: "")
    }

    static func check(_ value: Any, shape: String, path: String) throws(APIError) {
        guard let members = shapes[shape], let object = value as? [String: Any] else { return }
        for key in object.keys.sorted() {
            guard let member = object[key], asksForSomething(member) else { continue }
            let name = path.isEmpty ? key : "\(path).\(key)"
            switch members[key] {
            case nil:
                throw .invalidParameter("\(name) is not a member of \(shape); Stowage does not accept it.")
            case .refused(let why)?:
                throw .invalidParameter("\(name) is refused: \(why).")
            case .honoured?:
                if let allowed = allowedTypes[shape]?[key] {
                    let type = (member as? [String: Any])?["type"] as? String ?? ""
                    guard allowed.contains(type) else {
                        throw .invalidParameter("\(name) type \(type) is refused: only \(allowed.sorted().joined(separator: ", ")) is supported.")
                    }
                }
                guard let inner = nested[shape]?[key] else { continue }
                if let list = member as? [Any] {
                    for (index, item) in list.enumerated() { try check(item, shape: inner, path: "\(name)[\(index)]") }
                } else {
                    try check(member, shape: inner, path: name)
                }
            }
        }
    }

    static func asksForSomething(_ value: Any) -> Bool {
        switch value {
        case is NSNull: false
        case let number as NSNumber: number != 0  // false (or 0) asks for nothing
        case let list as [Any]: !list.isEmpty
        case let object as [String: Any]: !object.isEmpty
        default: true
        }
    }

    /// The table as Markdown, for docs/ECS-MEMBERS.md.
    public static func markdown() -> String {
        var text = "# ECS request members: honoured or refused\n\nGenerated by `stowage members --markdown`; a test keeps it equal to the table in\n`Sources/StowageModel/ECS/MemberSupport.swift` and walks botocore's ECS model so that no member is in neither list.\nA refused member is answered with InvalidParameterException naming it, and nothing is written.\n"
        for shape in shapes.keys.sorted() {
            text += "\n## \(shape)\n\n| member | status | how or why |\n|---|---|---|\n"
            for (member, status) in (shapes[shape] ?? [:]).sorted(by: { $0.key < $1.key }) {
                switch status {
                case .honoured(let how): text += "| `\(member)` | honoured | \(how) |\n"
                case .refused(let why): text += "| `\(member)` | refused | \(why) |\n"
                }
            }
        }
        return text
    }
}

extension RegisterTaskDefinitionRequest: ShapeChecked { public static let shapeName = "RegisterTaskDefinitionRequest" }
extension CreateClusterRequest: ShapeChecked { public static let shapeName = "CreateClusterRequest" }
extension CreateServiceRequest: ShapeChecked { public static let shapeName = "CreateServiceRequest" }
extension UpdateServiceRequest: ShapeChecked { public static let shapeName = "UpdateServiceRequest" }
extension RunTaskRequest: ShapeChecked { public static let shapeName = "RunTaskRequest" }
extension StartTaskRequest: ShapeChecked { public static let shapeName = "StartTaskRequest" }
