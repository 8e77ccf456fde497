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
    /// Where time comes from: health-check intervals, start timeouts, report sequence numbers.
    public var clock: any WallClock = SystemClock()

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
}
