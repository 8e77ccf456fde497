import Foundation
import StowageModel

/// Host probing: what the instance offers (resources, attributes) as it registers.
extension Agent {
    func attributes() -> [Attribute] {
        var all: [String: String] = [
            "ecs.os-type": "linux", "ecs.availability-zone": config.zone, "ecs.cpu-architecture": Self.architecture,
            "stowage.hostname": config.hostname, "stowage.driver": runtime.kind,
            AgentProtocol.portRangeAttribute: "\(config.portRange.lowerBound)-\(config.portRange.upperBound)",
        ]
        for (name, value) in config.attributes { all[name] = value }
        return all.sorted { $0.key < $1.key }.map { Attribute(name: $0.key, value: $0.value) }
    }

    static var architecture: String {
        #if arch(arm64)
        "arm64"
        #else
        "x86_64"
        #endif
    }

    /// CPU units (cores x 1024), memory from /proc/meminfo less what is reserved, and ECS's reserved ports.
    static func resources(reservedMemory: Int) -> [Resource] {
        let cpu = ProcessInfo.processInfo.activeProcessorCount * 1024
        var memory = Int(ProcessInfo.processInfo.physicalMemory >> 20)
        if let info = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
           let line = info.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal:") }),
           let kb = Int(line.split(separator: " ").dropFirst().first ?? "") {
            memory = kb / 1024
        }
        return [
            Resource(name: "CPU", integer: cpu),
            Resource(name: "MEMORY", integer: max(0, memory - reservedMemory)),
            Resource(name: "PORTS", stringSet: ["22", "2375", "2376", "51678", "51679"]),
            Resource(name: "PORTS_UDP", stringSet: []),
        ]
    }
}
