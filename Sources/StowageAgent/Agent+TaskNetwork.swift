import Foundation
import StowageModel
import StowageShell

/// The instance's task network: the engine network of the /24 the server gave it.
struct HostTaskNetwork: Sendable, Equatable {
    var name: String
    var subnet: String
    var gateway: String
}

/// awsvpc tasks: each gets a namespace of its own (a holder container on the task network), its containers join
/// it and share localhost, and the host keeps routes to the other hosts' task subnets.
extension Agent {
    /// The container label value of a task's network holder: no ECS container name can contain `~`.
    static let holderName = "~network"

    /// Makes the engine network of the instance's task subnet. Without one, awsvpc tasks placed here fail with why.
    func prepareTaskNetwork(subnet: String?) async {
        guard let subnet else {
            logger.warning("the server gave this instance no task subnet: awsvpc tasks cannot run here")
            taskNetwork = nil
            return
        }
        guard let name = TaskRouting.networkName(of: subnet), let gateway = TaskRouting.gateway(of: subnet) else {
            logger.error("the server gave this instance a task subnet that is not a /24", metadata: ["subnet": "\(subnet)"])
            taskNetwork = nil
            return
        }
        let network = HostTaskNetwork(name: name, subnet: subnet, gateway: gateway)
        guard network != taskNetwork else { return }
        do {
            try await runtime.ensureTaskNetwork(name: name, subnet: subnet, gateway: gateway,
                                                labels: [AgentProtocol.instanceLabel: state?.containerInstanceArn ?? ""])
            taskNetwork = network
            logger.info("task network ready", metadata: ["network": "\(name)", "subnet": "\(subnet)"])
        } catch {
            taskNetwork = nil
            logger.error("task network not made: awsvpc tasks cannot run here", metadata: ["subnet": "\(subnet)", "error": "\(error)"])
        }
    }

    /// Gives an awsvpc task its namespace (adopting the holder a previous run of the agent made) and learns its
    /// address. The definition's resolver and hosts settings belong to the namespace, so they go on the holder.
    func attachTaskNetwork(_ arn: String, found: [String: ListedContainer]) async throws {
        guard let task = tasks[arn], task.awsvpc else { return }
        guard let network = taskNetwork else {
            throw RuntimeError.failed("ResourceInitializationError: this instance has no task network for awsvpc tasks (see the agent's log)")
        }
        let id: String
        // Made again if it went away since registration (an operator's `podman network prune`): one lookup.
        try await runtime.ensureTaskNetwork(name: network.name, subnet: network.subnet, gateway: network.gateway,
                                            labels: [AgentProtocol.instanceLabel: state?.containerInstanceArn ?? ""])
        if let existing = found[Self.holderName] {
            id = existing.id
            if !existing.running { try await runtime.start(id) }
        } else {
            var settings = EngineSettings()
            for container in task.containers {
                settings.dns += container.definition.dnsServers ?? []
                settings.dnsSearch += container.definition.dnsSearchDomains ?? []
                settings.extraHosts += (container.definition.extraHosts ?? []).compactMap { entry in
                    guard let host = entry.hostname, let address = entry.ipAddress else { return nil }
                    return "\(host):\(address)"
                }
            }
            // The tenant's Cloud Map names resolve in the task unless its definition names resolvers of its own.
            if settings.dns.isEmpty, let resolver = taskResolverAddress ?? resolverAddress { settings.dns = [resolver] }
            let labels = [AgentProtocol.taskLabel: arn, AgentProtocol.containerLabel: Self.holderName,
                          AgentProtocol.instanceLabel: state?.containerInstanceArn ?? ""]
            id = try await runtime.createNetworkHolder(name: "stowage-\(task.taskId)-network", network: network.name, settings: settings,
                                                       labels: labels)
        }
        tasks[arn]?.networkHolder = id
        // Awaited into a local first: an access to `tasks` must never span a suspension, while other tasks' starts
        // change the dictionary (its storage can move).
        let address = try await runtime.address(of: id, network: network.name)
        tasks[arn]?.address = address
        guard address != nil else {
            throw RuntimeError.failed("ResourceInitializationError: the task's network namespace got no address on \(network.name)")
        }
    }

    /// Removes an awsvpc task's holder once its containers are gone (its namespace goes with it).
    func detachTaskNetwork(_ arn: String) async {
        guard let holder = tasks[arn]?.networkHolder else { return }
        try? await runtime.stop(holder, timeout: 2)
        try? await runtime.remove(holder)
        tasks[arn]?.networkHolder = nil
    }

    /// Keeps this host's routes to the other instances' task subnets as the control plane lists them. While the
    /// control plane cannot be reached the routes stay as they are (static stability).
    func taskRoutesLoop() async {
        var failing = false
        var lastProblem = ""
        while !Task.isCancelled {
            do {
                let routes: [AgentProtocol.TaskRoute] = try await server.get(
                    "/agent/v1/clusters/\(config.cluster)/container-instances/\(instanceId)/routes")
                let plan = try await HostRoutes.convergeInBackground(routes, proto: TaskRouting.agentProtocol)
                if !plan.isEmpty {
                    logger.info("task routes changed", metadata: ["installed": "\(plan.replace.map { "\($0.subnet) via \($0.via)" })",
                                                                 "removed": "\(plan.delete)"])
                }
                if failing { logger.info("task routes in step again") }
                failing = false
                lastProblem = ""
            } catch {
                let problem = "\(error)"
                if problem != lastProblem { logger.warning("task routes not updated; the current ones stay", metadata: ["error": "\(problem)"]) }
                failing = true
                lastProblem = problem
            }
            try? await Task.sleep(for: config.routeRefresh)
        }
    }
}
