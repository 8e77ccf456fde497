import Foundation
import StowageModel

/// How far a container's log has been read or shipped: the engine's timestamp of a line (nanoseconds) and its
/// ordinal among the lines at exactly that time, since the engine's `since` is inclusive and lines share timestamps.
struct LogPosition: Codable, Equatable, Comparable {
    var nanos: Int64
    var taken: Int

    static func < (a: LogPosition, b: LogPosition) -> Bool { (a.nanos, a.taken) < (b.nanos, b.taken) }
}

/// What the agent keeps between telemetry rounds.
struct TelemetryState {
    /// The previous CPU reading per container, for rates.
    var cpu: [String: (nanos: UInt64, at: Date)] = [:]
    /// Per container, the newest line read: lines are neither buffered twice nor skipped.
    var logCursor: [String: LogPosition] = [:]
    /// Per container, the newest line the server took (or refused and counted as dropped): saved with the agent's
    /// state, so a restarted agent resumes there instead of sending the container's whole log again.
    var shippedLog: [String: LogPosition] = [:]
    /// `shippedLog` differs from what was last saved.
    var shippedLogChanged = false
    /// Saves of `shippedLog` that failed; the agent keeps working (a restart would then send some lines again).
    var logPositionSaveFailures = 0
    var metrics: [AgentProtocol.MetricSample] = []
    /// Lines waiting to ship, per task, group and stream, oldest first.
    var logs: [LogKey: [BufferedLine]] = [:]
    var bufferedLines = 0
    var dropped = 0
    /// Metric samples dropped because the buffer was full or the server refused them, since the last shipment.
    var droppedSamples = 0

    struct LogKey: Hashable { var task: String; var group: String; var stream: String }

    /// A line waiting to ship and where it was read, which becomes the container's shipped position once it ships.
    struct BufferedLine {
        var event: AgentProtocol.LogEvent
        var container: String
        var position: LogPosition
    }

    /// The lines of one read that come after `cursor`, each with its position. A read from the engine starts at the
    /// cursor's time (`since` is inclusive, and an engine may round it down), so it begins with lines already taken.
    static func unread(_ lines: [LogLine], after cursor: LogPosition?) -> [(line: LogLine, position: LogPosition)] {
        var out: [(line: LogLine, position: LogPosition)] = []
        var previous: Int64?
        var ordinal = 0
        for line in lines {
            ordinal = line.nanos == previous ? ordinal + 1 : 1
            previous = line.nanos
            let position = LogPosition(nanos: line.nanos, taken: ordinal)
            if let cursor, position <= cursor { continue }
            out.append((line, position))
        }
        return out
    }

    /// Records lines as shipped (or refused and counted): each container's position moves to its newest. A container
    /// forgotten while its lines were on their way (no read cursor any more) stays forgotten.
    mutating func shipped(_ lines: [BufferedLine]) {
        for line in lines where logCursor[line.container] != nil && shippedLog[line.container].map({ $0 < line.position }) ?? true {
            shippedLog[line.container] = line.position
            shippedLogChanged = true
        }
    }

    /// Adds lines; past the limit the oldest are dropped and counted, never silently.
    mutating func buffer(_ key: LogKey, _ lines: [BufferedLine], limit: Int) {
        logs[key, default: []].append(contentsOf: lines)
        bufferedLines += lines.count
        trim(limit: limit)
    }

    /// Puts lines whose shipment failed back in front of their stream, still within the limit.
    mutating func requeue(_ key: LogKey, _ lines: [BufferedLine], limit: Int) {
        logs[key] = lines + (logs[key] ?? [])
        bufferedLines += lines.count
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
                guard let lines = try? await runtime.logs(id, since: cursor?.nanos) else { continue }
                let fresh = TelemetryState.unread(lines, after: cursor)
                guard let newest = fresh.map(\.position).max() else { continue }
                telemetry.logCursor[id] = newest
                // A NUL a container printed is kept visible (U+FFFD) but cannot break a shipment.
                telemetry.buffer(key, fresh.map { line, position in
                    TelemetryState.BufferedLine(event: AgentProtocol.LogEvent(timestamp: Int64(line.timestamp.timeIntervalSince1970 * 1000),
                                                                              message: line.message.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}")),
                                                container: id, position: position)
                }, limit: config.logBufferLines)
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
            var taken: [(key: TelemetryState.LogKey, lines: [TelemetryState.BufferedLine])] = []
            for key in Array(telemetry.logs.keys) where budget > 0 {
                guard let lines = telemetry.logs[key], !lines.isEmpty else { telemetry.logs[key] = nil; continue }
                let chunk = Array(lines.prefix(budget))
                budget -= chunk.count
                telemetry.logs[key] = lines.count == chunk.count ? nil : Array(lines.dropFirst(chunk.count))
                telemetry.bufferedLines -= chunk.count
                taken.append((key, chunk))
            }
            let batches = taken.map { AgentProtocol.LogBatch(taskArn: $0.key.task, logGroupName: $0.key.group, logStreamName: $0.key.stream,
                                                             events: $0.lines.map(\.event)) }
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
                telemetry.shipped(taken.flatMap(\.lines))
                saveLogPositions()
            } catch let error as APIError where (400..<500).contains(error.awsStatus) && error.awsStatus != 429 && error.awsStatus != 403 {
                // The server refused this shipment's content: retrying the same bytes would block every later
                // shipment of this host, so it is dropped and counted in the next one.
                logger.error("telemetry shipment refused; dropping it", metadata: ["error": "\(error)"])
                telemetry.dropped += dropped + batches.reduce(0) { $0 + $1.events.count }
                telemetry.droppedSamples += droppedSamples + metrics.count
                telemetry.shipped(taken.flatMap(\.lines))
                saveLogPositions()
                return
            } catch {
                logger.warning("telemetry shipment failed; keeping it buffered", metadata: ["error": "\(error)"])
                telemetry.add(metrics, limit: config.metricBufferSamples, atFront: true)
                telemetry.dropped += dropped
                telemetry.droppedSamples += droppedSamples
                for (key, lines) in taken { telemetry.requeue(key, lines, limit: config.logBufferLines) }
                return
            }
        }
        // Positions of containers forgotten since the last shipment leave the saved state too.
        saveLogPositions()
    }

    /// Forgets readings of containers that are gone; their saved log positions go with the next save.
    func forgetTelemetry(_ containerIds: [String]) {
        for id in containerIds {
            telemetry.cpu[id] = nil
            telemetry.logCursor[id] = nil
            if telemetry.shippedLog.removeValue(forKey: id) != nil { telemetry.shippedLogChanged = true }
        }
    }
}
