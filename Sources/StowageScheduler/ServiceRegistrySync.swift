import Foundation
import StowageModel

/// One of a service's `serviceRegistries`, resolved: which Cloud Map service, and which container port its
/// instances carry (nil: the address alone).
public struct ServiceRegistryBinding: Sendable, Equatable {
    public var serviceId: String
    public var containerName: String?
    public var containerPort: Int?
    /// `serviceRegistries.port`: for awsvpc services, the port the records carry (SRV) when no container port is named.
    public var port: Int?
    public init(serviceId: String, containerName: String?, containerPort: Int?, port: Int? = nil) {
        self.serviceId = serviceId; self.containerName = containerName; self.containerPort = containerPort; self.port = port
    }
}

/// A serving candidate as the registry sync sees it: where it runs, and whether it has proven healthy.
public struct ServiceRegistryTask: Sendable, Equatable {
    public var endpoint: TaskEndpoint
    /// The task's health as Cloud Map should answer it: HEALTHY, or UNHEALTHY while its health checks fail or
    /// have not passed yet.
    public var healthy: Bool
    public var attributes: [String: String]
    public init(endpoint: TaskEndpoint, healthy: Bool, attributes: [String: String]) {
        self.endpoint = endpoint; self.healthy = healthy; self.attributes = attributes
    }
}

/// An instance as registered (by ECS or by hand).
public struct RegisteredInstance: Sendable, Equatable {
    public var serviceId: String
    public var instanceId: String
    public var attributes: [String: String]
    public var health: String
    public var taskId: String?
    public init(serviceId: String, instanceId: String, attributes: [String: String], health: String, taskId: String?) {
        self.serviceId = serviceId; self.instanceId = instanceId; self.attributes = attributes; self.health = health; self.taskId = taskId
    }
}

/// What to change in Cloud Map so that exactly a service's serving tasks are its instances, each as healthy as it is.
public struct ServiceRegistrySyncPlan: Sendable, Equatable {
    public var put: [RegisteredInstance] = []
    public var remove: [(serviceId: String, instanceId: String)] = []

    public static func == (a: ServiceRegistrySyncPlan, b: ServiceRegistrySyncPlan) -> Bool {
        a.put == b.put && a.remove.map { "\($0.serviceId)/\($0.instanceId)" } == b.remove.map { "\($0.serviceId)/\($0.instanceId)" }
    }
}

/// ECS's Cloud Map integration as pure decisions: a task is an instance (its id) of the service's registry while it
/// serves, with AWS_INSTANCE_IPV4 its host's address and AWS_INSTANCE_PORT the host port of the named container
/// port; it is removed before it stops, so names stop answering it while it drains.
public enum ServiceRegistrySync {
    public static func plan(bindings: [ServiceRegistryBinding], tasks: [ServiceRegistryTask], registered: [RegisteredInstance]) -> ServiceRegistrySyncPlan {
        var plan = ServiceRegistrySyncPlan()
        let existing = Dictionary(registered.map { ("\($0.serviceId)/\($0.instanceId)", $0) }, uniquingKeysWith: { a, _ in a })
        var wanted: Set<String> = []
        for b in bindings {
            for task in tasks where task.endpoint.serving {
                // An address that is not an IP literal (an instance registered before addresses were checked) is never published.
                guard let address = task.endpoint.taskAddress ?? task.endpoint.hostAddress, AgentProtocol.isHostAddress(address) else { continue }
                var attributes = task.attributes
                attributes[DiscoveryRules.ipv4Attribute] = address
                if task.endpoint.taskAddress != nil {
                    // An awsvpc task: its own address, the container port itself (`port`, else the named container port).
                    if let port = b.port ?? b.containerPort { attributes[DiscoveryRules.portAttribute] = String(port) }
                } else if let name = b.containerName, let port = b.containerPort {
                    guard let binding = task.endpoint.bindings.first(where: { $0.containerName == name && $0.containerPort == port }) else { continue }
                    attributes[DiscoveryRules.portAttribute] = String(binding.hostPort)
                }
                let key = "\(b.serviceId)/\(task.endpoint.taskId)"
                wanted.insert(key)
                let instance = RegisteredInstance(serviceId: b.serviceId, instanceId: task.endpoint.taskId, attributes: attributes,
                                                  health: task.healthy ? "HEALTHY" : "UNHEALTHY", taskId: task.endpoint.taskId)
                if existing[key] != instance { plan.put.append(instance) }
            }
        }
        for r in registered where r.taskId != nil && !wanted.contains("\(r.serviceId)/\(r.instanceId)") {
            plan.remove.append((r.serviceId, r.instanceId))
        }
        return plan
    }
}
