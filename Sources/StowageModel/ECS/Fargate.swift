import Foundation

/// `runtimePlatform`: what a task needs of its host's CPU and OS, honoured as a placement requirement.
public struct RuntimePlatform: Codable, Sendable, Equatable, Hashable {
    public var cpuArchitecture: String?
    public var operatingSystemFamily: String?
    public init(cpuArchitecture: String? = nil, operatingSystemFamily: String? = nil) {
        self.cpuArchitecture = cpuArchitecture; self.operatingSystemFamily = operatingSystemFamily
    }

    /// The instance attributes (as the agent reports them) a host must carry: ECS's names mapped onto the agent's
    /// `ecs.cpu-architecture` and `ecs.os-type` values.
    public var requiredAttributes: [(name: String, value: String)] {
        var out: [(name: String, value: String)] = []
        switch cpuArchitecture {
        case "X86_64": out.append(("ecs.cpu-architecture", "x86_64"))
        case "ARM64": out.append(("ecs.cpu-architecture", "arm64"))
        default: break
        }
        if operatingSystemFamily == "LINUX" { out.append(("ecs.os-type", "linux")) }
        return out
    }

    /// Stowage's hosts run Linux containers on their own CPU: Windows families are refused by name, not placed nowhere.
    public func check() throws(APIError) {
        if let arch = cpuArchitecture, arch != "X86_64", arch != "ARM64" {
            throw .client("Invalid runtimePlatform.cpuArchitecture '\(arch)': must be X86_64 or ARM64.")
        }
        guard let family = operatingSystemFamily, family != "LINUX" else { return }
        if family.hasPrefix("WINDOWS_") {
            throw .invalidParameter("runtimePlatform.operatingSystemFamily \(family) is refused: Stowage's hosts run Linux containers only.")
        }
        throw .client("Invalid runtimePlatform.operatingSystemFamily '\(family)'.")
    }
}

/// What a task definition must be to run as Fargate runs it: ECS's rules, and its words for each refusal. Stowage
/// runs such tasks on instances the operator marked as Fargate capacity, so the rules that keep a task off its
/// host's resources hold there too.
public enum FargateRules {
    /// Task CPU units -> the memory sizes (MiB) Fargate offers with it.
    public static let combinations: [Int: [Int]] = [
        256: [512, 1024, 2048],
        512: Array(stride(from: 1024, through: 4096, by: 1024)),
        1024: Array(stride(from: 2048, through: 8192, by: 1024)),
        2048: Array(stride(from: 4096, through: 16_384, by: 1024)),
        4096: Array(stride(from: 8192, through: 30_720, by: 1024)),
        8192: Array(stride(from: 16_384, through: 61_440, by: 4096)),
        16_384: Array(stride(from: 32_768, through: 122_880, by: 8192)),
    ]

    /// The only platform version Stowage's Fargate capacity is (what LATEST resolves to).
    public static let platformVersion = "1.4.0"

    /// The platform version a FARGATE task or service records; nil for one Stowage refuses.
    public static func platformVersion(_ asked: String?) -> String? {
        switch asked {
        case nil, "LATEST", platformVersion: platformVersion
        default: nil
        }
    }

    /// The first Fargate rule the (validated) definition breaks, in ECS's words; nil when it may run as Fargate.
    public static func refusal(_ definition: TaskDefinition) -> String? {
        guard definition.networkMode == "awsvpc" else { return "Fargate only supports network mode 'awsvpc'." }
        guard let cpuText = definition.cpu, let cpu = TaskDefinitionRules.cpuUnits(cpuText) else {
            return "Fargate requires that 'cpu' be defined at the task level."
        }
        guard let memoryText = definition.memory, let memory = TaskDefinitionRules.memoryMiB(memoryText) else {
            return "Fargate requires that 'memory' be defined at the task level."
        }
        guard combinations[cpu]?.contains(memory) == true else {
            return "No Fargate configuration exists for given values: \(cpu) CPU, \(memory) memory. See the Amazon ECS documentation for the valid values."
        }
        if !(definition.placementConstraints ?? []).isEmpty {
            return "Tasks using the Fargate launch type do not support task definition placement constraints."
        }
        if definition.ipcMode != nil { return "Tasks using the Fargate launch type do not support ipcMode." }
        if let pid = definition.pidMode, pid != "task" { return "Tasks using the Fargate launch type only support pidMode 'task'." }
        for volume in definition.volumes ?? [] {
            if volume.host?.sourcePath != nil { return "host.sourcePath should not be set for volumes in Fargate." }
            if volume.dockerVolumeConfiguration != nil {
                return "Tasks using the Fargate launch type do not support dockerVolumeConfiguration."
            }
        }
        for c in definition.containerDefinitions ?? [] {
            let name = c.name ?? ""
            if c.privileged == true { return "Tasks using the Fargate launch type do not support privileged containers (container '\(name)')." }
            if !(c.links ?? []).isEmpty { return "Links are not supported when networkMode=awsvpc." }
            guard let linux = c.linuxParameters else { continue }
            if !(linux.devices ?? []).isEmpty { return "Tasks using the Fargate launch type do not support devices (container '\(name)')." }
            if linux.sharedMemorySize != nil {
                return "Tasks using the Fargate launch type do not support sharedMemorySize (container '\(name)')."
            }
            if !(linux.tmpfs ?? []).isEmpty { return "Tasks using the Fargate launch type do not support tmpfs (container '\(name)')." }
            if linux.maxSwap != nil || linux.swappiness != nil {
                return "Tasks using the Fargate launch type do not support maxSwap or swappiness (container '\(name)')."
            }
            if let added = linux.capabilities?.add, added.contains(where: { $0 != "SYS_PTRACE" }) {
                return "Tasks using the Fargate launch type only support adding the SYS_PTRACE kernel capability (container '\(name)')."
            }
        }
        return nil
    }
}
