import Foundation
import StowageModel
import StowageTelemetryStore
import StowageUseCases

/// The agent's telemetry shipment and the first reads of what it shipped.
struct TelemetryActions {
    /// Log group ARNs as CloudWatch Logs writes them.
    static func logGroupArn(_ c: Caller, _ group: String) -> String {
        "arn:\(c.backend.scope.partition):logs:\(c.backend.scope.region):\(c.account):log-group:\(group)"
    }

    static func ingest(cluster clusterRef: String, instance instanceRef: String, _ input: AgentProtocol.Telemetry, _ c: Caller) async throws
        -> AgentProtocol.TelemetryAnswer
    {
        let (cluster, id, arn) = try await AgentActions.instance(clusterRef, instanceRef, action: .agentReport, c)
        let eventCount = input.logs.reduce(0) { $0 + $1.events.count }
        guard input.metrics.count <= 10_000, eventCount <= 20_000 else {
            throw APIError.invalidParameter("A shipment holds at most 10,000 datapoints and 20,000 log events.")
        }
        for batch in input.logs {
            guard !batch.logGroupName.isEmpty, batch.logGroupName.count <= 512, !batch.logStreamName.isEmpty, batch.logStreamName.count <= 512 else {
                throw APIError.invalidParameter("Log group and stream names must be 1 to 512 characters.")
            }
        }
        // A sample or event whose time CloudWatch would not take (PutLogEvents' window) is set aside and counted, as a
        // bulk writer isolates a bad record: one time PostgreSQL cannot hold must not refuse the host's whole shipment.
        let window = Logs.acceptedTimes(now: Int64(c.backend.clock.now().timeIntervalSince1970 * 1000))
        let metrics = input.metrics.filter { window.contains($0.timestamp) }
        let outOfRangeMetrics = input.metrics.count - metrics.count
        let outOfRangeEvents = input.logs.reduce(0) { $0 + $1.events.count(where: { !window.contains($0.timestamp) }) }
        var taskIds = Set<String>()
        for arnText in input.metrics.map(\.taskArn) + input.logs.map(\.taskArn) {
            taskIds.insert(try TaskActions.taskId(arnText, cluster: cluster))
        }
        let samples = try metrics.map { (taskId: try TaskActions.taskId($0.taskArn, cluster: cluster), sample: $0) }
        let lines = try input.logs.map { batch in
            AgentTelemetry.LogLines(taskId: try TaskActions.taskId(batch.taskArn, cluster: cluster), group: batch.logGroupName,
                                    stream: batch.logStreamName, events: batch.events.filter { window.contains($0.timestamp) })
        }
        try await c.agentTelemetry.ingest(cluster: cluster, instance: id, reference: instanceRef, arn: arn, taskIds: taskIds, samples: samples,
                                          logs: lines)
        if outOfRangeMetrics + outOfRangeEvents > 0 {
            c.backend.metrics.cleaned(.outOfRangeMetricSamples, count: outOfRangeMetrics)
            c.backend.metrics.cleaned(.outOfRangeLogEvents, count: outOfRangeEvents)
            c.logger.warning("agent telemetry outside the accepted times set aside", metadata: [
                "instance": "\(arn)", "metric_samples": "\(outOfRangeMetrics)", "log_events": "\(outOfRangeEvents)"])
        }
        if let samples = input.droppedMetricSamples, samples > 0 {
            c.backend.metrics.droppedMetricSamples(cluster: cluster, count: samples)
            c.logger.warning("agent dropped metric samples", metadata: ["instance": "\(arn)", "dropped": "\(samples)"])
        }
        if input.droppedLogLines > 0 {
            c.backend.metrics.droppedLogLines(cluster: cluster, count: input.droppedLogLines)
            c.logger.warning("agent dropped log lines", metadata: ["instance": "\(arn)", "dropped": "\(input.droppedLogLines)"])
        }
        return AgentProtocol.TelemetryAnswer(metrics: metrics.count, logEvents: eventCount - outOfRangeEvents,
                                             outOfRangeMetrics: outOfRangeMetrics > 0 ? outOfRangeMetrics : nil,
                                             outOfRangeLogEvents: outOfRangeEvents > 0 ? outOfRangeEvents : nil)
    }

    /// GetLogEvents: tokens are `f/<ms>/<seq>` (forward) and `b/<ms>/<seq>` (backward), positions in the stream.
    static func getLogEvents(_ input: Logs.GetLogEventsRequest, _ c: Caller) async throws -> Logs.GetLogEventsResponse {
        let group = try LogActions.groupName(input.logGroupName, input.logGroupIdentifier)
        let limit = input.limit ?? 10_000
        guard (1...10_000).contains(limit) else { throw APIError.invalidParameter("limit must be between 1 and 10000.") }
        var after: (Int64, Int64)?
        var before: (Int64, Int64)?
        if let token = input.nextToken {
            let parts = token.split(separator: "/")
            guard parts.count == 3, let ms = Int64(parts[1]), let seq = Int64(parts[2]), parts[0] == "f" || parts[0] == "b" else {
                throw APIError.invalidParameter("The specified nextToken is invalid.")
            }
            if parts[0] == "f" { after = (ms, seq) } else { before = (ms, seq) }
        }
        try await c.authorize([logGroupArn(c, group) + ":log-stream:" + input.logStreamName])
        let page = try await c.logGroups.events(group, input.logStreamName, start: input.startTime, end: input.endTime, after: after,
                                                before: before, fromHead: input.startFromHead ?? false, limit: limit)
        // With no events, the tokens stay where the caller was, as CloudWatch Logs does.
        let forward = page.last.map { "f/\($0.event.timestamp)/\($0.seq)" } ?? input.nextToken ?? "f/0/0"
        let backward = page.first.map { "b/\($0.event.timestamp)/\($0.seq)" } ?? input.nextToken ?? "b/0/0"
        return Logs.GetLogEventsResponse(events: page.map(\.event), nextForwardToken: forward, nextBackwardToken: backward)
    }

    struct DatapointsResponse: Codable, Sendable { var datapoints: [AgentProtocol.MetricSample] }

    static func taskMetrics(cluster clusterRef: String, task: String, start: Int64?, end: Int64?, _ c: Caller) async throws
        -> DatapointsResponse
    {
        let (cluster, clusterArn) = try c.refs.cluster(clusterRef)
        let id = try TaskActions.taskId(task, cluster: cluster)
        let now = c.backend.clock.now()
        let from = start.map { Date(timeIntervalSince1970: TimeInterval($0) / 1000) } ?? now.addingTimeInterval(-3600)
        let to = end.map { Date(timeIntervalSince1970: TimeInterval($0) / 1000) } ?? now.addingTimeInterval(60)
        guard from < to else { throw APIError.invalidParameter("startTime must be before endTime.") }
        try await c.authorize(.getMetricData, [c.backend.scope.task(c.owner(clusterArn), cluster: cluster, id: id)])
        return DatapointsResponse(datapoints: try await c.telemetry.taskDatapoints(cluster: cluster, task: id, start: from, end: to))
    }
}

extension Caller {
    /// Shipments write on the agent protocol's own pool, never queued in front of tenants' calls.
    var agentTelemetry: AgentTelemetry {
        AgentTelemetry(tenant: agentTenant, stores: ecsStores, store: backend.telemetry, definitions: backend.agentDefinitions)
    }

    /// Reads of what agents shipped, on the tenants' pool.
    var telemetry: AgentTelemetry {
        AgentTelemetry(tenant: tenant, stores: ecsStores, store: backend.telemetry, definitions: backend.agentDefinitions)
    }
}
