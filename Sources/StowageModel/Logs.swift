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
