import Foundation
import StowageModel
import StowageMonitoringRules
import StowageTelemetryStore
import StowageUseCases

/// CloudWatch Logs: groups, streams, direct writes and searches (`Logs_20140328.<Action>`).
enum LogActions {
    static func groupName(_ name: String?, _ identifier: String?) throws(APIError) -> String {
        var group = name ?? ""
        if group.isEmpty, let identifier {
            group = identifier.hasPrefix("arn:") ? String(identifier.split(separator: ":", maxSplits: 6).last ?? "") : identifier
        }
        guard (1...512).contains(group.count) else { throw .invalidParameter("logGroupName must be 1 to 512 characters.") }
        guard group.allSatisfy({ $0.isLetter || $0.isNumber || "_-/.#".contains($0) }) else {
            throw .invalidParameter("logGroupName may hold only letters, digits, '_', '-', '/', '.' and '#'.")
        }
        return group
    }

    static func createGroup(_ input: Logs.LogGroupRequest, _ c: Caller) async throws -> Empty {
        let group = try groupName(input.logGroupName, nil)
        if let days = input.retentionInDays, !Logs.retentionDays.contains(days) { throw APIError.invalidParameter("retentionInDays \(days) is not an accepted value.") }
        try await c.authorize([TelemetryActions.logGroupArn(c, group)])
        try await c.logGroups.createGroup(group, retentionDays: input.retentionInDays)
        return Empty()
    }

    static func deleteGroup(_ input: Logs.LogGroupRequest, _ c: Caller) async throws -> Empty {
        let group = try groupName(input.logGroupName, nil)
        try await c.authorize([TelemetryActions.logGroupArn(c, group)])
        try await c.logGroups.deleteGroup(group)
        return Empty()
    }

    static func putRetention(_ input: Logs.PutRetentionPolicyRequest, _ c: Caller) async throws -> Empty {
        let group = try groupName(input.logGroupName, nil)
        guard Logs.retentionDays.contains(input.retentionInDays) else {
            throw APIError.invalidParameter("retentionInDays \(input.retentionInDays) is not one of \(Logs.retentionDays.sorted().map(String.init).joined(separator: ", ")).")
        }
        try await c.authorize([TelemetryActions.logGroupArn(c, group)])
        try await c.logGroups.setRetention(group, days: input.retentionInDays)
        return Empty()
    }

    static func describeGroups(_ input: Logs.DescribeLogGroupsRequest, _ c: Caller) async throws -> Logs.DescribeLogGroupsResponse {
        let limit = input.limit ?? 50
        guard (1...50).contains(limit) else { throw APIError.invalidParameter("limit must be between 1 and 50.") }
        let after = try PageToken.decode(input.nextToken)?.first
        try await c.authorize([TelemetryActions.logGroupArn(c, "*")])
        let rows = try await c.logGroups.groups(prefix: input.logGroupNamePrefix, after: after, limit: limit + 1)
        let page = rows.prefix(limit)
        let groups = page.filter { row in input.logGroupNamePattern.map { row.name.contains($0) } ?? true }.map {
            Logs.LogGroup(logGroupName: $0.name, creationTime: $0.createdAt, retentionInDays: $0.retentionDays, storedBytes: 0,
                          arn: TelemetryActions.logGroupArn(c, $0.name))
        }
        return .init(logGroups: groups, nextToken: rows.count > limit ? page.last.map { PageToken.encode([$0.name]) } : nil)
    }

    static func describeStreams(_ input: Logs.DescribeLogStreamsRequest, _ c: Caller) async throws -> Logs.DescribeLogStreamsResponse {
        let group = try groupName(input.logGroupName, input.logGroupIdentifier)
        let limit = input.limit ?? 50
        guard (1...50).contains(limit) else { throw APIError.invalidParameter("limit must be between 1 and 50.") }
        let byLast = input.orderBy == "LastEventTime"
        guard input.orderBy == nil || byLast || input.orderBy == "LogStreamName" else {
            throw APIError.invalidParameter("orderBy must be LogStreamName or LastEventTime.")
        }
        guard !(byLast && input.logStreamNamePrefix != nil) else {
            throw APIError.invalidParameter("Cannot order by LastEventTime with a logStreamNamePrefix.")
        }
        let offset = try PageToken.decode(input.nextToken)?.first
        try await c.authorize([TelemetryActions.logGroupArn(c, group)])
        let rows = try await c.logGroups.streams(group, prefix: input.logStreamNamePrefix, byLastEvent: byLast, descending: input.descending ?? false,
                                                 after: offset, limit: limit + 1)
        let page = rows.prefix(limit)
        let next = (Int(offset ?? "0") ?? 0) + limit
        return .init(logStreams: page.map {
            Logs.LogStream(logStreamName: $0.name, creationTime: $0.createdAt, firstEventTimestamp: $0.first, lastEventTimestamp: $0.last,
                           lastIngestionTime: $0.ingested, arn: TelemetryActions.logGroupArn(c, group) + ":log-stream:" + $0.name)
        }, nextToken: rows.count > limit ? PageToken.encode([String(next)]) : nil)
    }

    static func createStream(_ input: Logs.CreateLogStreamRequest, _ c: Caller) async throws -> Empty {
        let group = try groupName(input.logGroupName, nil)
        guard (1...512).contains(input.logStreamName.count), !input.logStreamName.contains(":"), !input.logStreamName.contains("*") else {
            throw APIError.invalidParameter("logStreamName must be 1 to 512 characters without ':' or '*'.")
        }
        try await c.authorize([TelemetryActions.logGroupArn(c, group) + ":log-stream:" + input.logStreamName])
        try await c.logGroups.createStream(group, input.logStreamName)
        return Empty()
    }

    static func putEvents(_ input: Logs.PutLogEventsRequest, _ c: Caller) async throws -> Logs.PutLogEventsResponse {
        let group = try groupName(input.logGroupName, nil)
        guard (1...10_000).contains(input.logEvents.count) else { throw APIError.invalidParameter("logEvents must hold 1 to 10,000 events.") }
        guard zip(input.logEvents, input.logEvents.dropFirst()).allSatisfy({ $0.timestamp <= $1.timestamp }) else {
            throw APIError.invalidParameter("Log events in a single PutLogEvents request must be in chronological order.")
        }
        guard input.logEvents.allSatisfy({ $0.message.utf8.count <= 256 * 1024 }) else { throw APIError.invalidParameter("A log event is at most 256 KB.") }
        let nowMs = Int64(c.backend.clock.now().timeIntervalSince1970 * 1000)
        var info = Logs.RejectedLogEventsInfo()
        let window = Logs.acceptedTimes(now: nowMs)
        let tooOld = input.logEvents.lastIndex { $0.timestamp < window.lowerBound }
        let tooNew = input.logEvents.firstIndex { $0.timestamp > window.upperBound }
        info.tooOldLogEventEndIndex = tooOld
        info.tooNewLogEventStartIndex = tooNew
        let accepted = input.logEvents.enumerated().filter { i, _ in i > (tooOld ?? -1) && i < (tooNew ?? Int.max) }
            .map { AgentProtocol.LogEvent(timestamp: $0.element.timestamp, message: $0.element.message) }
        try await c.authorize([TelemetryActions.logGroupArn(c, group) + ":log-stream:" + input.logStreamName])
        try await c.logGroups.put(group, input.logStreamName, accepted)
        return .init(nextSequenceToken: nil, rejectedLogEventsInfo: (tooOld ?? tooNew) == nil ? nil : info)
    }

    /// A page of FilterLogEvents: at most `scanWindow` stored events are examined per call; CloudWatch too
    /// answers with fewer events (even none) and a nextToken when a search has more ground to cover.
    static let scanWindow = 200_000

    static func filter(_ input: Logs.FilterLogEventsRequest, _ c: Caller) async throws -> Logs.FilterLogEventsResponse {
        let group = try groupName(input.logGroupName, input.logGroupIdentifier)
        let limit = input.limit ?? 10_000
        guard (1...10_000).contains(limit) else { throw APIError.invalidParameter("limit must be between 1 and 10000.") }
        guard input.logStreamNames == nil || input.logStreamNamePrefix == nil else {
            throw APIError.invalidParameter("Give logStreamNames or logStreamNamePrefix, not both.")
        }
        guard (input.logStreamNames ?? []).count <= 100 else { throw APIError.invalidParameter("At most 100 logStreamNames.") }
        let pattern: FilterPattern
        do { pattern = try FilterPattern.parse(input.filterPattern ?? "") } catch {
            throw APIError.invalidParameter("Invalid filter pattern: \(error.message)")
        }
        var after: (Int64, Int64)?
        if let token = input.nextToken {
            let parts = token.split(separator: "/")
            guard parts.count == 2, let ms = Int64(parts[0]), let seq = Int64(parts[1]) else {
                throw APIError.invalidParameter("The specified nextToken is invalid.")
            }
            after = (ms, seq)
        }
        try await c.authorize([TelemetryActions.logGroupArn(c, group)])
        let window: Int
        if case .json = pattern { window = 20_000 } else { window = scanWindow }
        let page = try await c.logGroups.filter(group, streams: input.logStreamNames, streamPrefix: input.logStreamNamePrefix, start: input.startTime,
                                                end: input.endTime, after: after, pattern: pattern, limit: limit, window: window)
        return .init(events: page.events, nextToken: page.resume.map { "\($0.0)/\($0.1)" })
    }
}

extension Caller {
    /// The CloudWatch Logs use cases, acting for this caller's account.
    var logGroups: LogGroups { LogGroups(tenant: tenant, store: backend.telemetry) }
}

/// The CloudWatch Logs actions by name (`Logs_20140328.<Action>`).
public enum LogsOperations {
    public static let all: [Operation] = [
        Operation.json(.logs, "GetLogEvents", .read, TelemetryActions.getLogEvents),
        Operation.json(.logs, "FilterLogEvents", .read, LogActions.filter),
        Operation.json(.logs, "CreateLogGroup", .write, LogActions.createGroup),
        Operation.json(.logs, "DeleteLogGroup", .write, LogActions.deleteGroup),
        Operation.json(.logs, "PutRetentionPolicy", .write, LogActions.putRetention),
        Operation.json(.logs, "DescribeLogGroups", .read, LogActions.describeGroups),
        Operation.json(.logs, "DescribeLogStreams", .read, LogActions.describeStreams),
        Operation.json(.logs, "CreateLogStream", .write, LogActions.createStream),
        Operation.json(.logs, "PutLogEvents", .write, LogActions.putEvents),
    ]
}
