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

extension ARNScope {
    /// Services whose ARNs carry no region.
    static let globalServices: Set<String> = ["iam", "sts"]

    /// Why a resource ARN cannot be authorized as written, or nil when it is canonical for `account`: this
    /// installation's partition, its region (none for IAM and STS), and the caller's own account — `aws` only for
    /// AWS-managed IAM policies. Policies match ARNs as text, so an ARN naming account `aws`, no account or another
    /// region would slip past a Deny written for the canonical form while the handler acts on the caller's own
    /// resource; such ARNs are refused before any policy is read. Not an ARN (`*`, a bare name): nil.
    public func refusal(ofResource resource: String, account: String) -> String? {
        guard resource.hasPrefix("arn:") else { return nil }
        guard let arn = ARN(resource) else { return "it is not a well-formed ARN" }
        guard arn.partition == partition else { return "its partition '\(arn.partition)' is not this installation's ('\(partition)')" }
        if Self.globalServices.contains(arn.service) {
            guard arn.region.isEmpty else { return "\(arn.service) ARNs name no region" }
        } else if arn.region != region {
            return arn.region.isEmpty ? "it names no region" : "its region '\(arn.region)' is not this installation's ('\(region)')"
        }
        if arn.account == "aws", arn.service == "iam", arn.resource.hasPrefix("policy/") { return nil }
        guard arn.account == account else {
            return arn.account.isEmpty ? "it names no account" : "it names account '\(arn.account)', not the caller's"
        }
        return nil
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
