import Foundation

/// Input rules shared by every door, with the messages ECS gives for them.
public enum Validate {
    static let nameCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")

    /// Cluster names: up to 255 letters, numbers, hyphens and underscores.
    public static func clusterName(_ name: String) throws(APIError) {
        guard !name.isEmpty, name.count <= 255, name.allSatisfy(nameCharacters.contains) else {
            throw .invalidParameter(
                "Cluster name '\(name)' is invalid: up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed.")
        }
    }

    public static func family(_ family: String) throws(APIError) {
        guard !family.isEmpty, family.count <= 255, family.allSatisfy(nameCharacters.contains) else {
            throw .client(
                "Family contains invalid characters: up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed.")
        }
    }

    /// `maxResults` bounds for list calls; ECS answers InvalidParameterException outside 1...100.
    public static func maxResults(_ value: Int?, default fallback: Int = 100) throws(APIError) -> Int {
        guard let value else { return fallback }
        guard (1...100).contains(value) else {
            throw .invalidParameter("maxResults must be between 1 and 100, got \(value).")
        }
        return value
    }

    public static func tags(_ tags: [Tag]?) throws(APIError) {
        guard let tags else { return }
        guard tags.count <= 50 else { throw .invalidParameter("Too many tags: at most 50 are allowed, got \(tags.count).") }
        var seen = Set<String>()
        for tag in tags {
            guard let key = tag.key, (1...128).contains(key.count) else {
                throw .invalidParameter("Tag keys must be between 1 and 128 characters.")
            }
            guard (tag.value ?? "").count <= 256 else {
                throw .invalidParameter("Tag value for key '\(key)' exceeds 256 characters.")
            }
            guard !key.lowercased().hasPrefix("aws:") else {
                throw .invalidParameter("Tag keys beginning with 'aws:' are reserved.")
            }
            guard seen.insert(key).inserted else { throw .invalidParameter("Duplicate tag key '\(key)'.") }
        }
    }

    /// A cluster's `configuration` is ECS's ClusterConfiguration: an object of its two members, nothing else.
    public static func clusterConfiguration(_ configuration: JSONValue?) throws(APIError) {
        guard let configuration else { return }
        guard case .object(let members) = configuration else {
            throw .invalidParameter("configuration must be an object (ECS ClusterConfiguration).")
        }
        let known: Set<String> = ["executeCommandConfiguration", "managedStorageConfiguration"]
        if let unknown = members.keys.sorted().first(where: { !known.contains($0) }) {
            throw .invalidParameter("configuration.\(unknown) is not a member of ClusterConfiguration (executeCommandConfiguration, managedStorageConfiguration).")
        }
        for (name, value) in members {
            guard case .object = value else { throw .invalidParameter("configuration.\(name) must be an object.") }
        }
    }

    /// Cluster settings: only `containerInsights` exists, with ECS's three values.
    public static func clusterSettings(_ settings: [ClusterSetting]?) throws(APIError) {
        for setting in settings ?? [] {
            guard setting.name == "containerInsights" else {
                throw .invalidParameter("Unknown cluster setting '\(setting.name ?? "")': the only setting is containerInsights.")
            }
            guard let value = setting.value, ["enabled", "disabled", "enhanced"].contains(value) else {
                throw .invalidParameter("containerInsights must be enabled, disabled or enhanced.")
            }
        }
    }

    public static func attributeName(_ name: String) throws(APIError) {
        let allowed = nameCharacters.union("./@:")
        guard (1...128).contains(name.count), name.allSatisfy(allowed.contains) else {
            throw .invalidParameter(
                "Attribute name '\(name)' is invalid: up to 128 letters, numbers, hyphens, underscores, periods, at signs, colons and slashes.")
        }
    }

    /// `name` matters for the attributes other programs read: the host address becomes a load balancer target and
    /// a service-discovery answer, so it must be an IP address and nothing else.
    public static func attributeValue(_ value: String?, name: String? = nil) throws(APIError) {
        guard let value else { return }
        guard (1...128).contains(value.count), !value.hasPrefix(" "), !value.hasSuffix(" ") else {
            throw .invalidParameter("Attribute value '\(value)' is invalid: 1 to 128 characters, no leading or trailing spaces.")
        }
        if name == AgentProtocol.hostAddressAttribute, !AgentProtocol.isHostAddress(value) {
            throw .invalidParameter("Attribute \(AgentProtocol.hostAddressAttribute) must be an IPv4 or IPv6 address and nothing else; got '\(value)'.")
        }
    }
}
