import StowageModel

/// Feasibility: a host takes a task only if its operator allows every host setting the task needs (privileged
/// mode, host paths, devices, capabilities, the host's network and namespaces, sysctls, security options), as its
/// agent advertised them. Its failure names the settings, in ECS's ATTRIBUTE reason, so RunTask's failures and a
/// service's events say what to change rather than only that something did not fit.
public enum HostSettingsCheck {
    public static let code = "ATTRIBUTE"
    static let prefix = code + ": "
    /// Settings named in one reason; a definition may need many capabilities or paths.
    static let named = 5

    /// The reason when every candidate host refused the task at this check, given each one's refusals. With one
    /// candidate (StartTask, a DAEMON task) it says what that instance does not allow; with several, the settings
    /// no instance allows, or else the settings that no single instance allows together.
    static func reason(_ refusals: [[HostRefusal]], oneHost: Bool) -> String {
        guard let first = refusals.first else { return code }
        if oneHost { return prefix + "the container instance does not allow " + list(first) }
        let common = refusals.dropFirst().reduce(Set(first)) { $0.intersection($1) }
        if !common.isEmpty { return prefix + "no container instance allows " + list(Array(common)) }
        return prefix + "no container instance allows all of " + list(Array(Set(refusals.joined())))
    }

    static func list(_ refusals: [HostRefusal]) -> String {
        let sorted = refusals.sorted { ($0.setting, $0.attribute) < ($1.setting, $1.attribute) }
        var text = sorted.prefix(named).map { "\($0.setting) (\($0.attribute))" }.joined(separator: ", ")
        if sorted.count > named { text += " and \(sorted.count - named) more" }
        return text
    }

    /// The words a service event uses for a reason this check gave (after "was unable to place a task because"),
    /// nil for any other reason.
    public static func explanation(_ reason: String) -> String? {
        reason.hasPrefix(prefix) ? String(reason.dropFirst(prefix.count)) : nil
    }
}
