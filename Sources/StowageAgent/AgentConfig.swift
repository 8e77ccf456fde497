import Foundation
import StowageModel

/// How an agent describes and runs its host.
public struct AgentConfig: Sendable {
    public var cluster: String
    /// Holds the agent's identity, so a restarted agent re-attaches to the same container instance.
    public var stateDirectory: String
    public var zone: String
    public var attributes: [String: String]
    public var reservedMemoryMiB: Int
    public var pollWait: Int
    public var monitorInterval: Duration
    public var hostname: String
    /// The address other hosts reach this one at; nil: the local address of the route to the server.
    public var hostAddress: String?
    /// Where dynamic host ports come from; instances sharing one machine need ranges that do not overlap.
    public var portRange: ClosedRange<Int>
    /// How often metrics and logs are shipped.
    public var telemetryInterval: Duration = .seconds(10)
    /// Log lines buffered before the oldest are dropped (and counted).
    public var logBufferLines = 10_000
    /// Keys the per-task authorization tokens of the credentials endpoint (the agent's own secret), so a
    /// restarted agent recognizes the tokens of containers it started before.
    public var credentialsKey: String = ""
    /// Longest wait between retries when the server cannot be reached. It must stay well inside the
    /// control plane's heartbeat window (30 s by default) so that an agent is heard again as soon as the
    /// control plane is back; each wait is jittered between half and all of it so agents do not return in step.
    public var maxBackoff: Double = 10
    /// Most task states in one report; more changes go in further reports, so a report never exceeds the body limit.
    public var reportBatch = 100
    /// Metric samples buffered while the server is unreachable before the oldest are dropped (and counted).
    public var metricBufferSamples = 20_000
    /// When the agent pulls a task's images (ECS_IMAGE_PULL_BEHAVIOR).
    public var imagePullBehavior: ImagePullBehavior = .default
    /// Registry host -> credentials, from a Docker config file's `auths`.
    public var registryAuth: [String: ImageRegistryCredentials] = [:]
    /// Image cleanup: how often it runs (nil: never), how long an image the agent pulled must have gone unused,
    /// how many go per run, and the disk usage (percent of the image store's filesystem) that removes more
    /// (unused, oldest first) until usage is back under the low mark.
    public var imageCleanupInterval: Duration? = .seconds(1800)
    public var imageMinimumAge: TimeInterval = 3600
    public var imagesPerCleanup = 5
    public var imageDiskHighPercent = 85.0
    public var imageDiskLowPercent = 80.0
    /// Where configuration volumes' files are written: it must be a tmpfs, so secret values never reach a disk.
    public var configFilesDirectory = "/dev/shm/stowage-agent"
    /// How often running tasks' in-place configuration volumes are read again (nil: never).
    public var configRefreshInterval: Duration? = .seconds(30)
    /// Where the containers' resolver listens (port 53): an IPv4 address, `auto` (the engine's bridge gateway),
    /// or nil for none (containers keep the engine's resolver and Cloud Map names do not resolve in them).
    public var dnsAddress: String?
    /// Where names that are not the tenant's go: `address` or `address:port`; nil: the host's resolv.conf.
    public var dnsUpstream: String?
    /// How often the tenant's Cloud Map names are fetched for the resolver.
    public var discoveryRefresh: Duration = .seconds(2)
    /// Where time comes from: health-check intervals, start timeouts, report sequence numbers.
    public var clock: any WallClock = SystemClock()
    /// What tasks may take from this host (the `--forbid-*` switches): advertised at registration, and enforced
    /// again before a task's containers are made.
    public var hostAllowance = HostAllowance.everything
    /// How often the instance's own credential is replaced by a new one.
    public var credentialRotation: Duration = .seconds(12 * 3600)
    /// Whether awsvpc tasks get namespaces of their own here (when the engine can), and how often the routes to the
    /// other hosts' task subnets are refreshed.
    public var taskNetworking = true
    public var routeRefresh: Duration = .seconds(5)

    public init(cluster: String, stateDirectory: String, zone: String = "local", attributes: [String: String] = [:],
                reservedMemoryMiB: Int = 256, pollWait: Int = 20, monitorInterval: Duration = .seconds(1),
                hostname: String = ProcessInfo.processInfo.hostName, portRange: ClosedRange<Int> = AgentProtocol.defaultPortRange) {
        self.cluster = cluster; self.stateDirectory = stateDirectory; self.zone = zone; self.attributes = attributes
        self.reservedMemoryMiB = reservedMemoryMiB; self.pollWait = pollWait; self.monitorInterval = monitorInterval
        self.hostname = hostname; self.portRange = portRange
    }
}

/// What the agent remembers between runs.
struct AgentState: Codable {
    var cluster: String
    var ec2InstanceId: String
    var containerInstanceArn: String?
    /// The instance's own credential (the file is readable by root only): what the agent signs with once registered.
    var instanceAccessKeyId: String?
    var instanceSecret: String?
}

/// ECS's image pull behaviours: `default` pulls and falls back to a cached copy when the registry fails,
/// `always` pulls and fails without it, `once` pulls only the first time on this instance, `prefer-cached`
/// uses a cached copy when there is one.
public enum ImagePullBehavior: String, Sendable, CaseIterable {
    case `default`, always, once, preferCached = "prefer-cached"
}

/// A private registry's user and password, as the agent's registry auth file gives them.
public struct ImageRegistryCredentials: Sendable, Equatable {
    public var username: String
    public var password: String
    public var registry: String

    /// The engine's X-Registry-Auth header: base64url of the JSON auth config.
    public var engineHeader: String? {
        let header = ["username": username, "password": password, "serveraddress": registry]
        guard let body = try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]) else { return nil }
        return body.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }
}

/// Reads a Docker config file (`{"auths": {"host": {"auth": base64(user:password)}}}`, or `username` and
/// `password`), by registry host.
public enum RegistryAuthFile {
    public static func parse(_ data: Data) throws -> [String: ImageRegistryCredentials] {
        guard let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let auths = json["auths"] as? [String: [String: Any]] else {
            throw RuntimeError.failed("a registry auth file is a Docker config: {\"auths\": {\"host\": {\"auth\": \"base64(user:password)\"}}}")
        }
        var out: [String: ImageRegistryCredentials] = [:]
        for (host, entry) in auths {
            var user = entry["username"] as? String
            var password = entry["password"] as? String
            if let encoded = entry["auth"] as? String, let decoded = Data(base64Encoded: encoded).map({ String(decoding: $0, as: UTF8.self) }),
               let colon = decoded.firstIndex(of: ":") {
                user = String(decoded[..<colon])
                password = String(decoded[decoded.index(after: colon)...])
            }
            guard let user, let password else { continue }
            let registry = host.replacingOccurrences(of: "https://", with: "").replacingOccurrences(of: "http://", with: "")
                .split(separator: "/").first.map(String.init) ?? host
            out[registry] = ImageRegistryCredentials(username: user, password: password, registry: registry)
        }
        return out
    }
}
