import ArgumentParser
import StowageModel

/// The agent's switches for what tasks may take from its host, modelled on the ECS agent's (ECS_DISABLE_PRIVILEGED,
/// ECS_SELINUX_CAPABLE, ECS_APPARMOR_CAPABLE). Nothing is forbidden by default, as in ECS, so a host keeps running
/// what it ran before; an operator who shares hosts between teams turns them on.
struct HostAccessFlags: ParsableArguments {
    @Flag(help: "Forbid everything below at once; --host-path-prefix and --allow-capability still allow what they list.")
    var forbidHostAccess = false
    @Flag(help: "Forbid privileged containers (ECS_DISABLE_PRIVILEGED=true): the instance drops ECS's com.amazonaws.ecs.capability.privileged-container attribute.")
    var forbidPrivileged = false
    @Option(help: ArgumentHelp("Allow host paths only at or under this absolute prefix (repeatable): volumes' host.sourcePath and local-driver volumes over a host directory or device. Compared by path components after '.' and '..' are resolved, and checked again by the agent with symbolic links resolved on the host; a prefix tasks can write into lets them plant links, so prefer read-only ones.", valueName: "path"))
    var hostPathPrefix: [String] = []
    @Flag(help: "Forbid host paths entirely.") var forbidHostPaths = false
    @Flag(help: "Forbid devices (linuxParameters.devices).") var forbidDevices = false
    @Flag(help: "Forbid added Linux capabilities (linuxParameters.capabilities.add); dropping them stays allowed.")
    var forbidCapabilities = false
    @Option(help: ArgumentHelp("Allow adding only this Linux capability, e.g. NET_BIND_SERVICE (repeatable).", valueName: "name"))
    var allowCapability: [String] = []
    @Flag(help: "Forbid the host's network (networkMode host): such a task reaches the host's loopback, where the agent's endpoints and, on a single machine, the control plane listen.")
    var forbidHostNetwork = false
    @Flag(help: "Forbid the host's PID namespace (pidMode host).") var forbidHostPid = false
    @Flag(help: "Forbid the host's IPC namespace (ipcMode host).") var forbidHostIpc = false
    @Flag(help: "Forbid systemControls (sysctls).") var forbidSystemControls = false
    @Flag(help: "Forbid dockerSecurityOptions other than no-new-privileges (seccomp, apparmor and SELinux labels; ECS_SELINUX_CAPABLE and ECS_APPARMOR_CAPABLE off).")
    var forbidSecurityOptions = false

    /// Characters of an attribute value as ECS allows them (the prefixes are advertised one per attribute).
    static let prefixCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.@:/")

    func allowance() throws -> HostAllowance {
        var a = HostAllowance()
        let all = forbidHostAccess
        a.privileged = !(all || forbidPrivileged)
        a.devices = !(all || forbidDevices)
        a.hostNetwork = !(all || forbidHostNetwork)
        a.hostPID = !(all || forbidHostPid)
        a.hostIPC = !(all || forbidHostIpc)
        a.systemControls = !(all || forbidSystemControls)
        a.securityOptions = !(all || forbidSecurityOptions)
        if !hostPathPrefix.isEmpty {
            guard !forbidHostPaths else { throw ValidationError("--forbid-host-paths and --host-path-prefix contradict each other: give one") }
            a.hostPaths = .under(try hostPathPrefix.map(Self.prefix))
        } else if all || forbidHostPaths {
            a.hostPaths = .none
        }
        if !allowCapability.isEmpty {
            guard !forbidCapabilities else { throw ValidationError("--forbid-capabilities and --allow-capability contradict each other: give one") }
            a.capabilities = Set(try allowCapability.map(Self.capability))
        } else if all || forbidCapabilities {
            a.capabilities = []
        }
        return a
    }

    static func prefix(_ text: String) throws -> String {
        guard let path = HostPath.normalized(text), text.hasPrefix("/") else {
            throw ValidationError("--host-path-prefix takes an absolute path, got '\(text)'")
        }
        guard !text.split(separator: "/").contains(".."), path != "/" else {
            throw ValidationError("--host-path-prefix '\(text)': give the directory itself, without '..' and not '/' (leave the switch out to allow every path)")
        }
        guard path.count <= 128, path.allSatisfy(prefixCharacters.contains) else {
            throw ValidationError("--host-path-prefix '\(text)': up to 128 letters, digits and - _ . @ : / (it is advertised as an attribute value)")
        }
        return path
    }

    static func capability(_ text: String) throws -> String {
        let name = text.uppercased().hasPrefix("CAP_") ? String(text.uppercased().dropFirst(4)) : text.uppercased()
        guard TaskDefinitionRules.capabilities.contains(name) else {
            throw ValidationError("--allow-capability '\(text)' is not a capability ECS knows (e.g. NET_BIND_SERVICE, SYS_PTRACE)")
        }
        return name
    }
}
