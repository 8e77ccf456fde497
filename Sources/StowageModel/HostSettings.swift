import Foundation

/// What a task's containers take from their host beyond their own sandbox: privileged mode, host paths, devices,
/// added capabilities, the host's network, PID and IPC namespaces, sysctls and security options.
///
/// Derived from the task definition alone: no member of RunTask's `overrides` (command, environment, sizes,
/// roles) changes any of these, so a task needs what its definition says.
public struct HostNeeds: Sendable, Equatable {
    public var privileged = false
    /// Host paths a container is given, as written: declared host volumes (the agent makes a missing one, so even
    /// an unmounted one counts) and local-driver volumes over a host directory or device (`driverOpts.device`).
    public var hostPaths: Set<String> = []
    /// `linuxParameters.devices` host paths.
    public var devices: Set<String> = []
    /// `linuxParameters.capabilities.add`.
    public var capabilities: Set<String> = []
    /// `networkMode: host`: the host's interfaces and its loopback, where the agent's endpoints (and, on one
    /// machine, the control plane and its database) listen.
    public var hostNetwork = false
    public var hostPID = false
    public var hostIPC = false
    /// `systemControls` namespaces.
    public var systemControls: Set<String> = []
    /// `dockerSecurityOptions` other than `no-new-privileges`, which only tightens.
    public var securityOptions: Set<String> = []

    public init() {}

    public init(_ definition: TaskDefinition) {
        for c in definition.containerDefinitions ?? [] {
            if c.privileged == true { privileged = true }
            if let linux = c.linuxParameters {
                capabilities.formUnion(linux.capabilities?.add ?? [])
                devices.formUnion((linux.devices ?? []).map { $0.hostPath ?? "" })
            }
            systemControls.formUnion((c.systemControls ?? []).map { $0.namespace ?? "" })
            securityOptions.formUnion((c.dockerSecurityOptions ?? []).filter { !Self.onlyTightens($0) })
        }
        hostNetwork = definition.networkMode == "host"
        hostPID = definition.pidMode == "host"
        hostIPC = definition.ipcMode == "host"
        for volume in definition.volumes ?? [] {
            if let path = volume.host?.sourcePath, !path.isEmpty { hostPaths.insert(path) }
            if let path = Self.localDevice(volume.dockerVolumeConfiguration) { hostPaths.insert(path) }
        }
    }

    public var isEmpty: Bool { self == HostNeeds() }

    /// The host directory or device a `local` driver volume is made over: an absolute `device`, or any `device`
    /// of a bind (`o=bind`, `type=none`). An NFS or CIFS share (`addr:/path`) or a tmpfs is not a host path.
    static func localDevice(_ docker: DockerVolumeConfiguration?) -> String? {
        guard let docker, (docker.driver ?? "local") == "local", let device = docker.driverOpts?["device"], !device.isEmpty else { return nil }
        let options = (docker.driverOpts?["o"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let bind = options.contains("bind") || options.contains("rbind") || docker.driverOpts?["type"] == "none"
        return device.hasPrefix("/") || bind ? device : nil
    }

    static func onlyTightens(_ option: String) -> Bool {
        ["no-new-privileges", "no-new-privileges:true", "no-new-privileges=true"].contains(option.lowercased())
    }
}

/// Host paths compared by their components, after `.` and `..` are resolved, so `/srv/data/../../etc` is `/etc`
/// and `/srv/database` is not under `/srv/data`. Lexical only: symbolic links are resolved by the agent, on the
/// host, before it mounts anything.
public enum HostPath {
    /// The absolute path with `.`, `..` and repeated slashes resolved; nil for an empty or relative path.
    public static func normalized(_ path: String) -> String? {
        guard path.hasPrefix("/"), !path.contains("\0") else { return nil }
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            switch part {
            case ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// Whether `path` is `prefix` or inside it; false when either is not an absolute path.
    public static func isUnder(_ path: String, _ prefix: String) -> Bool {
        guard let path = normalized(path), let prefix = normalized(prefix) else { return false }
        return prefix == "/" || path == prefix || path.hasPrefix(prefix + "/")
    }
}

/// What a host's operator lets tasks take from it (the agent's `--forbid-*` switches), and how the agent says so
/// in its container instance's attributes. The default allows everything, as ECS does.
public struct HostAllowance: Sendable, Equatable {
    public enum Paths: Sendable, Equatable {
        case any
        case none
        /// Only these normalised prefixes and what is under them.
        case under([String])
    }

    public var privileged = true
    public var hostPaths = Paths.any
    public var devices = true
    /// nil: any capability may be added; otherwise only these (empty: none).
    public var capabilities: Set<String>?
    public var hostNetwork = true
    public var hostPID = true
    public var hostIPC = true
    public var systemControls = true
    public var securityOptions = true

    public init() {}

    public static let everything = HostAllowance()

    // MARK: Attributes

    /// ECS's own attribute: present only on an instance that allows privileged containers.
    public static let privilegedAttribute = "com.amazonaws.ecs.capability.privileged-container"
    /// Present on every instance whose agent advertises its host settings: there, a missing capability attribute
    /// means the setting is forbidden. An instance without it (registered by hand, or by an older agent) is
    /// judged as before these switches existed: everything allowed, and its agent has the last word.
    public static let advertisedAttribute = "stowage.capability.host-settings"
    public static let hostPathsAttribute = "stowage.capability.host-paths"
    /// `stowage.capability.host-path.1` … : the allowed prefixes when host-paths is `listed`.
    public static let hostPathAttribute = "stowage.capability.host-path."
    public static let devicesAttribute = "stowage.capability.devices"
    public static let capabilitiesAttribute = "stowage.capability.linux-capabilities"
    /// `stowage.capability.linux-capability.NET_ADMIN` … : the capabilities allowed when linux-capabilities is `listed`.
    public static let capabilityAttribute = "stowage.capability.linux-capability."
    public static let hostNetworkAttribute = "stowage.capability.host-network"
    public static let hostPIDAttribute = "stowage.capability.host-pid-namespace"
    public static let hostIPCAttribute = "stowage.capability.host-ipc-namespace"
    public static let systemControlsAttribute = "stowage.capability.system-controls"
    public static let securityOptionsAttribute = "stowage.capability.security-options"

    /// Whether an attribute name is one the agent states: registration replaces all of them, so one the agent no
    /// longer reports (a switch turned off since) does not linger.
    public static func isAdvertised(_ name: String) -> Bool {
        name == privilegedAttribute || name.hasPrefix("stowage.capability.")
    }

    /// The attributes an agent registers with: ECS's value-less capability style, a value where there is a list.
    public var attributes: [Attribute] {
        var out = [Attribute(name: Self.advertisedAttribute, value: "advertised")]
        func flag(_ allowed: Bool, _ name: String) { if allowed { out.append(Attribute(name: name, value: nil)) } }
        flag(privileged, Self.privilegedAttribute)
        flag(devices, Self.devicesAttribute)
        flag(hostNetwork, Self.hostNetworkAttribute)
        flag(hostPID, Self.hostPIDAttribute)
        flag(hostIPC, Self.hostIPCAttribute)
        flag(systemControls, Self.systemControlsAttribute)
        flag(securityOptions, Self.securityOptionsAttribute)
        switch hostPaths {
        case .any: out.append(Attribute(name: Self.hostPathsAttribute, value: "any"))
        case .none: break
        case .under(let prefixes):
            out.append(Attribute(name: Self.hostPathsAttribute, value: "listed"))
            for (i, prefix) in prefixes.enumerated() { out.append(Attribute(name: Self.hostPathAttribute + String(i + 1), value: prefix)) }
        }
        if let capabilities {
            if !capabilities.isEmpty { out.append(Attribute(name: Self.capabilitiesAttribute, value: "listed")) }
            for name in capabilities.sorted() { out.append(Attribute(name: Self.capabilityAttribute + name, value: nil)) }
        } else {
            out.append(Attribute(name: Self.capabilitiesAttribute, value: "any"))
        }
        return out
    }

    /// What an instance's attributes (name -> value, "" for none) say it allows.
    public init(attributes: [String: String]) {
        guard attributes[Self.advertisedAttribute] != nil else { return }
        privileged = attributes[Self.privilegedAttribute] != nil
        devices = attributes[Self.devicesAttribute] != nil
        hostNetwork = attributes[Self.hostNetworkAttribute] != nil
        hostPID = attributes[Self.hostPIDAttribute] != nil
        hostIPC = attributes[Self.hostIPCAttribute] != nil
        systemControls = attributes[Self.systemControlsAttribute] != nil
        securityOptions = attributes[Self.securityOptionsAttribute] != nil
        switch attributes[Self.hostPathsAttribute] {
        case "any": hostPaths = .any
        case "listed":
            var prefixes: [String] = []
            while let prefix = attributes[Self.hostPathAttribute + String(prefixes.count + 1)] { prefixes.append(prefix) }
            hostPaths = .under(prefixes)
        default: hostPaths = .none
        }
        if attributes[Self.capabilitiesAttribute] == "any" {
            capabilities = nil
        } else {
            capabilities = Set(attributes.keys.filter { $0.hasPrefix(Self.capabilityAttribute) }.map { String($0.dropFirst(Self.capabilityAttribute.count)) })
        }
    }

    // MARK: Checks

    /// Every setting the task needs that this host does not allow, in a stable order; empty when it may run here.
    public func refusals(_ needs: HostNeeds) -> [HostRefusal] {
        var out: [HostRefusal] = []
        if needs.privileged, !privileged {
            out.append(HostRefusal(setting: "privileged containers", attribute: Self.privilegedAttribute, flag: "--forbid-privileged"))
        }
        for path in needs.hostPaths.sorted() where !allowsHostPath(path) {
            let flag = hostPaths == .none ? "--forbid-host-paths" : "--host-path-prefix"
            out.append(HostRefusal(setting: "host path \(path)", attribute: Self.hostPathsAttribute, flag: flag))
        }
        if !needs.devices.isEmpty, !devices {
            out.append(HostRefusal(setting: "devices (linuxParameters.devices)", attribute: Self.devicesAttribute, flag: "--forbid-devices"))
        }
        if let capabilities {
            for name in needs.capabilities.sorted() where !capabilities.contains(name) {
                out.append(HostRefusal(setting: "added capability \(name) (linuxParameters.capabilities.add)",
                                       attribute: Self.capabilityAttribute + name,
                                       flag: capabilities.isEmpty ? "--forbid-capabilities" : "--allow-capability"))
            }
        }
        if needs.hostNetwork, !hostNetwork {
            out.append(HostRefusal(setting: "the host's network (networkMode host)", attribute: Self.hostNetworkAttribute, flag: "--forbid-host-network"))
        }
        if needs.hostPID, !hostPID {
            out.append(HostRefusal(setting: "the host's PID namespace (pidMode host)", attribute: Self.hostPIDAttribute, flag: "--forbid-host-pid"))
        }
        if needs.hostIPC, !hostIPC {
            out.append(HostRefusal(setting: "the host's IPC namespace (ipcMode host)", attribute: Self.hostIPCAttribute, flag: "--forbid-host-ipc"))
        }
        if !needs.systemControls.isEmpty, !systemControls {
            out.append(HostRefusal(setting: "systemControls (sysctls)", attribute: Self.systemControlsAttribute, flag: "--forbid-system-controls"))
        }
        if !needs.securityOptions.isEmpty, !securityOptions {
            out.append(HostRefusal(setting: "dockerSecurityOptions \(needs.securityOptions.sorted().joined(separator: ", "))",
                                   attribute: Self.securityOptionsAttribute, flag: "--forbid-security-options"))
        }
        return out
    }

    public func allowsHostPath(_ path: String) -> Bool {
        switch hostPaths {
        case .any: true
        case .none: false
        case .under(let prefixes): prefixes.contains { HostPath.isUnder(path, $0) }
        }
    }
}

/// One setting a host does not allow: how to name it, the attribute that says so, and the agent switch behind it.
public struct HostRefusal: Sendable, Hashable {
    public var setting: String
    public var attribute: String
    public var flag: String
    public init(setting: String, attribute: String, flag: String) { self.setting = setting; self.attribute = attribute; self.flag = flag }
}
