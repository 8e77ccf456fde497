import Foundation

/// The lists ECS returns even when they are empty (client code indexes `mountPoints`, `loadBalancers`… without a
/// check), and the members it always fills: applied to every response object in one place, so an absent list is
/// never a KeyError in a client written against ECS. pytests/test_response_shapes.py checks every action's answer.
extension TaskDefinition {
    public func withECSDefaults() -> TaskDefinition {
        var d = self
        d.containerDefinitions = d.containerDefinitions?.map { c in
            var c = c
            c.portMappings = c.portMappings ?? []
            c.environment = c.environment ?? []
            c.mountPoints = c.mountPoints ?? []
            c.volumesFrom = c.volumesFrom ?? []
            c.systemControls = c.systemControls ?? []
            return c
        }
        d.volumes = d.volumes ?? []
        d.placementConstraints = d.placementConstraints ?? []
        d.requiresAttributes = d.requiresAttributes ?? []
        return d
    }
}

extension ECSTask {
    public func withECSDefaults() -> ECSTask {
        var t = self
        t.attachments = t.attachments ?? []
        t.tags = t.tags ?? []
        t.containers = t.containers?.map { c in
            var c = c
            c.networkBindings = c.networkBindings ?? []
            c.networkInterfaces = c.networkInterfaces ?? []
            return c
        }
        if var overrides = t.overrides {
            overrides.containerOverrides = overrides.containerOverrides ?? []
            overrides.inferenceAcceleratorOverrides = overrides.inferenceAcceleratorOverrides ?? []
            t.overrides = overrides
        }
        return t
    }
}

extension ECSService {
    public func withECSDefaults() -> ECSService {
        var s = self
        s.loadBalancers = s.loadBalancers ?? []
        s.serviceRegistries = s.serviceRegistries ?? []
        s.placementConstraints = s.placementConstraints ?? []
        s.placementStrategy = s.placementStrategy ?? []
        s.events = s.events ?? []
        s.deployments = s.deployments?.map { d in
            var d = d
            // ECS words the reason when nothing went wrong: "ECS deployment <id> in progress." / "completed."
            if d.rolloutStateReason == nil, let id = d.id, let state = d.rolloutState {
                d.rolloutStateReason = state == "COMPLETED" ? "ECS deployment \(id) completed." : "ECS deployment \(id) in progress."
            }
            return d
        }
        return s
    }
}

extension ContainerInstance {
    public func withECSDefaults() -> ContainerInstance {
        var i = self
        i.attachments = i.attachments ?? []
        i.attributes = i.attributes ?? []
        i.registeredResources = i.registeredResources ?? []
        i.remainingResources = i.remainingResources ?? []
        i.tags = i.tags ?? []
        return i
    }
}
