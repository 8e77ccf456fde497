import Foundation
import StowageIAM
import StowageModel
import StowageStore

/// ECS secrets at task start: the values a task's definition names (`secrets`, `logConfiguration.secretOptions`,
/// `repositoryCredentials`), read with the task's execution role and answered only to the agent the task is
/// placed on. A value that cannot be read is answered as the task's failure, written to the service's events.
enum TaskSecretActions {
    /// Why a value could not be read, in the words ECS's agent uses for the stopped reason.
    struct Unreadable: Error { var reason: String }

    static func taskSecrets(cluster clusterRef: String, instance instanceRef: String, task taskRef: String, _ c: Caller) async throws
        -> AgentProtocol.TaskSecrets
    {
        let (cluster, taskId, task, definition) = try await AgentActions.placedTask(
            cluster: clusterRef, instance: instanceRef, task: taskRef, c)
        do {
            let principal = try await executionPrincipal(definition, taskId: taskId, c)
            var out: [String: AgentProtocol.TaskSecrets.Container] = [:]
            for container in definition.containerDefinitions ?? [] {
                var values = AgentProtocol.TaskSecrets.Container()
                for secret in container.secrets ?? [] { values.environment[secret.name] = try await read(secret.valueFrom, as: principal, c) }
                for option in container.logConfiguration?.secretOptions ?? [] {
                    values.logOptions[option.name] = try await read(option.valueFrom, as: principal, c)
                }
                if let credentials = container.repositoryCredentials {
                    let text = try await read(credentials.credentialsParameter, as: principal, c)
                    guard let login = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any],
                          let user = login["username"] as? String, let password = login["password"] as? String else {
                        throw Unreadable(reason: "CannotPullContainerError: the repositoryCredentials secret \(credentials.credentialsParameter) must hold a JSON object with username and password")
                    }
                    values.registryUsername = user
                    values.registryPassword = password
                }
                out[container.name ?? ""] = values
            }
            var files: [String: [String: Data]] = [:]
            for (name, volume) in ConfigVolume.of(definition) {
                for file in volume.files {
                    switch file.source {
                    case .parameter(let reference), .secret(let reference):
                        files[name, default: [:]][file.path] = try await value(reference, as: principal, c).data
                    case .text: continue
                    }
                }
            }
            return .init(containers: out, files: files)
        } catch let error as Unreadable {
            try await AgentActions.serviceEvent(c, cluster: cluster, task: task,
                                                "(service \(task.service ?? ""), task \(taskId)) failed to start: \(error.reason)")
            return .init(failure: error.reason)
        }
    }

    /// The task's execution role as the principal its reads are authorized as (an assumed-role session named after
    /// the task, as ECS's agent assumes it).
    static func executionPrincipal(_ definition: TaskDefinition, taskId: String, _ c: Caller) async throws -> Principal {
        guard let roleArn = definition.executionRoleArn else {
            throw Unreadable(reason: "ResourceInitializationError: unable to pull secrets or registry auth: the task definition has no executionRoleArn")
        }
        let (role, problem) = try await AgentActions.taskRole(roleArn, c)
        guard let role, problem == nil else {
            throw Unreadable(reason: "ResourceInitializationError: unable to pull secrets or registry auth: execution role: \(problem ?? "")")
        }
        return Principal(accountId: c.account, arn: c.backend.scope.assumedRole(c.account, role: role.name, session: taskId), userName: taskId,
                         accessKeyId: "", role: role.name)
    }

    /// One value as text (a binary secret base64-encoded, as it has no text form).
    static func read(_ valueFrom: String, as principal: Principal, _ c: Caller) async throws -> String {
        let (data, binary) = try await value(valueFrom, as: principal, c)
        return binary ? data.base64EncodedString() : String(decoding: data, as: UTF8.self)
    }

    /// One value, by reference, authorized for the execution role: its bytes, and whether they are a binary secret.
    static func value(_ valueFrom: String, as principal: Principal, _ c: Caller) async throws -> (data: Data, binary: Bool) {
        let reference: SecretReference
        do { reference = try SecretReference.parse(valueFrom) } catch {
            throw Unreadable(reason: "ResourceInitializationError: unable to pull secrets or registry auth: \(error.message)")
        }
        switch reference {
        case .parameter(let text):
            do {
                let target = try ParameterActions.target(text, c)
                try await c.authorize(.getParameters, [target.arn], as: principal)
                let text = try await c.parameters.get(target, decrypt: true).value
                return (Data(text.utf8), false)
            } catch let error as APIError where error.awsStatus < 500 {
                throw Unreadable(reason: "ResourceInitializationError: unable to pull secrets or registry auth: unable to retrieve secrets from ssm: parameter \(text): \(error.code): \(error.message)")
            }
        case .secret(let ref):
            let value: SecretsManager.GetSecretValueResponse
            do {
                if case .arn(let account, _, _) = SecretRules.reference(ref.secretArn), account != c.account {
                    try await c.authorize(.getSecretValue, [ref.secretArn], as: principal)
                }
                value = try await c.secrets.value(id: ref.secretArn, versionId: ref.versionId, stage: ref.versionStage) { arn, keys in
                    try await c.authorize(.getSecretValue, [arn], keys: keys, as: principal)
                }
            } catch let error as APIError where error.awsStatus < 500 {
                throw Unreadable(reason: "ResourceInitializationError: unable to pull secrets or registry auth: unable to retrieve secret from asm: secret \(ref.secretArn): \(error.code): \(error.message)")
            }
            if let binary = value.secretBinary {
                guard ref.jsonKey == nil else {
                    throw Unreadable(reason: "ResourceInitializationError: unable to pull secrets or registry auth: secret \(ref.secretArn) is binary, so a json key cannot be read")
                }
                return (binary, true)
            }
            let text = value.secretString ?? ""
            guard let key = ref.jsonKey else { return (Data(text.utf8), false) }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
                throw Unreadable(reason: "ResourceInitializationError: unable to pull secrets or registry auth: secret \(ref.secretArn) is not a JSON object, so json key \(key) cannot be read")
            }
            guard let field = object[key] else {
                throw Unreadable(reason: "ResourceInitializationError: unable to pull secrets or registry auth: retrieved secret \(ref.secretArn) did not contain json key \(key)")
            }
            if let string = field as? String { return (Data(string.utf8), false) }
            return ((try? JSONSerialization.data(withJSONObject: field, options: [.fragmentsAllowed, .sortedKeys])) ?? Data(), false)
        }
    }
}
