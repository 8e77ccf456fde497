import Foundation
import StowageModel

/// awsvpc on Podman: a bridge network per task subnet (Podman's CNI bridge with host-local addresses) and, per task,
/// a holder container running Podman's own pause image whose network namespace the task's containers join
/// (`container:<id>`), as ECS's agent does with its pause container. Podman builds the pause image locally from
/// catatonit when a pod is first made, so nothing is pulled.
extension DockerRuntime {
    static let libpod = "v4.0.0"
    static let pauseRepository = "localhost/podman-pause"

    public func supportsTaskNetworks() async -> Bool {
        guard await isPodman() else { return false }
        return (try? await call(.GET, "/libpod/_ping", timeout: .seconds(10), api: Self.libpod).status) == 200
    }

    public func ensureTaskNetwork(name: String, subnet: String, gateway: String, labels: [String: String]) async throws {
        let existing = try await call(.GET, "/libpod/networks/\(Self.escape(name))/json", timeout: .seconds(20), api: Self.libpod)
        if existing.status == 200 {
            let subnets = ((existing.json as? [String: Any])?["subnets"] as? [[String: Any]] ?? []).compactMap { $0["subnet"] as? String }
            guard subnets.contains(subnet) else {
                throw RuntimeError.failed("the engine network \(name) exists with subnets \(subnets), not \(subnet)")
            }
            return
        }
        let body: [String: Any] = [
            "name": name, "driver": "bridge", "dns_enabled": false, "labels": labels,
            "subnets": [["subnet": subnet, "gateway": gateway]],
        ]
        let made = try await call(.POST, "/libpod/networks/create", body: body, timeout: .seconds(30), api: Self.libpod)
        // 409: another agent of this engine made it meanwhile.
        guard [200, 201, 409].contains(made.status) else { throw RuntimeError.failed("task network \(name) not made: \(made.status) \(made.message)") }
    }

    /// The newest local pause image, made (by creating and removing a throwaway pod) when there is none yet.
    func pauseImage() async throws -> String {
        func newest() async throws -> String? {
            let filters = Self.escape("{\"reference\":[\"\(Self.pauseRepository)\"]}")
            let answer = try await call(.GET, "/images/json?filters=\(filters)", timeout: .seconds(20))
            let images = answer.json as? [[String: Any]] ?? []
            let sorted = images.sorted { ($0["Created"] as? Int ?? 0) > ($1["Created"] as? Int ?? 0) }
            return sorted.lazy.compactMap { ($0["RepoTags"] as? [String])?.first { $0.hasPrefix(Self.pauseRepository + ":") } }.first
        }
        if let image = try await newest() { return image }
        let probe = "stowage-pause-image-\(UUID().uuidString.prefix(8).lowercased())"
        let made = try await call(.POST, "/libpod/pods/create", body: ["name": probe], timeout: .seconds(120), api: Self.libpod)
        _ = try? await call(.DELETE, "/libpod/pods/\(probe)?force=true", timeout: .seconds(60), api: Self.libpod)
        guard [200, 201].contains(made.status), let image = try await newest() else {
            throw RuntimeError.failed("the engine's pause image could not be made: \(made.status) \(made.message)")
        }
        return image
    }

    public func createNetworkHolder(name: String, network: String, settings: EngineSettings, labels: [String: String]) async throws -> String {
        let image = try await pauseImage()
        var host: [String: Any] = ["NetworkMode": network]
        if !settings.dns.isEmpty { host["Dns"] = settings.dns }
        if !settings.dnsSearch.isEmpty { host["DnsSearch"] = settings.dnsSearch }
        if !settings.extraHosts.isEmpty { host["ExtraHosts"] = settings.extraHosts }
        var config: [String: Any] = [
            "Image": image, "Labels": labels, "HostConfig": host,
            "NetworkingConfig": ["EndpointsConfig": [network: [String: Any]()]],
        ]
        if let hostname = settings.hostname { config["Hostname"] = hostname }
        let answer = try await call(.POST, "/containers/create?name=\(Self.escape(name))", body: config)
        guard [200, 201].contains(answer.status), let id = (answer.json as? [String: Any])?["Id"] as? String else {
            throw RuntimeError.failed("ResourceInitializationError: the task's network namespace was not made: \(answer.message)")
        }
        do {
            try await start(id)
        } catch {
            try? await remove(id)
            throw RuntimeError.failed("ResourceInitializationError: the task's network namespace did not start: \(error)")
        }
        return id
    }

    public func address(of id: String, network: String) async throws -> String? {
        let answer = try await call(.GET, "/containers/\(id)/json")
        guard answer.status == 200 else { return nil }
        let networks = ((answer.json as? [String: Any])?["NetworkSettings"] as? [String: Any])?["Networks"] as? [String: [String: Any]]
        return (networks?[network]?["IPAddress"] as? String).flatMap { $0.isEmpty ? nil : $0 }
    }
}
