/// Where ARNs are minted: configured so that tools which parse ARNs see familiar values.
public struct ARNScope: Sendable, Equatable {
    public var partition: String
    public var region: String

    public init(partition: String = "aws", region: String = "us-east-1") {
        self.partition = partition
        self.region = region
    }

    public func ecs(_ account: String, _ resource: String) -> String {
        "arn:\(partition):ecs:\(region):\(account):\(resource)"
    }
    public func cluster(_ account: String, _ name: String) -> String { ecs(account, "cluster/\(name)") }
    public func taskDefinition(_ account: String, family: String, revision: Int) -> String {
        ecs(account, "task-definition/\(family):\(revision)")
    }
    public func containerInstance(_ account: String, cluster: String, id: String) -> String {
        ecs(account, "container-instance/\(cluster)/\(id)")
    }
    public func task(_ account: String, cluster: String, id: String) -> String { ecs(account, "task/\(cluster)/\(id)") }
    public func service(_ account: String, cluster: String, name: String) -> String {
        ecs(account, "service/\(cluster)/\(name)")
    }
    public func iamRoot(_ account: String) -> String { "arn:\(partition):iam::\(account):root" }
    public func iamUser(_ account: String, _ name: String) -> String { "arn:\(partition):iam::\(account):user/\(name)" }
    public func iamRole(_ account: String, _ name: String) -> String { "arn:\(partition):iam::\(account):role/\(name)" }
    public func iamGroup(_ account: String, _ name: String) -> String { "arn:\(partition):iam::\(account):group/\(name)" }
    public func iamPolicy(_ account: String, _ name: String) -> String { "arn:\(partition):iam::\(account):policy/\(name)" }
    public func assumedRole(_ account: String, role: String, session: String) -> String {
        "arn:\(partition):sts::\(account):assumed-role/\(role)/\(session)"
    }
}

/// A parsed ARN: `arn:partition:service:region:account:resource`.
public struct ARN: Sendable, Equatable {
    public var partition: String
    public var service: String
    public var region: String
    public var account: String
    public var resource: String

    public init?(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", !parts[1].isEmpty, !parts[2].isEmpty, !parts[5].isEmpty else {
            return nil
        }
        partition = String(parts[1])
        service = String(parts[2])
        region = String(parts[3])
        account = String(parts[4])
        resource = String(parts[5])
    }

    /// The resource type and the path after it, e.g. `cluster` and `["prod"]`.
    public var resourceType: String { String(resource.prefix { $0 != "/" }) }
    public var resourcePath: [String] {
        resource.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
    }
}

/// A reference the ECS API accepts in place of a resource: a bare name/id or a full ARN.
public enum ResourceReference: Sendable, Equatable {
    case name(String)
    case arn(ARN)

    public init(_ text: String) {
        if text.hasPrefix("arn:"), let arn = ARN(text) { self = .arn(arn) } else { self = .name(text) }
    }
}
