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
        "Volume": volume,
        "HostVolumeProperties": ["sourcePath": .honoured("bind-mounted; made on the host when missing, as Docker does")],
        "DockerVolumeConfiguration": dockerVolumeConfiguration,
        "LoadBalancer": [
            "targetGroupArn": .honoured("an ELBv2 target group of the account (instance or ip type)"),
            "containerName": .honoured("the container whose port is registered"),
            "containerPort": .honoured("a containerPort of its portMappings; the target is the host and its host port, or for awsvpc tasks (ip target groups only) the task's own address and this port"),
            "loadBalancerName": .refused("Classic Load Balancers do not exist in Stowage: give targetGroupArn"),
            "advancedConfiguration": .refused("blue/green traffic shifting is not supported: deployments are rolling"),
        ],
        "ServiceRegistry": [
            "registryArn": .honoured("a Cloud Map service of the account: tasks are registered there while they serve"),
            "containerName": .honoured("the container whose port the instance carries"),
            "containerPort": .honoured("a containerPort of its portMappings; AWS_INSTANCE_PORT is its host port (an awsvpc task's: this port, at the task's own address)"),
            "port": .honoured("awsvpc services only (not with containerName/containerPort): AWS_INSTANCE_PORT and SRV records carry it, at the task's own address; refused for bridge and host: give containerName and containerPort"),
        ],
        "NetworkConfiguration": ["awsvpcConfiguration": .honoured("see AwsVpcConfiguration")],
        "AwsVpcConfiguration": [
            "subnets": .honoured("1 to 16 ids: only instances whose ecs.subnet-id is one of them (or that declare none) take the task, spread over the subnets first"),
            "securityGroups": .refused("Stowage does not filter task traffic by security group"),
            "assignPublicIp": .honoured("DISABLED; ENABLED is refused (tasks get addresses on their instance's task subnet only)"),
        ],
        "CapacityProviderStrategyItem": [
            "capacityProvider": .honoured("FARGATE, FARGATE_SPOT or one of the account's providers the cluster uses"),
            "base": .honoured("0-100000 tasks placed on it first (one provider of a strategy at most)"),
            "weight": .honoured("0-1000: the share of the tasks beyond the base"),
        ],
        "CreateCapacityProviderRequest": [
            "name": .honoured("the provider: its capacity is the instances whose stowage.capacity-provider attribute is this name"),
            "cluster": .honoured("the cluster it is made for (kept and shown)"),
            "tags": .honoured("tags on the provider"),
            "autoScalingGroupProvider": .refused(noAutoScalingGroups),
            "managedInstancesProvider": .refused(noManagedInstances),
        ],
        "UpdateCapacityProviderRequest": [
            "name": .honoured("the provider"),
            "cluster": .honoured("the cluster it was made for"),
            "autoScalingGroupProvider": .refused(noAutoScalingGroups),
            "managedInstancesProvider": .refused(noManagedInstances),
        ],
        "PutClusterCapacityProvidersRequest": [
            "cluster": .honoured("the cluster"),
            "capacityProviders": .honoured("FARGATE, FARGATE_SPOT and the account's own providers (one a live service's strategy uses must stay)"),
            "defaultCapacityProviderStrategy": .honoured("see CapacityProviderStrategyItem; only providers of capacityProviders"),
        ],
        "RuntimePlatform": [
            "cpuArchitecture": .honoured("X86_64 or ARM64: only instances whose ecs.cpu-architecture is x86_64 or arm64"),
            "operatingSystemFamily": .honoured("LINUX: only instances whose ecs.os-type is linux; WINDOWS_* families are refused"),
        ],
        "MountPoint": [
            "sourceVolume": .honoured("a volume the task definition declares"),
            "containerPath": .honoured("where it is mounted"),
            "readOnly": .honoured("mounted read-only"),
        ],
        "VolumeFrom": [
            "sourceContainer": .honoured("another container of the task, started first"),
            "readOnly": .honoured("its volumes mounted read-only"),
        ],
        "LinuxParameters": linuxParameters,
        "KernelCapabilities": ["add": .honoured("capabilities added"), "drop": .honoured("capabilities dropped")],
        "Device": [
            "hostPath": .honoured("the host device"),
            "containerPath": .honoured("its path in the container (default: the host path)"),
            "permissions": .honoured("read, write, mknod (cgroup permissions)"),
        ],
        "Tmpfs": [
            "containerPath": .honoured("where the tmpfs is mounted"),
            "size": .honoured("its size in MiB"),
            "mountOptions": .honoured("passed to the mount"),
        ],
        "ContainerRestartPolicy": [
            "enabled": .honoured("an exited container is restarted in place by the agent; restartCount is shown on the container"),
            "ignoredExitCodes": .honoured("exit codes that end the container instead"),
            "restartAttemptPeriod": .honoured("seconds (60-1800, default 300) a container must run before it may be restarted"),
        ],
        "Ulimit": ["name": .honoured("the limit"), "softLimit": .honoured("soft limit"), "hardLimit": .honoured("hard limit")],
        "HostEntry": ["hostname": .honoured("a line of /etc/hosts"), "ipAddress": .honoured("its address")],
        "SystemControl": ["namespace": .honoured("the sysctl"), "value": .honoured("its value (a value the host refuses fails the task)")],
        "PortMapping": [
            "containerPort": .honoured("the container's port"),
            "hostPort": .honoured("static, or 0/absent for a dynamic port from the instance's range"),
            "protocol": .honoured("tcp or udp"),
            "name": .honoured("kept and shown (only Service Connect reads it, and Service Connect is refused)"),
            "appProtocol": .honoured("kept and shown (only Service Connect reads it, and Service Connect is refused)"),
            "containerPortRange": .refused("port ranges are not supported yet: map each port"),
        ],
        "HealthCheck": [
            "command": .honoured("CMD, CMD-SHELL or NONE, run by the agent"),
            "interval": .honoured("seconds between checks (5-300, default 30)"),
            "timeout": .honoured("seconds a check may take (2-120, default 5)"),
            "retries": .honoured("failures before UNHEALTHY (1-10, default 3)"),
            "startPeriod": .honoured("seconds failures do not count (0-300)"),
        ],
        "LogConfiguration": [
            "logDriver": .honoured("awslogs ships lines to Stowage's CloudWatch Logs; other drivers are given to the engine, which refuses (failing the task) the ones it lacks"),
            "options": .honoured("awslogs-group, awslogs-stream-prefix, awslogs-create-group; other drivers' options go to the engine"),
            "secretOptions": .honoured("log driver options read at start from Parameter Store or Secrets Manager with the execution role"),
        ],
        "Secret": [
            "name": .honoured("the environment variable (or log option) it sets"),
            "valueFrom": .honoured("a parameter name or ARN (with :version or :label), or a secret ARN with :json-key:version-stage:version-id"),
        ],
        "RepositoryCredentials": [
            "credentialsParameter": .honoured("the ARN of a Secrets Manager secret holding {\"username\", \"password\"}"),
        ],
        "DeploymentConfiguration": [
            "maximumPercent": .honoured("tasks above desired during a deployment"),
            "minimumHealthyPercent": .honoured("tasks kept healthy during a deployment"),
            "deploymentCircuitBreaker": .honoured("failed deployments stopped, and rolled back when asked"),
            "strategy": .honoured("ROLLING; BLUE_GREEN, LINEAR and CANARY are refused"),
            "alarms": .refused("deployment alarms are not supported yet: use the circuit breaker"),
            "bakeTimeInMinutes": .refused("bake time belongs to blue/green deployments, which are not supported"),
            "lifecycleHooks": .refused("deployment lifecycle hooks are not supported"),
            "linearConfiguration": .refused("linear deployments are not supported"),
            "canaryConfiguration": .refused("canary deployments are not supported"),
        ],
    ]

    /// Members whose values are shapes of the table, walked by the check.
    static let nested: [String: [String: String]] = [
        "RegisterTaskDefinitionRequest": ["containerDefinitions": "ContainerDefinition", "volumes": "Volume", "runtimePlatform": "RuntimePlatform"],
        "ContainerDefinition": [
            "mountPoints": "MountPoint", "volumesFrom": "VolumeFrom", "linuxParameters": "LinuxParameters", "ulimits": "Ulimit",
            "extraHosts": "HostEntry", "systemControls": "SystemControl", "portMappings": "PortMapping",
            "healthCheck": "HealthCheck", "logConfiguration": "LogConfiguration", "restartPolicy": "ContainerRestartPolicy",
            "secrets": "Secret", "repositoryCredentials": "RepositoryCredentials",
        ],
        "LogConfiguration": ["secretOptions": "Secret"],
        "Volume": ["host": "HostVolumeProperties", "dockerVolumeConfiguration": "DockerVolumeConfiguration"],
        "LinuxParameters": ["capabilities": "KernelCapabilities", "devices": "Device", "tmpfs": "Tmpfs"],
        "CreateServiceRequest": ["deploymentConfiguration": "DeploymentConfiguration", "loadBalancers": "LoadBalancer",
                                 "serviceRegistries": "ServiceRegistry", "networkConfiguration": "NetworkConfiguration",
                                 "capacityProviderStrategy": "CapacityProviderStrategyItem"],
        "UpdateServiceRequest": ["deploymentConfiguration": "DeploymentConfiguration", "loadBalancers": "LoadBalancer",
                                 "serviceRegistries": "ServiceRegistry", "networkConfiguration": "NetworkConfiguration",
                                 "capacityProviderStrategy": "CapacityProviderStrategyItem"],
        "RunTaskRequest": ["overrides": "TaskOverride", "networkConfiguration": "NetworkConfiguration",
                           "capacityProviderStrategy": "CapacityProviderStrategyItem"],
        "NetworkConfiguration": ["awsvpcConfiguration": "AwsVpcConfiguration"],
        "CreateClusterRequest": ["defaultCapacityProviderStrategy": "CapacityProviderStrategyItem"],
        "PutClusterCapacityProvidersRequest": ["defaultCapacityProviderStrategy": "CapacityProviderStrategyItem"],
        "StartTaskRequest": ["overrides": "TaskOverride"],
        "TaskOverride": ["containerOverrides": "ContainerOverride"],
    ]

    /// Members honoured only for some values (of the member itself, or of its `type`); the rest refused by the check.
    static let allowedValues: [String: [String: Set<String>]] = [
        "CreateServiceRequest": ["deploymentController": ["ECS"]],
        "UpdateServiceRequest": ["deploymentController": ["ECS"]],
        "DeploymentConfiguration": ["strategy": ["ROLLING"]],
    ]


    static let volume: [String: Status] = [
        "name": .honoured("the name mountPoints refer to"),
        "host": .honoured("a host path, or (without sourcePath) an empty volume removed with the task"),
        "dockerVolumeConfiguration": .honoured("see DockerVolumeConfiguration"),
        "efsVolumeConfiguration": .refused("EFS volumes do not exist outside AWS: use a host path or a Docker volume driver"),
        "fsxWindowsFileServerVolumeConfiguration": .refused("FSx for Windows volumes do not exist outside AWS"),
        "s3filesVolumeConfiguration": .refused("S3 file volumes do not exist outside AWS"),
        "configuredAtLaunch": .refused("volumes configured at launch (EBS) are not supported"),
    ]

    static let dockerVolumeConfiguration: [String: Status] = [
        "scope": .honoured("task (made for the task, removed with it) or shared (kept, reused by name)"),
        "autoprovision": .honoured("a missing shared volume is made; without it a missing one fails the task"),
        "driver": .honoured("the engine's volume driver (default local); stowage: a configuration volume (README, Secrets and configuration)"),
        "driverOpts": .honoured("options given to the driver; for driver stowage, the files (file:<path>), mode, uid, gid and updates"),
        "labels": .honoured("labels on the volume"),
    ]

    static let linuxParameters: [String: Status] = [
        "capabilities": .honoured("see KernelCapabilities"),
        "devices": .honoured("see Device"),
        "initProcessEnabled": .honoured("an init process reaps the container's children (the engine's init binary)"),
        "sharedMemorySize": .honoured("/dev/shm size in MiB"),
        "tmpfs": .honoured("see Tmpfs"),
        "maxSwap": .honoured("swap allowed on top of the memory limit, in MiB (needs a memory limit)"),
        "swappiness": .honoured("0-100"),
    ]

    static let registerTaskDefinition: [String: Status] = [
        "family": .honoured("the family; each call adds a revision"),
        "taskRoleArn": .honoured("credentials served to the task by the agent's credentials endpoint (iam:PassRole checked)"),
        "executionRoleArn": .honoured("checked with iam:PassRole; the role the agent's secrets and registry credentials are read with"),
        "networkMode": .honoured("bridge (dynamic or static host ports), host, none, or awsvpc (an address of the task's own on the instance's task subnet; ports on that address, none on the host)"),
        "containerDefinitions": .honoured("see ContainerDefinition"),
        "placementConstraints": .honoured("memberOf expressions of the cluster query language"),
        "requiresCompatibilities": .honoured("EC2, EXTERNAL, and FARGATE with Fargate's rules (task cpu and memory from its combinations, awsvpc, no privileged, host paths, devices or placement constraints); MANAGED_INSTANCES is refused"),
        "cpu": .honoured("task CPU units, reserved at placement and a hard CPU cap on each of the task's containers"),
        "memory": .honoured("task memory, reserved at placement and the limit of each container without its own"),
        "tags": .honoured("tags on the task definition"),
        "volumes": .honoured("see Volume"),
        "pidMode": .honoured("host, or task (the containers share the first one's namespace)"),
        "ipcMode": .honoured("host, none, or task (the containers share the first one's namespace)"),
        "proxyConfiguration": .refused("App Mesh proxies are not supported"),
        "inferenceAccelerators": .refused("Elastic Inference accelerators do not exist outside AWS"),
        "ephemeralStorage": .refused(noEphemeralStorage),
        "runtimePlatform": .honoured("see RuntimePlatform: a placement requirement on the instances' ecs.cpu-architecture and ecs.os-type"),
        "enableFaultInjection": .refused("fault injection is not supported"),
    ]

    static let noEphemeralStorage = "ephemeralStorage cannot be enforced: Podman's overlay storage on ext4 (these hosts) cannot cap a container's writable layer, and an unenforced size would only look honoured"
    static let noAutoScalingGroups = "Auto Scaling groups do not exist outside AWS: a provider's capacity is the instances whose stowage.capacity-provider attribute is its name"
    static let noManagedInstances = "ECS managed instances do not exist outside AWS: a provider's capacity is the instances whose stowage.capacity-provider attribute is its name"
    static let noServiceConnect = "Service Connect (a proxy in every task) is not supported: use serviceRegistries (Cloud Map names answered by the agents' DNS) or loadBalancers"
    static let noExec = "ECS Exec is not supported"
    static let noManagedTags = "ECS-managed and propagated tags are not supported yet"
    static let launchType = "EC2 or EXTERNAL (any instance), or FARGATE (instances whose stowage.capacity-provider is FARGATE; the definition must be FARGATE-compatible); MANAGED_INSTANCES is refused"
    static let capacityProviderStrategy = "see CapacityProviderStrategyItem: base then weight, as ECS divides tasks, each placed only on its provider's instances; a provider with no instance able to take a task is passed over"
    static let platformVersion = "FARGATE launches only: LATEST or 1.4.0, shown as 1.4.0; other versions are refused"
    static let networkConfiguration = "see AwsVpcConfiguration: awsvpc task definitions only, optional"
    static let noVolumeConfigurations = "EBS volume configurations are not supported"

    static let createCluster: [String: Status] = [
        "clusterName": .honoured("the cluster's name (default: default)"),
        "tags": .honoured("tags on the cluster"),
        "settings": .honoured("containerInsights is kept and shown; Stowage collects task and container metrics always"),
        "configuration": .honoured("kept and shown (ECS Exec itself is refused where it is asked for)"),
        "capacityProviders": .honoured("FARGATE, FARGATE_SPOT and the account's own providers the cluster's tasks may use"),
        "defaultCapacityProviderStrategy": .honoured("see CapacityProviderStrategyItem: used by RunTask and CreateService calls that name neither a launch type nor a strategy"),
        "serviceConnectDefaults": .refused(noServiceConnect),
    ]

    /// What CreateService and UpdateService share: the same settings, honoured or refused alike.
    static let serviceSettings: [String: Status] = [
        "cluster": .honoured("the cluster"),
        "desiredCount": .honoured("tasks kept running"),
        "deploymentConfiguration": .honoured("see DeploymentConfiguration"),
        "placementConstraints": .honoured("distinctInstance and memberOf"),
        "placementStrategy": .honoured("spread, binpack and random"),
        "healthCheckGracePeriodSeconds": .honoured("container health ignored for this long after start"),
        "deploymentController": .honoured("type ECS (rolling updates); CODE_DEPLOY and EXTERNAL are refused"),
        "loadBalancers": .honoured("see LoadBalancer: tasks register in the target group once RUNNING, drain before they stop, and count as healthy only when the load balancer says so"),
        "serviceRegistries": .honoured("see ServiceRegistry: tasks are Cloud Map instances while they serve, healthy as the task is, and the agents' DNS answers for them"),
        "serviceConnectConfiguration": .refused(noServiceConnect),
        "vpcLatticeConfigurations": .refused("VPC Lattice does not exist outside AWS"),
        "availabilityZoneRebalancing": .refused("availability-zone rebalancing is not supported yet"),
        "capacityProviderStrategy": .honoured(capacityProviderStrategy),
        "platformVersion": .honoured(platformVersion),
        "networkConfiguration": .honoured(networkConfiguration),
        "enableExecuteCommand": .refused(noExec),
        "enableECSManagedTags": .refused(noManagedTags),
        "propagateTags": .refused(noManagedTags),
        "volumeConfigurations": .refused(noVolumeConfigurations),
    ]

    static let createService: [String: Status] = serviceSettings.merging([
        "serviceName": .honoured("the service's name"),
        "taskDefinition": .honoured("family, family:revision or ARN"),
        "clientToken": .honoured("idempotency of the create"),
        "launchType": .honoured(launchType),
        "schedulingStrategy": .honoured("REPLICA or DAEMON"),
        "tags": .honoured("tags on the service"),
        "role": .refused("Stowage registers targets itself: no load balancer role is needed, omit it"),
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
        "networkConfiguration": .honoured(networkConfiguration),
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
        "launchType": .honoured(launchType),
        "capacityProviderStrategy": .honoured(capacityProviderStrategy),
        "platformVersion": .honoured(platformVersion),
    ]) { _, own in own }

    static let startTask: [String: Status] = taskLaunch.merging([
        "containerInstances": .honoured("the instances to start on (ACTIVE, with room)"),
    ]) { _, own in own }

    static let taskOverride: [String: Status] = [
        "containerOverrides": .honoured("see ContainerOverride"),
        "cpu": .honoured("task CPU reserved at placement"),
        "memory": .honoured("task memory reserved at placement"),
        "taskRoleArn": .honoured("the task's containers get this role's credentials instead of the definition's (iam:PassRole checked)"),
        "executionRoleArn": .refused("overriding the execution role is not supported yet"),
        "inferenceAcceleratorOverrides": .refused("Elastic Inference accelerators do not exist outside AWS"),
        "ephemeralStorage": .refused(noEphemeralStorage),
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
        "image": .honoured("pulled by the agent per its pull behaviour (default: pull, falling back to a cached copy); shown with imageDigest"),
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
        "repositoryCredentials": .honoured("a Secrets Manager secret with username and password, read with the execution role at start and used for the pull"),
        "secrets": .honoured("environment variables read at start from Parameter Store or Secrets Manager with the execution role"),
        "restartPolicy": .honoured("see ContainerRestartPolicy"),
        "links": .refused("links are a legacy of bridge networks: use serviceRegistries (names answered by the agents' DNS) or host ports"),
        "environmentFiles": .refused("environmentFiles (S3 objects) are not supported"),
        "mountPoints": .honoured("see MountPoint"),
        "volumesFrom": .honoured("see VolumeFrom"),
        "linuxParameters": .honoured("see LinuxParameters"),
        "versionConsistency": .honoured("enabled (default): a service deployment's tasks run the digest its first tasks resolved; disabled: each task pulls the tag"),
        "hostname": .honoured("the container's hostname (not in host network mode)"),
        "disableNetworking": .honoured("the container has no network"),
        "privileged": .honoured("the container runs privileged"),
        "readonlyRootFilesystem": .honoured("the root filesystem is mounted read-only"),
        "dnsServers": .honoured("the container's resolvers (not in host network mode)"),
        "dnsSearchDomains": .honoured("the container's search domains (not in host network mode)"),
        "extraHosts": .honoured("lines added to /etc/hosts"),
        "dockerSecurityOptions": .honoured("passed to the engine (no-new-privileges, label:, apparmor:, seccomp:)"),
        "interactive": .honoured("stdin kept open"),
        "pseudoTerminal": .honoured("a TTY is allocated; its output is still shipped as logs"),
        "dockerLabels": .honoured("labels on the container (the stowage. prefix is reserved)"),
        "ulimits": .honoured("see Ulimit"),
        "systemControls": .honoured("see SystemControl"),
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
                if let allowed = allowedValues[shape]?[key] {
                    let typed = (member as? [String: Any])?["type"] as? String
                    let value = typed ?? member as? String ?? ""
                    guard allowed.contains(value) else {
                        throw .invalidParameter("\(name)\(typed == nil ? "" : " type") \(value) is refused: only \(allowed.sorted().joined(separator: ", ")) is supported.")
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
