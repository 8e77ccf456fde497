import Foundation

/// What an ECS `valueFrom` names: a Parameter Store parameter (name, selector or ARN) or a Secrets Manager secret
/// (ARN, optionally with a JSON key, version stage or version id). One parser for registration and for the start.
public enum SecretReference: Sendable, Equatable {
    case parameter(String)
    case secret(SecretRules.ValueFrom)

    public static func parse(_ valueFrom: String) throws(APIError) -> SecretReference {
        if valueFrom.hasPrefix("arn:") {
            if let secret = SecretRules.valueFrom(valueFrom) { return .secret(secret) }
            guard let arn = ARN(valueFrom), arn.service == "ssm", arn.resource.hasPrefix("parameter/") else {
                throw .client("valueFrom \(valueFrom) is neither a Systems Manager parameter nor a Secrets Manager secret ARN.")
            }
            return .parameter(valueFrom)
        }
        let name = ParameterRules.reference(valueFrom).name
        do { try ParameterRules.checkName(name, arnPrefix: "") } catch {
            throw .client("valueFrom \(valueFrom) is not a valid parameter name: \(error.message)")
        }
        return .parameter(valueFrom)
    }

    /// Every reference a definition reads at start: secrets, secret log options, registry credentials and the
    /// parameters and secrets of its configuration volumes.
    public static func references(in definition: TaskDefinition) -> [String] {
        var out: [String] = []
        for c in definition.containerDefinitions ?? [] {
            out += (c.secrets ?? []).map(\.valueFrom) + (c.logConfiguration?.secretOptions ?? []).map(\.valueFrom)
            if let credentials = c.repositoryCredentials { out.append(credentials.credentialsParameter) }
        }
        for (_, volume) in ConfigVolume.of(definition) {
            for file in volume.files {
                switch file.source {
                case .parameter(let reference), .secret(let reference): out.append(reference)
                case .text: continue
                }
            }
        }
        return out
    }

    /// Checks a task definition's secrets, secret log options and registry credentials: references that parse,
    /// names that are unique and valid, and an execution role to read them with (ECS requires one).
    public static func check(_ containers: [ContainerDefinition], volumes: [Volume], executionRoleArn: String?) throws(APIError) {
        var uses = false
        for volume in volumes {
            guard let docker = volume.dockerVolumeConfiguration, docker.driver == ConfigVolume.driver else { continue }
            let config = try ConfigVolume.parse(docker.driverOpts ?? [:], volume: volume.name ?? "")
            if config.files.contains(where: { if case .text = $0.source { false } else { true } }) { uses = true }
        }
        for c in containers {
            let container = c.name ?? ""
            var names: Set<String> = []
            for secret in c.secrets ?? [] {
                guard !secret.name.isEmpty, secret.name.utf8.count <= 255, !secret.name.contains("=") else {
                    throw .client("Container \(container): a secret's name must be 1 to 255 characters without '='.")
                }
                guard names.insert(secret.name).inserted else { throw .client("Container \(container): secret \(secret.name) is given twice.") }
                _ = try parse(secret.valueFrom)
                uses = true
            }
            for option in c.logConfiguration?.secretOptions ?? [] {
                guard !option.name.isEmpty else { throw .client("Container \(container): a log secretOption needs a name.") }
                _ = try parse(option.valueFrom)
                uses = true
            }
            if let credentials = c.repositoryCredentials {
                guard case .secret = try parse(credentials.credentialsParameter) else {
                    throw .client("Container \(container): repositoryCredentials.credentialsParameter must be a Secrets Manager secret ARN.")
                }
                uses = true
            }
        }
        if uses, executionRoleArn == nil {
            throw .client("executionRoleArn is required: the task definition reads secrets or parameters (secrets, repositoryCredentials or a stowage volume), and the agent reads them with the task's execution role, as ECS does.")
        }
    }
}

extension TaskDefinition {
    /// Whether a task of this definition needs values read at start (secrets, secret log options, registry credentials).
    public var readsSecrets: Bool {
        let containers = (containerDefinitions ?? []).contains { c in
            !(c.secrets ?? []).isEmpty || !(c.logConfiguration?.secretOptions ?? []).isEmpty || c.repositoryCredentials != nil
        }
        return containers || ConfigVolume.of(self).values.contains { volume in
            volume.files.contains { if case .text = $0.source { false } else { true } }
        }
    }
}
