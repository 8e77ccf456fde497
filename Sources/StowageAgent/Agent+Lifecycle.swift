import Foundation
import StowageModel

/// Task lifecycle: containers created and started in dependsOn order, stopped in reverse, then removed.
extension Agent {
    func spec(_ task: LocalTask, _ container: LocalContainer) -> ContainerSpec {
        let secrets = taskSecrets[task.arn]?.containers[container.name]
        var d = container.definition
        // Log options read from secretOptions join the driver's options (the engine's drivers read them at create).
        if let extra = secrets?.logOptions, !extra.isEmpty, var log = d.logConfiguration {
            log.options = (log.options ?? [:]).merging(extra) { _, secret in secret }
            d.logConfiguration = log
        }
        let definition = task.assignment.taskDefinition
        var ids: [String: String] = [:]
        for other in task.containers { if let id = other.id { ids[other.name] = id } }
        let holder = AgentDecisions.startOrder(task.containers).first.flatMap { task.containers[$0].id }
        var settings = TaskSettings.engineSettings(
            d, task: definition, volumes: TaskSettings.volumes(definition, taskArn: task.arn, taskId: task.taskId, filesRoot: configFilesRoot),
            containerIds: ids, holder: holder)
        // The tenant's Cloud Map names resolve in bridge-mode containers, unless the definition names its own servers
        // (host-mode containers keep the host's resolv.conf).
        if settings.dns.isEmpty, (definition.networkMode ?? "bridge") == "bridge", let resolver = resolverAddress { settings.dns = [resolver] }
        var networkMode = definition.networkMode
        if task.awsvpc {
            // The namespace's settings are on its holder (Agent+TaskNetwork): a container joining it may not set them.
            settings.dns = []; settings.dnsSearch = []; settings.extraHosts = []; settings.hostname = nil
            networkMode = task.networkHolder.map { "container:\($0)" } ?? "none"
        }
        var labels = d.dockerLabels ?? [:]
        labels[AgentProtocol.taskLabel] = task.arn
        labels[AgentProtocol.containerLabel] = container.name
        labels[AgentProtocol.instanceLabel] = state?.containerInstanceArn ?? ""
        let override = task.assignment.overrides?.containerOverrides?.first { $0.name == d.name }
        var env: [String: String] = [:]
        for pair in d.environment ?? [] { if let name = pair.name { env[name] = pair.value ?? "" } }
        for pair in override?.environment ?? [] { if let name = pair.name { env[name] = pair.value ?? "" } }
        for (name, value) in secrets?.environment ?? [:] { env[name] = value }
        env["ECS_CONTAINER_METADATA_TASK_ARN"] = task.arn
        if let endpoint = taskEndpoint {
            env["ECS_CONTAINER_METADATA_URI_V4"] = "\(endpoint)/v4/\(metadataToken(task.arn, container: container.name))"
            if task.assignment.taskRoleArn != nil {
                // The container credentials protocol, as the ECS agent serves it; boto3 and the AWS SDKs read these.
                env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "\(endpoint)/v1/credentials/\(task.taskId)"
                env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = credentialsToken(task.arn)
            }
        }
        return ContainerSpec(
            name: "stowage-\(task.taskId)-\(container.name)", image: container.imageReference ?? d.image ?? "", command: override?.command ?? d.command,
            entryPoint: d.entryPoint, environment: env, workingDirectory: d.workingDirectory, user: d.user,
            // The task's memory caps a container that has no limit of its own (ECS's task-level limit).
            memoryMiB: override?.memory ?? d.memory ?? definition.memory.flatMap(Int.init),
            memoryReservationMiB: override?.memoryReservation ?? d.memoryReservation,
            cpuShares: override?.cpu ?? d.cpu,
            ports: task.awsvpc ? [] : container.bindings.compactMap { b in
                guard let c = b.containerPort, let h = b.hostPort else { return nil }
                return ContainerSpec.PortBinding(containerPort: c, hostPort: h, udp: b.protocol == "udp")
            },
            labels: labels, healthCommand: container.healthCommand, healthTimeout: d.healthCheck?.timeout,
            networkMode: networkMode, settings: settings)
    }

    /// Makes the task's volumes before its containers: bind paths that are missing, task-scoped engine volumes,
    /// and shared ones when autoprovision allows; a shared volume that is missing otherwise fails the task.
    func prepareVolumes(_ task: LocalTask) async throws {
        for (name, source) in TaskSettings.volumes(task.assignment.taskDefinition, taskArn: task.arn, taskId: task.taskId, filesRoot: configFilesRoot)
            .sorted(by: { $0.key < $1.key }) {
            switch source {
            case .bind(let path):
                if !FileManager.default.fileExists(atPath: path) {
                    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
                }
            case .files(let directory, let config):
                try writeConfigFiles(task.arn, volume: name, directory: directory, config)
            case .taskVolume(let engineName, let driver, let options, let labels):
                if try await !runtime.volumeExists(engineName) {
                    try await runtime.createVolume(engineName, driver: driver, options: options, labels: labels)
                }
            case .shared(let engineName, let driver, let options, let labels, let autoprovision):
                guard try await !runtime.volumeExists(engineName) else { continue }
                guard autoprovision else {
                    throw RuntimeError.failed("ResourceInitializationError: volume \(name): the shared volume \(engineName) does not exist on this instance and autoprovision is false")
                }
                try await runtime.createVolume(engineName, driver: driver, options: options, labels: labels)
            }
        }
    }

    func startTask(_ arn: String) async {
        guard var task = tasks[arn] else { return }
        task.busy = true
        tasks[arn] = task
        let found = adoptable.removeValue(forKey: arn) ?? [:]
        // Before a secret is fetched or an image pulled: a task needing what this host forbids gets no container, and
        // one adopted from before the switch was turned on is stopped.
        if let refusal = hostSettingsRefusal(task.assignment.taskDefinition) {
            logger.warning("task refused: it needs a host setting this instance forbids", metadata: ["task": "\(arn)", "reason": "\(refusal)"])
            for (index, container) in task.containers.enumerated() {
                if let existing = found[container.name] { tasks[arn]?.containers[index].id = existing.id }
            }
            await stopTask(arn, reason: refusal, code: StopCode.taskFailedToStart.rawValue)
            return
        }
        do {
            // Secrets before images: repositoryCredentials are the pull's login.
            if task.assignment.taskDefinition.readsSecrets, found.count < task.containers.count, taskSecrets[arn] == nil {
                let values: AgentProtocol.TaskSecrets = try await server.get(
                    "/agent/v1/clusters/\(config.cluster)/container-instances/\(instanceId)/tasks/\(task.taskId)/secrets")
                if let failure = values.failure { throw RuntimeError.failed(failure) }
                taskSecrets[arn] = values
            }
            // Images first, while the task is still PENDING (ECS's pullStartedAt/pullStoppedAt).
            if found.isEmpty, runtime.hasImages { try await pullImages(arn) }
            task = tasks[arn] ?? task
            // A task whose every container was adopted already has its volumes (its containers mount them); making them
            // again would need its secrets, which an adopted task does not fetch, and a restart of the agent must never
            // stop a running task.
            if found.count < task.containers.count { try await prepareVolumes(task) }
            try await attachTaskNetwork(arn, found: found)
            task = tasks[arn] ?? task
        } catch {
            let reason = (error as? RuntimeError).map { "\($0)" } ?? "ResourceInitializationError: \(error)"
            logger.warning("task could not be prepared", metadata: ["task": "\(arn)", "reason": "\(reason)"])
            await stopTask(arn, reason: reason, code: StopCode.taskFailedToStart.rawValue)
            return
        }
        tasks[arn]?.status = .activating
        await reportChanges()
        for index in AgentDecisions.startOrder(task.containers) {
            var container = task.containers[index]
            do {
                try await waitForDependencies(arn, container.definition)
                if let existing = found[container.name] {
                    container.id = existing.id
                    if !existing.running { try await runtime.start(existing.id) }
                } else {
                    let id = try await runtime.create(spec(task, container))
                    container.id = id
                    tasks[arn]?.containers[index].id = id
                    try await runtime.start(id)
                }
                container.status = "RUNNING"
                container.startedAt = now
                if let id = container.id { container.details = try? await runtime.inspect(id) }
                tasks[arn]?.containers[index] = container
            } catch {
                let reason = (error as? RuntimeError).map { "\($0)" } ?? "CannotStartContainerError: \(error)"
                logger.warning("task failed to start", metadata: ["task": "\(arn)", "container": "\(container.name)", "reason": "\(reason)"])
                tasks[arn]?.containers[index].reason = reason
                await stopTask(arn, reason: reason, code: StopCode.taskFailedToStart.rawValue)
                return
            }
            task = tasks[arn] ?? task
        }
        tasks[arn]?.status = .running
        tasks[arn]?.busy = false
        await reportChanges()
    }

    /// Waits for the conditions a container's dependsOn names, up to its startTimeout (default 3 minutes). The
    /// monitor leaves a starting task alone, so this looks at the containers it waits for itself.
    func waitForDependencies(_ arn: String, _ definition: ContainerDefinition) async throws {
        let deadline = now.addingTimeInterval(TimeInterval(definition.startTimeout ?? 180))
        for dependency in definition.dependsOn ?? [] {
            waiting: while let index = tasks[arn]?.containers.firstIndex(where: { $0.name == dependency.containerName }) {
                if dependency.condition == "HEALTHY" { await checkHealth(arn) } else { _ = await observeExit(arn, container: index) }
                guard let other = tasks[arn]?.containers[index] else { break }
                switch AgentDecisions.dependency(dependency.condition, on: other) {
                case .met: break waiting
                case .failed(let reason): throw RuntimeError.failed(reason)
                case .waiting:
                    guard now < deadline else {
                        throw RuntimeError.failed("timed out waiting for \(dependency.containerName) to be \(dependency.condition)")
                    }
                    try await Task.sleep(for: .milliseconds(250))
                }
            }
        }
    }

    /// Stops every container (reverse start order), records exit codes, reports STOPPED, then removes them.
    func stopTask(_ arn: String, reason: String?, code: String?) async {
        guard var task = tasks[arn], task.status != .stopped else { return }
        task.busy = true
        if task.stoppedReason == nil { task.stoppedReason = reason }
        if task.stopCode == nil { task.stopCode = code }
        task.status = .deactivating
        tasks[arn] = task
        for index in AgentDecisions.startOrder(task.containers).reversed() {
            guard let id = tasks[arn]?.containers[index].id else {
                tasks[arn]?.containers[index].status = "STOPPED"
                continue
            }
            let timeout = task.containers[index].definition.stopTimeout ?? 30
            try? await runtime.stop(id, timeout: timeout)
            let status = try? await runtime.inspect(id)
            tasks[arn]?.containers[index].status = "STOPPED"
            if tasks[arn]?.containers[index].exitCode == nil { tasks[arn]?.containers[index].exitCode = status?.exitCode }
        }
        tasks[arn]?.status = .stopped
        taskSecrets[arn] = nil
        removeConfigFiles(taskId: task.taskId)
        await reportChanges()
        // The last lines a container wrote ship before it is removed.
        await collectTelemetry(only: arn)
        await shipTelemetry()
        for container in tasks[arn]?.containers ?? [] {
            if let id = container.id { try? await runtime.remove(id) }
        }
        await detachTaskNetwork(arn)
        try? await runtime.removeVolumes(label: "\(AgentProtocol.taskLabel)=\(arn)")
        forgetTelemetry(tasks[arn]?.containers.compactMap(\.id) ?? [])
        // Forgotten only once its STOPPED state is acknowledged (the report may still be on its way).
        tasks[arn]?.finished = true
        if let task = tasks[arn], task.reported == task.signature { tasks[arn] = nil }
    }

    func discard(_ arn: String) async {
        for container in tasks[arn]?.containers ?? [] {
            guard let id = container.id else { continue }
            try? await runtime.stop(id, timeout: container.definition.stopTimeout ?? 30)
            try? await runtime.remove(id)
        }
        await detachTaskNetwork(arn)
        try? await runtime.removeVolumes(label: "\(AgentProtocol.taskLabel)=\(arn)")
        taskSecrets[arn] = nil
        if let taskId = tasks[arn]?.taskId { removeConfigFiles(taskId: taskId) }
        forgetTelemetry(tasks[arn]?.containers.compactMap(\.id) ?? [])
        tasks[arn] = nil
    }
}
