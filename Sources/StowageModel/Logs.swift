/// CloudWatch Logs shapes (botocore's `logs` model): timestamps are milliseconds since the epoch.
public enum Logs {
    public struct GetLogEventsRequest: Codable, Sendable {
        public var logGroupName: String?
        public var logGroupIdentifier: String?
        public var logStreamName: String
        public var startTime: Int64?
        public var endTime: Int64?
        public var nextToken: String?
        public var limit: Int?
        public var startFromHead: Bool?
        public init(logGroupName: String, logStreamName: String) { self.logGroupName = logGroupName; self.logStreamName = logStreamName }
    }

    public struct OutputLogEvent: Codable, Sendable, Equatable {
        public var timestamp: Int64
        public var message: String
        public var ingestionTime: Int64
        public init(timestamp: Int64, message: String, ingestionTime: Int64) {
            self.timestamp = timestamp; self.message = message; self.ingestionTime = ingestionTime
        }
    }

    public struct GetLogEventsResponse: Codable, Sendable {
        public var events: [OutputLogEvent]
        public var nextForwardToken: String
        public var nextBackwardToken: String
        public init(events: [OutputLogEvent], nextForwardToken: String, nextBackwardToken: String) {
            self.events = events; self.nextForwardToken = nextForwardToken; self.nextBackwardToken = nextBackwardToken
        }
    }
}

extension Logs {
    public struct FilterLogEventsRequest: Codable, Sendable {
        public var logGroupName: String?
        public var logGroupIdentifier: String?
        public var logStreamNames: [String]?
        public var logStreamNamePrefix: String?
        public var startTime: Int64?
        public var endTime: Int64?
        public var filterPattern: String?
        public var nextToken: String?
        public var limit: Int?
        /// Read so that it is not refused: CloudWatch ignores it since 2019 and always interleaves, as Stowage does
        /// (events in time order across streams); the CLI's `--interleaved` and older tools still send it.
        public var interleaved: Bool?
        public init(logGroupName: String) { self.logGroupName = logGroupName }
    }

    public struct FilteredLogEvent: Codable, Sendable, Equatable {
        public var logStreamName: String
        public var timestamp: Int64
        public var message: String
        public var ingestionTime: Int64
        public var eventId: String
        public init(logStreamName: String, timestamp: Int64, message: String, ingestionTime: Int64, eventId: String) {
            self.logStreamName = logStreamName; self.timestamp = timestamp; self.message = message
            self.ingestionTime = ingestionTime; self.eventId = eventId
        }
    }

    public struct FilterLogEventsResponse: Codable, Sendable {
        public var events: [FilteredLogEvent]
        public var searchedLogStreams: [String]
        public var nextToken: String?
        public init(events: [FilteredLogEvent], nextToken: String?) {
            self.events = events; self.searchedLogStreams = []; self.nextToken = nextToken
        }
    }

    public struct LogGroupRequest: Codable, Sendable {
        public var logGroupName: String
        public var retentionInDays: Int?
        public var tags: [String: String]?
        public init(logGroupName: String) { self.logGroupName = logGroupName }
    }

    public struct DescribeLogGroupsRequest: Codable, Sendable {
        public var logGroupNamePrefix: String?
        public var logGroupNamePattern: String?
        public var nextToken: String?
        public var limit: Int?
        public init() {}
    }

    public struct LogGroup: Codable, Sendable {
        public var logGroupName: String
        public var creationTime: Int64
        public var retentionInDays: Int?
        public var storedBytes: Int64
        public var arn: String
        public var logGroupArn: String
        public init(logGroupName: String, creationTime: Int64, retentionInDays: Int?, storedBytes: Int64, arn: String) {
            self.logGroupName = logGroupName; self.creationTime = creationTime; self.retentionInDays = retentionInDays
            self.storedBytes = storedBytes; self.arn = arn + ":*"; self.logGroupArn = arn
        }
    }

    public struct DescribeLogGroupsResponse: Codable, Sendable {
        public var logGroups: [LogGroup]
        public var nextToken: String?
        public init(logGroups: [LogGroup], nextToken: String?) { self.logGroups = logGroups; self.nextToken = nextToken }
    }

    public struct DescribeLogStreamsRequest: Codable, Sendable {
        public var logGroupName: String?
        public var logGroupIdentifier: String?
        public var logStreamNamePrefix: String?
        public var orderBy: String?
        public var descending: Bool?
        public var nextToken: String?
        public var limit: Int?
        public init(logGroupName: String) { self.logGroupName = logGroupName }
    }

    public struct LogStream: Codable, Sendable {
        public var logStreamName: String
        public var creationTime: Int64
        public var firstEventTimestamp: Int64?
        public var lastEventTimestamp: Int64?
        public var lastIngestionTime: Int64?
        public var arn: String
        public var storedBytes: Int64
        public init(logStreamName: String, creationTime: Int64, firstEventTimestamp: Int64?, lastEventTimestamp: Int64?,
                    lastIngestionTime: Int64?, arn: String) {
            self.logStreamName = logStreamName; self.creationTime = creationTime; self.firstEventTimestamp = firstEventTimestamp
            self.lastEventTimestamp = lastEventTimestamp; self.lastIngestionTime = lastIngestionTime; self.arn = arn; self.storedBytes = 0
        }
    }

    public struct DescribeLogStreamsResponse: Codable, Sendable {
        public var logStreams: [LogStream]
        public var nextToken: String?
        public init(logStreams: [LogStream], nextToken: String?) { self.logStreams = logStreams; self.nextToken = nextToken }
    }

    public struct PutRetentionPolicyRequest: Codable, Sendable {
        public var logGroupName: String
        public var retentionInDays: Int
        public init(logGroupName: String, retentionInDays: Int) { self.logGroupName = logGroupName; self.retentionInDays = retentionInDays }
    }

    public struct CreateLogStreamRequest: Codable, Sendable {
        public var logGroupName: String
        public var logStreamName: String
    }

    public struct InputLogEvent: Codable, Sendable {
        public var timestamp: Int64
        public var message: String
    }

    /// The event times PutLogEvents stores, as CloudWatch Logs does: from 14 days before `now` to 2 hours after it,
    /// milliseconds since the epoch. Agent telemetry keeps to the same window, so a time PostgreSQL cannot hold
    /// (`-4611686018427387904`) is one bad record set aside, never a failed write of the whole batch.
    public static func acceptedTimes(now: Int64) -> ClosedRange<Int64> { (now - 14 * 86_400_000)...(now + 2 * 3_600_000) }

    public struct PutLogEventsRequest: Codable, Sendable {
        public var logGroupName: String
        public var logStreamName: String
        public var logEvents: [InputLogEvent]
        public var sequenceToken: String?
        public init(logGroupName: String, logStreamName: String, logEvents: [InputLogEvent]) {
            self.logGroupName = logGroupName; self.logStreamName = logStreamName; self.logEvents = logEvents
        }
    }

    public struct RejectedLogEventsInfo: Codable, Sendable {
        public var tooNewLogEventStartIndex: Int?
        public var tooOldLogEventEndIndex: Int?
        public var expiredLogEventEndIndex: Int?
        public init() {}
    }

    public struct PutLogEventsResponse: Codable, Sendable {
        public var nextSequenceToken: String?
        public var rejectedLogEventsInfo: RejectedLogEventsInfo?
        public init(nextSequenceToken: String?, rejectedLogEventsInfo: RejectedLogEventsInfo?) {
            self.nextSequenceToken = nextSequenceToken; self.rejectedLogEventsInfo = rejectedLogEventsInfo
        }
    }

    /// CloudWatch Logs' accepted retention periods, in days.
    public static let retentionDays: Set<Int> = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                                                 2557, 2922, 3288, 3653]
}
