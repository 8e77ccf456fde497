import Foundation
import StowageModel
import StowageMonitoringRules
import StowageTelemetryStore
import StowageUseCases

/// CloudWatch alarms: definitions, state, history. The worker evaluates them (`evaluate-alarms`).
enum AlarmActions {
    static func invalid(_ message: String) -> APIError { CloudWatchActions.invalid(message) }

    static func arn(_ c: Caller, _ name: String) -> String {
        "arn:\(c.backend.scope.partition):cloudwatch:\(c.backend.scope.region):\(c.account):alarm:\(name)"
    }

    /// An alarm action is a webhook URL or a scaling policy ARN (Application Auto Scaling's). A URL whose host is
    /// a forbidden address (loopback, private, link-local, in any spelling) is refused here, when it is written,
    /// unless the operator allowed its range; a name is judged when it is called, since what it resolves to can change.
    static func checkAction(_ action: String, policy: OutboundPolicy) throws(APIError) {
        if action.hasPrefix("https://") || action.hasPrefix("http://") {
            guard URL(string: action)?.host != nil else { throw invalid("Action \(action) is not a valid URL.") }
            if let refusal = policy.refusal(url: action) {
                throw invalid("Action \(refusal) (the operator can allow a range with STOWAGE_WEBHOOK_ALLOW / --webhook-allow).")
            }
            return
        }
        guard action.hasPrefix("arn:"), action.contains(":autoscaling:"), action.contains(":scalingPolicy:") else {
            throw invalid("Action \(action) must be a webhook URL (http:// or https://) or a scaling policy ARN.")
        }
    }

    static func validate(_ d: CloudWatch.AlarmDefinition, policy: OutboundPolicy) throws(APIError) {
        guard (1...255).contains(d.alarmName.count) else { throw invalid("AlarmName must be 1 to 255 characters.") }
        guard d.evaluationPeriods >= 1 else { throw invalid("EvaluationPeriods must be at least 1.") }
        let m = d.datapointsToAlarm ?? d.evaluationPeriods
        guard (1...d.evaluationPeriods).contains(m) else { throw invalid("DatapointsToAlarm must be between 1 and EvaluationPeriods (\(d.evaluationPeriods)).") }
        guard ComparisonOperator(rawValue: d.comparisonOperator) != nil else {
            throw invalid("ComparisonOperator must be one of \(ComparisonOperator.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        if let t = d.treatMissingData, TreatMissingData(rawValue: t) == nil {
            throw invalid("TreatMissingData must be breaching, notBreaching, ignore or missing.")
        }
        guard let threshold = d.threshold, threshold.isFinite else { throw APIError("MissingParameter", "Threshold is required.") }
        if d.metrics != nil, d.metricName != nil || d.namespace != nil || d.statistic != nil || d.extendedStatistic != nil {
            throw APIError("InvalidParameterCombination", "Give either Metrics or MetricName/Namespace/Statistic, not both.")
        }
        let queries = try CloudWatchActions.checked { () throws(MetricRequestError) in try MetricQuerySpec.alarm(d) }
        guard (queries.specs.map(\.period).max() ?? 60) * Int64(d.evaluationPeriods) <= 7 * 86400 else {
            throw invalid("Period times EvaluationPeriods must not exceed 7 days.")
        }
        for list in [d.alarmActions, d.okActions, d.insufficientDataActions] {
            guard (list ?? []).count <= 5 else { throw invalid("At most 5 actions per state.") }
            for a in list ?? [] { try checkAction(a, policy: policy) }
        }
    }

    static func put(_ input: CloudWatch.AlarmDefinition, _ c: Caller) async throws -> Empty {
        try validate(input, policy: c.backend.outbound)
        // A scaling policy named by ARN runs in the alarm's account: it must be that account's, spelled canonically.
        for action in (input.alarmActions ?? []) + (input.okActions ?? []) + (input.insufficientDataActions ?? []) {
            if let why = c.backend.scope.refusal(ofResource: action, account: c.account) {
                throw invalid("Action \(action) cannot be used: \(why).")
            }
        }
        try await c.authorize([arn(c, input.alarmName)])
        try await c.alarms.put(input)
        return Empty()
    }

    static func render(_ c: Caller, _ row: AlarmStore.Row) -> CloudWatch.MetricAlarm {
        CloudWatch.MetricAlarm(definition: row.definition, alarmArn: arn(c, row.definition.alarmName), stateValue: row.state,
                               stateReason: row.reason, stateReasonData: row.reasonData, stateUpdatedTimestamp: row.stateUpdatedAt,
                               alarmConfigurationUpdatedTimestamp: row.configuredAt)
    }

    static func describe(_ input: CloudWatch.DescribeAlarmsRequest, _ c: Caller) async throws -> CloudWatch.DescribeAlarmsResponse {
        let limit = input.maxRecords ?? 50
        guard (1...100).contains(limit) else { throw invalid("MaxRecords must be between 1 and 100.") }
        guard (input.alarmNames ?? []).count <= 100 else { throw invalid("At most 100 AlarmNames.") }
        if let s = input.stateValue, AlarmState(rawValue: s) == nil { throw invalid("StateValue must be OK, ALARM or INSUFFICIENT_DATA.") }
        if let bad = input.alarmTypes?.first(where: { !["MetricAlarm", "CompositeAlarm"].contains($0) }) {
            throw invalid("AlarmTypes must name MetricAlarm or CompositeAlarm; got '\(bad)'.")
        }
        let after = try PageToken.decode(input.nextToken)?.first
        try await c.authorize([arn(c, "*")])
        if let types = input.alarmTypes, !types.contains("MetricAlarm") { return .init(metricAlarms: [], nextToken: nil) }
        let rows = try await c.alarms.list(names: input.alarmNames, prefix: input.alarmNamePrefix, state: input.stateValue, after: after,
                                           limit: limit + 1)
        let page = rows.prefix(limit)
        let token = rows.count > limit ? page.last.map { PageToken.encode([$0.definition.alarmName]) } : nil
        return .init(metricAlarms: page.map { render(c, $0) }, nextToken: token)
    }

    static func delete(_ input: CloudWatch.DeleteAlarmsRequest, _ c: Caller) async throws -> Empty {
        guard (1...100).contains(input.alarmNames.count) else { throw invalid("AlarmNames must hold 1 to 100 names.") }
        try await c.authorize(input.alarmNames.map { arn(c, $0) })
        try await c.alarms.delete(names: input.alarmNames)
        return Empty()
    }

    static func setState(_ input: CloudWatch.SetAlarmStateRequest, _ c: Caller) async throws -> Empty {
        guard AlarmState(rawValue: input.stateValue) != nil else { throw invalid("StateValue must be OK, ALARM or INSUFFICIENT_DATA.") }
        guard (0...1023).contains(input.stateReason.count) else { throw invalid("StateReason must be at most 1023 characters.") }
        if let data = input.stateReasonData, (try? JSONDecoder().decode(JSONValue.self, from: Data(data.utf8))) == nil {
            throw invalid("StateReasonData must be JSON.")
        }
        try await c.authorize([arn(c, input.alarmName)])
        try await c.alarms.setState(name: input.alarmName, to: input.stateValue, reason: input.stateReason, reasonData: input.stateReasonData)
        return Empty()
    }

    static func history(_ input: CloudWatch.DescribeAlarmHistoryRequest, _ c: Caller) async throws -> CloudWatch.DescribeAlarmHistoryResponse {
        let limit = input.maxRecords ?? 100
        guard (1...100).contains(limit) else { throw invalid("MaxRecords must be between 1 and 100.") }
        if let t = input.historyItemType, !["ConfigurationUpdate", "StateUpdate", "Action"].contains(t) {
            throw invalid("HistoryItemType must be ConfigurationUpdate, StateUpdate or Action.")
        }
        if let order = input.scanBy, order != "TimestampDescending" {
            throw invalid("ScanBy '\(order)' is not supported: alarm history is answered newest first (TimestampDescending).")
        }
        let before = try PageToken.decode(input.nextToken)?.first.flatMap(Int64.init)
        try await c.authorize([arn(c, input.alarmName ?? "*")])
        let rows = try await c.alarms.history(alarm: input.alarmName, type: input.historyItemType, start: input.startDate, end: input.endDate,
                                              before: before, limit: limit + 1)
        let page = rows.prefix(limit)
        let token = rows.count > limit ? page.last.map { PageToken.encode([String($0.seq)]) } : nil
        return .init(alarmHistoryItems: page.map(\.item), nextToken: token)
    }
}

extension Caller {
    /// The alarm use cases, acting for this caller's account.
    var alarms: Alarms { Alarms(tenant: tenant, store: backend.alarms) }
}
