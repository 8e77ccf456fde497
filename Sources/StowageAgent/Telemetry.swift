import Foundation
import StowageModel

/// What the agent keeps between telemetry rounds.
struct TelemetryState {
    /// The previous CPU reading per container, for rates.
    var cpu: [String: (nanos: UInt64, at: Date)] = [:]
    /// Per container, the newest log timestamp read (nanoseconds) and how many lines at exactly that time
    /// were taken, since the engine's `since` is inclusive: lines are neither sent twice nor skipped.
    var logCursor: [String: (nanos: Int64, taken: Int)] = [:]
    var metrics: [AgentProtocol.MetricSample] = []
    /// Lines waiting to ship, per task, group and stream, oldest first.
    var logs: [LogKey: [AgentProtocol.LogEvent]] = [:]
    var bufferedLines = 0
    var dropped = 0
    /// Metric samples dropped because the buffer was full or the server refused them, since the last shipment.
    var droppedSamples = 0

    struct LogKey: Hashable { var task: String; var group: String; var stream: String }

    /// Adds lines; past the limit the oldest are dropped and counted, never silently.
    mutating func buffer(_ key: LogKey, _ events: [AgentProtocol.LogEvent], limit: Int) {
        logs[key, default: []].append(contentsOf: events)
        bufferedLines += events.count
        trim(limit: limit)
    }

    /// Puts lines whose shipment failed back in front of their stream, still within the limit.
    mutating func requeue(_ key: LogKey, _ events: [AgentProtocol.LogEvent], limit: Int) {
        logs[key] = events + (logs[key] ?? [])
        bufferedLines += events.count
        trim(limit: limit)
    }

    /// Adds metric samples; past the limit the oldest are dropped and counted.
    mutating func add(_ samples: [AgentProtocol.MetricSample], limit: Int, atFront: Bool = false) {
        if atFront { metrics.insert(contentsOf: samples, at: 0) } else { metrics.append(contentsOf: samples) }
        if metrics.count > limit {
            let excess = metrics.count - limit
            metrics.removeFirst(excess)
            droppedSamples += excess
        }
    }

    mutating func trim(limit: Int) {
        while bufferedLines > limit, let fullest = logs.max(by: { $0.value.count < $1.value.count })?.key {
            let excess = min(bufferedLines - limit, logs[fullest]?.count ?? 0)
            logs[fullest]?.removeFirst(excess)
            bufferedLines -= excess
            dropped += excess
        }
    }
}

extension Agent {
    /// Where a container's lines go: its awslogs group, and ECS's stream naming (prefix/container/task-id).
    static func logDestination(_ task: LocalTask, _ container: LocalContainer) -> TelemetryState.LogKey? {
        guard let (group, stream) = AgentProtocol.logDestination(container.definition.logConfiguration, container: container.name,
                                                                 taskId: task.taskId) else { return nil }
        return TelemetryState.LogKey(task: task.arn, group: group, stream: stream)
    }

    func telemetryLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: config.telemetryInterval)
            await collectTelemetry(only: nil)
            await shipTelemetry()
        }
    }

    /// Samples resources of running containers and reads their new log lines (of one task, or all).
    func collectTelemetry(only: String?) async {
        let cores = Double(ProcessInfo.processInfo.activeProcessorCount)
        for (arn, task) in tasks where only == nil || only == arn {
            for container in task.containers {
                guard let id = container.id else { continue }
                if container.status == "RUNNING", let stats = try? await runtime.stats(id) {
                    var sample = AgentProtocol.MetricSample(taskArn: arn, containerName: container.name,
                                                            timestamp: Int64(now.timeIntervalSince1970 * 1000))
                    if let previous = telemetry.cpu[id], stats.cpuNanos >= previous.nanos, now > previous.at {
                        let used = Double(stats.cpuNanos - previous.nanos)
                        let wall = now.timeIntervalSince(previous.at) * 1e9
                        sample.cpuPercentOfHost = used / (wall * cores) * 100
                        if let units = container.definition.cpu, units > 0 {
                            sample.cpuPercentOfReservation = used / (wall * Double(units) / 1024) * 100
                        }
                    }
                    // A zero reading is the engine not answering the counter, not a restart: the baseline stays,
                    // or the next reading would count the container's whole life as one interval.
                    if stats.cpuNanos > 0 || telemetry.cpu[id] == nil { telemetry.cpu[id] = (stats.cpuNanos, now) }
                    sample.memoryBytes = Int64(stats.memoryBytes)
                    if let mib = container.definition.memoryReservation ?? container.definition.memory, mib > 0 {
                        sample.memoryPercentOfReservation = Double(stats.memoryBytes) / Double(mib << 20) * 100
                    }
                    sample.networkRxBytes = stats.networkRxBytes.map(Int64.init)
                    sample.networkTxBytes = stats.networkTxBytes.map(Int64.init)
                    sample.blockReadBytes = stats.blockReadBytes.map(Int64.init)
                    sample.blockWriteBytes = stats.blockWriteBytes.map(Int64.init)
                    telemetry.add([sample], limit: config.metricBufferSamples)
                }
                guard let key = Self.logDestination(task, container) else { continue }
                let cursor = telemetry.logCursor[id]
                guard let lines = try? await runtime.logs(id, since: cursor?.nanos), !lines.isEmpty else { continue }
                var skip = cursor?.taken ?? 0
                let fresh = lines.filter { line in
                    guard let cursor else { return true }
                    if line.nanos > cursor.nanos { return true }
                    if line.nanos == cursor.nanos, skip > 0 { skip -= 1; return false }
                    return line.nanos == cursor.nanos
                }
                guard let newest = fresh.map(\.nanos).max() else { continue }
                let atNewest = fresh.filter { $0.nanos == newest }.count
                telemetry.logCursor[id] = (newest, newest == cursor?.nanos ? (cursor?.taken ?? 0) + atNewest : atNewest)
                // A NUL a container printed is kept visible (U+FFFD) but cannot break a shipment.
                telemetry.buffer(key, fresh.map { AgentProtocol.LogEvent(timestamp: Int64($0.timestamp.timeIntervalSince1970 * 1000),
                                                                          message: $0.message.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}")) },
                                 limit: config.logBufferLines)
            }
        }
    }

    /// Sends what is buffered in bounded batches, one shipment at a time. A shipment takes its batch out of
    /// the buffer before it awaits the server (the actor may run other work meanwhile) and puts it back on
    /// failure, so it stays buffered (backpressure) for the next round.
    func shipTelemetry() async {
        guard !shipping else { return }
        shipping = true
        defer { shipping = false }
        while !telemetry.metrics.isEmpty || telemetry.bufferedLines > 0 || telemetry.dropped > 0 || telemetry.droppedSamples > 0 {
            var budget = 5000
            var batches: [AgentProtocol.LogBatch] = []
            for key in Array(telemetry.logs.keys) where budget > 0 {
                guard let events = telemetry.logs[key], !events.isEmpty else { telemetry.logs[key] = nil; continue }
                let chunk = Array(events.prefix(budget))
                budget -= chunk.count
                telemetry.logs[key] = events.count == chunk.count ? nil : Array(events.dropFirst(chunk.count))
                telemetry.bufferedLines -= chunk.count
                batches.append(AgentProtocol.LogBatch(taskArn: key.task, logGroupName: key.group, logStreamName: key.stream, events: chunk))
            }
            let metrics = Array(telemetry.metrics.prefix(2000))
            telemetry.metrics.removeFirst(metrics.count)
            let dropped = telemetry.dropped
            let droppedSamples = telemetry.droppedSamples
            telemetry.dropped = 0
            telemetry.droppedSamples = 0
            do {
                var shipment = AgentProtocol.Telemetry(metrics: metrics, logs: batches, droppedLogLines: dropped)
                shipment.droppedMetricSamples = droppedSamples
                let _: AgentProtocol.TelemetryAnswer = try await server.post(
                    "/agent/v1/clusters/\(config.cluster)/container-instances/\(instanceId)/telemetry", shipment)
            } catch let error as APIError where (400..<500).contains(error.awsStatus) && error.awsStatus != 429 && error.awsStatus != 403 {
                // The server refused this shipment's content: retrying the same bytes would block every later
                // shipment of this host, so it is dropped and counted in the next one.
                logger.error("telemetry shipment refused; dropping it", metadata: ["error": "\(error)"])
                telemetry.dropped += dropped + batches.reduce(0) { $0 + $1.events.count }
                telemetry.droppedSamples += droppedSamples + metrics.count
                return
            } catch {
                logger.warning("telemetry shipment failed; keeping it buffered", metadata: ["error": "\(error)"])
                telemetry.add(metrics, limit: config.metricBufferSamples, atFront: true)
                telemetry.dropped += dropped
                telemetry.droppedSamples += droppedSamples
                for batch in batches {
                    telemetry.requeue(TelemetryState.LogKey(task: batch.taskArn, group: batch.logGroupName, stream: batch.logStreamName),
                                      batch.events, limit: config.logBufferLines)
                }
                return
            }
        }
    }

    /// Forgets readings of containers that are gone.
    func forgetTelemetry(_ containerIds: [String]) {
        for id in containerIds { telemetry.cpu[id] = nil; telemetry.logCursor[id] = nil }
    }
}
