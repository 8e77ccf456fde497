import StowageModel

/// Turns the names and ARNs callers pass into keys within the caller's account.
///
/// A foreign ARN keeps its own account in `arn`, so authorization sees it and refuses.
struct References {
    let scope: ARNScope
    let account: String

    func cluster(_ reference: String?) throws(APIError) -> (name: String, arn: String) {
        let text = reference ?? "default"
        switch ResourceReference(text) {
        case .name(let name):
            try Validate.clusterName(name)
            return (name, scope.cluster(account, name))
        case .arn(let arn):
            guard arn.service == "ecs", arn.resourceType == "cluster", arn.resourcePath.count == 1 else {
                throw .invalidParameter("'\(text)' is not a cluster ARN.")
            }
            return (arn.resourcePath[0], text)
        }
    }

    /// `family`, `family:revision` or a task-definition ARN.
    func taskDefinition(_ reference: String) throws(APIError) -> (family: String, revision: Int?, arn: String) {
        var text = reference
        if case .arn(let arn) = ResourceReference(reference) {
            guard arn.service == "ecs", arn.resourceType == "task-definition", arn.resourcePath.count == 1 else {
                throw .invalidParameter("'\(reference)' is not a task definition ARN.")
            }
            try own(reference)
            text = arn.resourcePath[0]
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, !parts[0].isEmpty else {
            throw .client("Invalid task definition '\(reference)': use family, family:revision or an ARN.")
        }
        let family = String(parts[0])
        var revision: Int?
        if parts.count == 2 {
            guard let r = Int(parts[1]), r > 0 else {
                throw .client("Invalid revision in '\(reference)': revisions are positive integers.")
            }
            revision = r
        }
        // Always the canonical spelling (`web:01` is `web:1`, no revision is `web:*`): what is authorized must be what a
        // policy written for the resource names.
        let arn = scope.ecs(account, "task-definition/\(family):\(revision.map(String.init) ?? "*")")
        return (family, revision, arn)
    }

    /// A container instance id or ARN (either `container-instance/<cluster>/<id>` or the older `container-instance/<id>`).
    /// The ARN is always the canonical `container-instance/<cluster>/<id>`, whichever form was given (the older
    /// `container-instance/<id>` would not match a policy written for the cluster's instances).
    func containerInstance(_ reference: String, cluster: String) throws(APIError) -> (id: String, arn: String) {
        if reference.hasPrefix("arn:") { try own(reference) }
        let id = try Self.scoped(reference, type: "container-instance", cluster: cluster)
        return (id, scope.containerInstance(account, cluster: cluster, id: id))
    }

    /// An ARN given in place of a name must be this installation's and the caller's own; it is then acted on by its
    /// canonical spelling.
    func own(_ reference: String) throws(APIError) {
        if let why = scope.refusal(ofResource: reference, account: account) {
            throw .accessDenied("Resource \(reference) cannot be used: \(why).")
        }
    }

    /// The last path element of a cluster-scoped resource given by name or ARN (`<type>/<cluster>/<name>`, or
    /// the older `<type>/<name>`); an ARN of another type or cluster is an InvalidParameterException.
    static func scoped(_ reference: String, type: String, cluster: String) throws(APIError) -> String {
        guard case .arn(let arn) = ResourceReference(reference) else { return reference }
        guard arn.service == "ecs", arn.resourceType == type, (1...2).contains(arn.resourcePath.count) else {
            throw .invalidParameter("'\(reference)' is not a \(type) ARN.")
        }
        if arn.resourcePath.count == 2, arn.resourcePath[0] != cluster {
            throw .invalidParameter("\(reference) does not belong to cluster \(cluster).")
        }
        return arn.resourcePath[arn.resourcePath.count - 1]
    }
}

extension Caller {
    var refs: References { References(scope: backend.scope, account: account) }
}
