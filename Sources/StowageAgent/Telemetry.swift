import Foundation
import StowageModel

/// What the agent keeps between telemetry rounds.
struct TelemetryState {
    /// The previous CPU reading per container, for rates.
    var cpu: [String: (nanos: UInt64, at: Date)] = [:]
    /// The newest log timestamp shipped per container, so lines are not sent twice.
    var logCursor: [String: Date] = [:]
    var metrics: [AgentProtocol.MetricSample] = []
    /// Lines waiting to ship, per task, group and stream, oldest first.
    var logs: [LogKey: [AgentProtocol.LogEvent]] = [:]
    var bufferedLines = 0
    var dropped = 0

    struct LogKey: Hashable { var task: String; var group: String; var stream: String }

    /// Adds lines; past the limit the oldest are dropped and counted, never silently.
    mutating func buffer(_ key: LogKey, _ events: [AgentProtocol.LogEvent], limit: Int) {
        logs[key, default: []].append(contentsOf: events)
        bufferedLines += events.count
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
        guard let log = container.definition.logConfiguration, log.logDriver == "awslogs",
              let group = log.options?["awslogs-group"], !group.isEmpty else { return nil }
        let prefix = log.options?["awslogs-stream-prefix"]
        let stream = prefix.map { "\($0)/\(container.name)/\(task.taskId)" } ?? task.taskId
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
        let now = Date()
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
                    telemetry.cpu[id] = (stats.cpuNanos, now)
                    sample.memoryBytes = Int64(stats.memoryBytes)
                    if let mib = container.definition.memoryReservation ?? container.definition.memory, mib > 0 {
                        sample.memoryPercentOfReservation = Double(stats.memoryBytes) / Double(mib << 20) * 100
                    }
                    sample.networkRxBytes = stats.networkRxBytes.map(Int64.init)
                    sample.networkTxBytes = stats.networkTxBytes.map(Int64.init)
                    sample.blockReadBytes = stats.blockReadBytes.map(Int64.init)
                    sample.blockWriteBytes = stats.blockWriteBytes.map(Int64.init)
                    telemetry.metrics.append(sample)
                }
                guard let key = Self.logDestination(task, container) else { continue }
                let cursor = telemetry.logCursor[id]
                guard let lines = try? await runtime.logs(id, since: cursor), !lines.isEmpty else { continue }
                let fresh = lines.filter { line in cursor.map { line.timestamp > $0 } ?? true }
                guard !fresh.isEmpty else { continue }
                telemetry.logCursor[id] = fresh.map(\.timestamp).max()
                telemetry.buffer(key, fresh.map { AgentProtocol.LogEvent(timestamp: Int64($0.timestamp.timeIntervalSince1970 * 1000),
                                                                          message: $0.message) },
                                 limit: config.logBufferLines)
            }
        }
    }

    /// Sends what is buffered in bounded batches; on failure it stays buffered (backpressure) for the next round.
    func shipTelemetry() async {
        while !telemetry.metrics.isEmpty || telemetry.bufferedLines > 0 || telemetry.dropped > 0 {
            var budget = 5000
            var batches: [AgentProtocol.LogBatch] = []
            var taken: [(TelemetryState.LogKey, Int)] = []
            for (key, events) in telemetry.logs where budget > 0 && !events.isEmpty {
                let chunk = Array(events.prefix(budget))
                budget -= chunk.count
                batches.append(AgentProtocol.LogBatch(taskArn: key.task, logGroupName: key.group, logStreamName: key.stream, events: chunk))
                taken.append((key, chunk.count))
            }
            let metrics = Array(telemetry.metrics.prefix(2000))
            let shipment = AgentProtocol.Telemetry(metrics: metrics, logs: batches, droppedLogLines: telemetry.dropped)
            do {
                let _: AgentProtocol.TelemetryAnswer = try await server.post(
                    "/agent/v1/clusters/\(config.cluster)/container-instances/\(instanceId)/telemetry", shipment)
            } catch {
                logger.warning("telemetry shipment failed; keeping it buffered", metadata: ["error": "\(error)"])
                return
            }
            telemetry.metrics.removeFirst(metrics.count)
            telemetry.dropped -= shipment.droppedLogLines
            for (key, count) in taken {
                telemetry.logs[key]?.removeFirst(count)
                telemetry.bufferedLines -= count
                if telemetry.logs[key]?.isEmpty == true { telemetry.logs[key] = nil }
            }
        }
    }

    /// Forgets readings of containers that are gone.
    func forgetTelemetry(_ containerIds: [String]) {
        for id in containerIds { telemetry.cpu[id] = nil; telemetry.logCursor[id] = nil }
    }
}
