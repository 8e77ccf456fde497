import Foundation
import Testing

/// CloudWatch's alarm reads at the wire (AWS JSON 1.0, `GraniteServiceVersion20100801.<Action>`, signed for
/// `monitoring`), with the filters `aws cloudwatch describe-alarms` and `describe-alarm-history` offer.
@Suite struct AlarmDoorTests {
    @Test func alarmTypesAndScanByAreReadNotRefused() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            func cloudWatch(_ action: String, _ body: [String: Any]) async throws -> Answer {
                try await api.awsJSON("GraniteServiceVersion20100801.\(action)", body, version: "1.0", service: "monitoring", as: h.a)
            }
            let put = try await cloudWatch("PutMetricAlarm", ["AlarmName": "orders-high", "Namespace": "Shop", "MetricName": "Orders",
                                                              "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 1, "Threshold": 2,
                                                              "ComparisonOperator": "GreaterThanThreshold"])
            #expect(put.status == 200, "\(put.message)")

            let metric = try await cloudWatch("DescribeAlarms", ["AlarmTypes": ["MetricAlarm", "CompositeAlarm"]])
            #expect(metric.status == 200, "\(metric.message)")
            #expect(metric.array("MetricAlarms").compactMap { $0["AlarmName"] as? String } == ["orders-high"])
            let composite = try await cloudWatch("DescribeAlarms", ["AlarmTypes": ["CompositeAlarm"]])
            #expect(composite.status == 200 && composite.array("MetricAlarms").isEmpty, "Stowage has no composite alarms")
            let bad = try await cloudWatch("DescribeAlarms", ["AlarmTypes": ["LogAlarm"]])
            #expect(bad.status == 400 && bad.message.contains("LogAlarm"))

            let newest = try await cloudWatch("DescribeAlarmHistory", ["AlarmName": "orders-high", "ScanBy": "TimestampDescending"])
            #expect(newest.status == 200 && !newest.array("AlarmHistoryItems").isEmpty, "\(newest.message)")
            let oldest = try await cloudWatch("DescribeAlarmHistory", ["AlarmName": "orders-high", "ScanBy": "TimestampAscending"])
            #expect(oldest.status == 400 && oldest.message.contains("TimestampAscending"), "refused by name, not answered in the wrong order")
        }
    }
}
