import Foundation
import StowageModel

/// Defence in depth for the `--forbid-*` switches: the scheduler places no task needing a forbidden host setting
/// here, but a task may reach this host anyway (its attributes changed by PutAttributes, a server that does not
/// check them). The agent judges it again, host paths with their symbolic links resolved on this host, and a task
/// it refuses is reported STOPPED before anything is fetched, pulled or made for it.
extension Agent {
    /// The stopped reason of a task this host refuses, naming each setting and the switch behind it; nil when it may run.
    func hostSettingsRefusal(_ definition: TaskDefinition) -> String? {
        let needs = HostNeeds(definition)
        guard !needs.isEmpty else { return nil }
        var others = needs
        others.hostPaths = []
        let refusals = config.hostAllowance.refusals(others) + needs.hostPaths.sorted().compactMap { hostPathRefusal($0) }
        guard !refusals.isEmpty else { return nil }
        var named = refusals.prefix(3).map { "\($0.setting) (\($0.flag))" }.joined(separator: "; ")
        if refusals.count > 3 { named += "; and \(refusals.count - 3) more" }
        return "CannotStartContainerError: this container instance does not allow \(named)"
    }

    /// Why a host path may not be given to a container here: it is not under an allowed prefix once links are
    /// resolved, or it reaches into the agent's own files (its identity, its processes' records, other tasks'
    /// configuration files), which no switch allows.
    func hostPathRefusal(_ path: String) -> HostRefusal? {
        let allowance = config.hostAllowance
        let resolved = Self.resolvedHostPath(path)
        let own = [config.stateDirectory, config.configFilesDirectory].map { Self.resolvedHostPath($0) ?? $0 }
        if let resolved, own.contains(where: { HostPath.isUnder(resolved, $0) }) {
            return HostRefusal(setting: "host path \(path) (the agent's own files)", attribute: HostAllowance.hostPathsAttribute,
                               flag: "never allowed")
        }
        if !allowance.allowsHostPath(path) {
            return HostRefusal(setting: "host path \(path)", attribute: HostAllowance.hostPathsAttribute,
                               flag: allowance.hostPaths == .none ? "--forbid-host-paths" : "--host-path-prefix")
        }
        guard case .under(let prefixes) = allowance.hostPaths else { return nil }
        guard let resolved, prefixes.contains(where: { HostPath.isUnder(resolved, Self.resolvedHostPath($0) ?? $0) }) else {
            return HostRefusal(setting: "host path \(path) (it resolves to \(resolved ?? "nothing") through a symbolic link)",
                               attribute: HostAllowance.hostPathsAttribute, flag: "--host-path-prefix")
        }
        return nil
    }

    /// A host path as the kernel would walk it: each symbolic link replaced by its target as it is met, and `..`
    /// taken after the links before it (so `/srv/data/link/..` is the parent of where `link` points, not `/srv/data`).
    /// Components that do not exist yet are taken as written. Nil for a relative path or a loop of links.
    nonisolated static func resolvedHostPath(_ path: String) -> String? {
        guard path.hasPrefix("/") else { return nil }
        var pending = path.split(separator: "/").map(String.init).reversed() as [String]
        var resolved: [String] = []
        var links = 0
        while let part = pending.popLast() {
            if part == "." { continue }
            if part == ".." {
                if !resolved.isEmpty { resolved.removeLast() }
                continue
            }
            resolved.append(part)
            let current = "/" + resolved.joined(separator: "/")
            var info = stat()
            guard lstat(current, &info) == 0, info.st_mode & S_IFMT == S_IFLNK else { continue }
            links += 1
            // Linux gives up after 40 links in one walk.
            guard links <= 40, let target = try? FileManager.default.destinationOfSymbolicLink(atPath: current) else { return nil }
            resolved.removeLast()
            if target.hasPrefix("/") { resolved = [] }
            pending.append(contentsOf: target.split(separator: "/").map(String.init).reversed())
        }
        return "/" + resolved.joined(separator: "/")
    }
}
