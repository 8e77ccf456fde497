import Foundation

/// The order a task's containers start in: after the containers they depend on (dependsOn) or take volumes
/// from (volumesFrom). One place, so registration refuses exactly the cycles the agent could not order.
public enum ContainerStartOrder {
    /// The containers a container must come after.
    static func prerequisites(_ c: ContainerDefinition) -> [String] {
        (c.dependsOn ?? []).map(\.containerName) + (c.volumesFrom ?? []).compactMap(\.sourceContainer)
    }

    /// Indices in start order; containers caught in a cycle (refused at registration) come last, in definition order.
    public static func order(_ containers: [ContainerDefinition]) -> [Int] {
        var order: [Int] = []
        var placed = Set<String>()
        var remaining = Array(containers.indices)
        while !remaining.isEmpty {
            let ready = remaining.filter { i in prerequisites(containers[i]).allSatisfy(placed.contains) }
            let next = ready.isEmpty ? remaining : ready
            for i in next { order.append(i); placed.insert(containers[i].name ?? "") }
            remaining.removeAll { next.contains($0) }
        }
        return order
    }

    /// The names of containers that wait on each other, or nil when an order exists.
    public static func cycle(_ containers: [ContainerDefinition]) -> [String]? {
        var placed = Set<String>()
        var remaining = Array(containers.indices)
        while !remaining.isEmpty {
            let ready = remaining.filter { i in prerequisites(containers[i]).allSatisfy(placed.contains) }
            if ready.isEmpty { return remaining.map { containers[$0].name ?? "" } }
            for i in ready { placed.insert(containers[i].name ?? "") }
            remaining.removeAll { ready.contains($0) }
        }
        return nil
    }
}
