import Foundation

/// CloudWatch shapes (botocore's `cloudwatch` model, JSON protocol). Members are PascalCase on the
/// wire; `ECSJSON.pascalEncoder()`/`pascalDecoder()` map them to these camelCase properties.
public enum CloudWatch {
    public struct Dimension: Codable, Sendable, Hashable {
        public var name: String
        public var value: String
        public init(name: String, value: String) { self.name = name; self.value = value }
    }

    public struct DimensionFilter: Codable, Sendable {
        public var name: String
        public var value: String?
        public init(name: String, value: String?) { self.name = name; self.value = value }
    }

    public struct StatisticSet: Codable, Sendable {
        public var sampleCount: Double
        public var sum: Double
        public var minimum: Double
        public var maximum: Double
    }

    public struct MetricDatum: Codable, Sendable {
        public var metricName: String
        public var dimensions: [Dimension]?
        public var timestamp: Date?
        public var value: Double?
        public var statisticValues: StatisticSet?
        public var values: [Double]?
        public var counts: [Double]?
        public var unit: String?
        public var storageResolution: Int?
    }

    public struct PutMetricDataRequest: Codable, Sendable {
        public var namespace: String
        public var metricData: [MetricDatum]
    }

    public struct GetMetricStatisticsRequest: Codable, Sendable {
        public var namespace: String
        public var metricName: String
        public var dimensions: [Dimension]?
        public var startTime: Date
        public var endTime: Date
        public var period: Int
        public var statistics: [String]?
        public var extendedStatistics: [String]?
        public var unit: String?
        public init(namespace: String, metricName: String, dimensions: [Dimension]?, startTime: Date, endTime: Date, period: Int,
                    statistics: [String]?, extendedStatistics: [String]?) {
            self.namespace = namespace; self.metricName = metricName; self.dimensions = dimensions; self.startTime = startTime
            self.endTime = endTime; self.period = period; self.statistics = statistics; self.extendedStatistics = extendedStatistics
        }
    }

    public struct Datapoint: Codable, Sendable {
        public var timestamp: Date
        public var sampleCount: Double?
        public var average: Double?
        public var sum: Double?
        public var minimum: Double?
        public var maximum: Double?
        public var unit: String?
        public var extendedStatistics: [String: Double]?
        public init(timestamp: Date) { self.timestamp = timestamp }
    }

    public struct GetMetricStatisticsResponse: Codable, Sendable {
        public var label: String
        public var datapoints: [Datapoint]
        public init(label: String, datapoints: [Datapoint]) { self.label = label; self.datapoints = datapoints }
    }

    public struct Metric: Codable, Sendable {
        public var namespace: String?
        public var metricName: String?
        public var dimensions: [Dimension]?
        public init(namespace: String?, metricName: String?, dimensions: [Dimension]?) {
            self.namespace = namespace; self.metricName = metricName; self.dimensions = dimensions
        }
    }

    public struct MetricStat: Codable, Sendable {
        public var metric: Metric
        public var period: Int
        public var stat: String
        public var unit: String?
    }

    public struct MetricDataQuery: Codable, Sendable {
        public var id: String
        public var metricStat: MetricStat?
        public var expression: String?
        public var label: String?
        public var returnData: Bool?
        public var period: Int?
    }

    public struct GetMetricDataRequest: Codable, Sendable {
        public var metricDataQueries: [MetricDataQuery]
        public var startTime: Date
        public var endTime: Date
        public var nextToken: String?
        public var scanBy: String?
        public var maxDatapoints: Int?
    }

    public struct MetricDataResult: Codable, Sendable {
        public var id: String
        public var label: String
        public var timestamps: [Date]
        public var values: [Double]
        public var statusCode: String
        public init(id: String, label: String, timestamps: [Date], values: [Double], statusCode: String) {
            self.id = id; self.label = label; self.timestamps = timestamps; self.values = values; self.statusCode = statusCode
        }
    }

    public struct MessageData: Codable, Sendable {
        public var code: String
        public var value: String
    }

    public struct GetMetricDataResponse: Codable, Sendable {
        public var metricDataResults: [MetricDataResult]
        public var nextToken: String?
        public var messages: [MessageData]
        public init(metricDataResults: [MetricDataResult], nextToken: String?, messages: [MessageData]) {
            self.metricDataResults = metricDataResults; self.nextToken = nextToken; self.messages = messages
        }
    }

    public struct ListMetricsRequest: Codable, Sendable {
        public var namespace: String?
        public var metricName: String?
        public var dimensions: [DimensionFilter]?
        public var nextToken: String?
        public var recentlyActive: String?
        public init(namespace: String?, metricName: String?, dimensions: [DimensionFilter]?, nextToken: String?) {
            self.namespace = namespace; self.metricName = metricName; self.dimensions = dimensions; self.nextToken = nextToken
        }
    }

    public struct ListMetricsResponse: Codable, Sendable {
        public var metrics: [Metric]
        public var nextToken: String?
        public init(metrics: [Metric], nextToken: String?) { self.metrics = metrics; self.nextToken = nextToken }
    }

    /// PutMetricAlarm's input, stored as the alarm's definition and returned by DescribeAlarms.
    public struct AlarmDefinition: Codable, Sendable {
        public var alarmName: String
        public var alarmDescription: String?
        public var actionsEnabled: Bool?
        public var okActions: [String]?
        public var alarmActions: [String]?
        public var insufficientDataActions: [String]?
        public var metricName: String?
        public var namespace: String?
        public var statistic: String?
        public var extendedStatistic: String?
        public var dimensions: [Dimension]?
        public var period: Int?
        public var unit: String?
        public var evaluationPeriods: Int
        public var datapointsToAlarm: Int?
        public var threshold: Double?
        public var comparisonOperator: String
        public var treatMissingData: String?
        public var metrics: [MetricDataQuery]?

        enum CodingKeys: String, CodingKey {
            // The wire name is OKActions; the pascal decoder lowers only its first letter.
            case okActions = "oKActions"
            case alarmName, alarmDescription, actionsEnabled, alarmActions, insufficientDataActions, metricName, namespace,
                 statistic, extendedStatistic, dimensions, period, unit, evaluationPeriods, datapointsToAlarm, threshold,
                 comparisonOperator, treatMissingData, metrics
        }
    }

    public struct MetricAlarm: Codable, Sendable {
        public var definition: AlarmDefinition
        public var alarmArn: String
        public var stateValue: String
        public var stateReason: String
        public var stateReasonData: String?
        public var stateUpdatedTimestamp: Date
        public var alarmConfigurationUpdatedTimestamp: Date
        public init(definition: AlarmDefinition, alarmArn: String, stateValue: String, stateReason: String, stateReasonData: String?,
                    stateUpdatedTimestamp: Date, alarmConfigurationUpdatedTimestamp: Date) {
            self.definition = definition; self.alarmArn = alarmArn; self.stateValue = stateValue; self.stateReason = stateReason
            self.stateReasonData = stateReasonData; self.stateUpdatedTimestamp = stateUpdatedTimestamp
            self.alarmConfigurationUpdatedTimestamp = alarmConfigurationUpdatedTimestamp
        }

        /// Flat, as CloudWatch returns it: the definition's members beside the state's.
        public func encode(to encoder: any Encoder) throws {
            try definition.encode(to: encoder)
            var c = encoder.container(keyedBy: StateKeys.self)
            try c.encode(alarmArn, forKey: .alarmArn)
            try c.encode(stateValue, forKey: .stateValue)
            try c.encode(stateReason, forKey: .stateReason)
            try c.encodeIfPresent(stateReasonData, forKey: .stateReasonData)
            try c.encode(stateUpdatedTimestamp, forKey: .stateUpdatedTimestamp)
            try c.encode(stateUpdatedTimestamp, forKey: .stateTransitionedTimestamp)
            try c.encode(alarmConfigurationUpdatedTimestamp, forKey: .alarmConfigurationUpdatedTimestamp)
        }

        public init(from decoder: any Decoder) throws {
            definition = try AlarmDefinition(from: decoder)
            let c = try decoder.container(keyedBy: StateKeys.self)
            alarmArn = try c.decode(String.self, forKey: .alarmArn)
            stateValue = try c.decode(String.self, forKey: .stateValue)
            stateReason = try c.decode(String.self, forKey: .stateReason)
            stateReasonData = try c.decodeIfPresent(String.self, forKey: .stateReasonData)
            stateUpdatedTimestamp = try c.decode(Date.self, forKey: .stateUpdatedTimestamp)
            alarmConfigurationUpdatedTimestamp = try c.decode(Date.self, forKey: .alarmConfigurationUpdatedTimestamp)
        }

        enum StateKeys: String, CodingKey {
            case alarmArn, stateValue, stateReason, stateReasonData, stateUpdatedTimestamp, stateTransitionedTimestamp,
                 alarmConfigurationUpdatedTimestamp
        }
    }

    public struct DescribeAlarmsRequest: Codable, Sendable {
        public var alarmNames: [String]?
        public var alarmNamePrefix: String?
        public var stateValue: String?
        /// `MetricAlarm` and/or `CompositeAlarm`; Stowage has metric alarms only, so a list without `MetricAlarm`
        /// answers none.
        public var alarmTypes: [String]?
        public var maxRecords: Int?
        public var nextToken: String?
        public init(alarmNames: [String]?) { self.alarmNames = alarmNames }
    }

    public struct DescribeAlarmsResponse: Codable, Sendable {
        public var metricAlarms: [MetricAlarm]
        public var compositeAlarms: [String]
        public var nextToken: String?
        public init(metricAlarms: [MetricAlarm], nextToken: String?) {
            self.metricAlarms = metricAlarms; self.compositeAlarms = []; self.nextToken = nextToken
        }
    }

    public struct DeleteAlarmsRequest: Codable, Sendable {
        public var alarmNames: [String]
        public init(alarmNames: [String]) { self.alarmNames = alarmNames }
    }

    public struct SetAlarmStateRequest: Codable, Sendable {
        public var alarmName: String
        public var stateValue: String
        public var stateReason: String
        public var stateReasonData: String?
    }

    public struct DescribeAlarmHistoryRequest: Codable, Sendable {
        public var alarmName: String?
        public var historyItemType: String?
        public var startDate: Date?
        public var endDate: Date?
        public var maxRecords: Int?
        public var nextToken: String?
        /// Only `TimestampDescending` (the default, newest first) is answered; `TimestampAscending` is refused.
        public var scanBy: String?
        public init(alarmName: String?) { self.alarmName = alarmName }
    }

    public struct AlarmHistoryItem: Codable, Sendable {
        public var alarmName: String
        public var alarmType: String
        public var timestamp: Date
        public var historyItemType: String
        public var historySummary: String
        public var historyData: String
        public init(alarmName: String, timestamp: Date, historyItemType: String, historySummary: String, historyData: String) {
            self.alarmName = alarmName; self.alarmType = "MetricAlarm"; self.timestamp = timestamp
            self.historyItemType = historyItemType; self.historySummary = historySummary; self.historyData = historyData
        }
    }

    public struct DescribeAlarmHistoryResponse: Codable, Sendable {
        public var alarmHistoryItems: [AlarmHistoryItem]
        public var nextToken: String?
        public init(alarmHistoryItems: [AlarmHistoryItem], nextToken: String?) {
            self.alarmHistoryItems = alarmHistoryItems; self.nextToken = nextToken
        }
    }
}

extension ECSJSON {
    /// CloudWatch and Application Auto Scaling spell members in PascalCase; percentile keys (`p99`) stay.
    public static func pascalEncoder() -> JSONEncoder {
        let e = encoder()
        e.keyEncodingStrategy = .custom { path in
            let key = path.last?.stringValue ?? ""
            if key.first == "p", key.dropFirst().first?.isNumber == true { return PlainKey(key) }
            return PlainKey(key.prefix(1).uppercased() + key.dropFirst())
        }
        return e
    }

    public static func pascalDecoder() -> JSONDecoder {
        let d = decoder()
        d.keyDecodingStrategy = .custom { path in
            let key = path.last?.stringValue ?? ""
            return PlainKey(key.prefix(1).lowercased() + key.dropFirst())
        }
        return d
    }

    struct PlainKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
