import Foundation

/// Decides what the host-loss sweep does to a cluster's silent instances: static stability first.
///
/// Silence is measured only over time the control plane could hear agents (the caller passes seconds since
/// the later of the last heartbeat and the moment the control plane last became healthy). When a large
/// share of a cluster's instances are silent at once, a control-plane or network fault is far likelier
/// than that many host failures, so they are marked disconnected and nothing is stopped (as Kubernetes
/// stops evicting in a fully disrupted zone). Otherwise host-loss stops are rate limited per sweep.
public enum HostLoss {
    public struct Settings: Sendable, Equatable {
        /// Seconds of silence before an instance is marked disconnected.
        public var timeout: Double
        /// Further seconds before its tasks are stopped as host lost.
        public var grace: Double
        /// A cluster with more than this share of its instances silent at once stops nothing.
        public var massSilenceShare: Double
        /// At most this share of a cluster's instances (at least one) has its tasks stopped per sweep.
        public var stopsPerSweepShare: Double

        public init(timeout: Double = 30, grace: Double = 30, massSilenceShare: Double = 0.5, stopsPerSweepShare: Double = 0.1) {
            self.timeout = timeout; self.grace = grace; self.massSilenceShare = massSilenceShare
            self.stopsPerSweepShare = stopsPerSweepShare
        }
    }

    /// One container instance with an agent, as the sweep sees it.
    public struct Instance: Sendable, Equatable {
        public var id: String
        public var connected: Bool
        /// Seconds of silence the control plane could have heard.
        public var silence: Double
        /// Tasks on it that are not STOPPED.
        public var liveTasks: Int
        public init(id: String, connected: Bool, silence: Double, liveTasks: Int) {
            self.id = id; self.connected = connected; self.silence = silence; self.liveTasks = liveTasks
        }
    }

    public struct Decision: Sendable, Equatable {
        /// Instances to mark disconnected now.
        public var disconnect: [String] = []
        /// Instances whose tasks are stopped as host lost now.
        public var stop: [String] = []
        /// Lost instances left for a later sweep by the rate limit.
        public var deferred: [String] = []
        /// Whether the cluster is in mass silence (nothing stopped).
        public var massSilence = false
        /// What the cluster's events should say, if anything.
        public var events: [String] = []
        public init() {}
    }

    public static func decide(cluster: String, _ instances: [Instance], _ settings: Settings) -> Decision {
        var decision = Decision()
        guard !instances.isEmpty else { return decision }
        let silent = instances.filter { $0.silence > settings.timeout }
        decision.disconnect = silent.filter(\.connected).map(\.id).sorted()
        let lost = silent.filter { $0.silence > settings.timeout + settings.grace && $0.liveTasks > 0 }
            .sorted { ($0.silence, $0.id) > ($1.silence, $1.id) }
        if Double(silent.count) > settings.massSilenceShare * Double(instances.count) {
            decision.massSilence = true
            if !decision.disconnect.isEmpty {
                let tasks = silent.reduce(0) { $0 + $1.liveTasks }
                decision.events.append(
                    "(cluster \(cluster)) \(silent.count) of \(instances.count) container instances stopped reporting at once; "
                    + "marked disconnected, their \(tasks) tasks left running: that many hosts failing together is more likely "
                    + "a control-plane or network fault. Tasks are stopped as host lost only once most of the cluster reports again.")
            }
            return decision
        }
        let limit = max(1, Int((settings.stopsPerSweepShare * Double(instances.count)).rounded(.down)))
        decision.stop = lost.prefix(limit).map(\.id)
        decision.deferred = lost.dropFirst(limit).map(\.id)
        if !decision.deferred.isEmpty {
            decision.events.append(
                "(cluster \(cluster)) host loss is rate limited: stopping the tasks of \(decision.stop.count) silent container "
                + "instance(s) now, \(decision.deferred.count) more in later sweeps.")
        }
        return decision
    }
}
