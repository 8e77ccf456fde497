import Foundation
import Hummingbird
import StowageModel
import StowageTelemetryStore

extension RESTCall {
    /// CloudWatch and Application Auto Scaling bodies keep their PascalCase members on REST too.
    func decodePascal<T: Decodable>(_ type: T.Type) throws -> T {
        try ECSJSON.pascalDecoder().decode(T.self, from: body.isEmpty ? Data("{}".utf8) : body)
    }

    /// A time as epoch seconds or RFC 3339.
    func time(_ name: String) throws(APIError) -> Date? {
        guard let text = query(name) else { return nil }
        if let seconds = Double(text) { return Date(timeIntervalSince1970: seconds) }
        guard let nanos = UTCTime.parseRFC3339(text) else { throw .invalidParameter("Query parameter \(name) must be epoch seconds or RFC 3339.") }
        return UTCTime.date(nanos: nanos)
    }

    /// `dimension=Name:Value` (repeatable).
    var dimensions: [CloudWatch.Dimension] {
        (query["dimension"] ?? []).compactMap { item in
            guard let colon = item.firstIndex(of: ":") else { return nil }
            return CloudWatch.Dimension(name: String(item[..<colon]), value: String(item[item.index(after: colon)...]))
        }
    }
}

extension Reply {
    static func pascal<T: Encodable>(_ value: T, status: Int = 200) throws -> Reply {
        Reply(status: status, body: try ECSJSON.pascalEncoder().encode(value))
    }
}

/// The REST face of metrics, alarms, logs and auto scaling: the same handlers as the AWS doors.
enum MonitoringREST {
    static let routes: [RESTRoute] = [
        RESTRoute(method: .get, path: "/v1/logs/groups/{group}/streams/{stream}/events", action: IAMAction(.logs, "GetLogEvents")) { call in
            var input = Logs.GetLogEventsRequest(logGroupName: call.path["group"] ?? "", logStreamName: call.path["stream"] ?? "")
            input.startTime = call.query("startTime").flatMap { Int64($0) }
            input.endTime = call.query("endTime").flatMap { Int64($0) }
            input.nextToken = call.query("nextToken")
            input.limit = try call.int("limit")
            input.startFromHead = call.query("startFromHead").map { $0 == "true" }
            return try .json(try await TelemetryActions.getLogEvents(input, call.caller))
        },
        RESTRoute(method: .get, path: "/v1/clusters/{cluster}/tasks/{task}/metrics", action: IAMAction(.cloudwatch, "GetTaskMetrics"), access: .read) { call in
            try .json(try await TelemetryActions.taskMetrics(
                cluster: call.path["cluster"] ?? "", task: call.path["task"] ?? "",
                start: call.query("startTime").flatMap { Int64($0) }, end: call.query("endTime").flatMap { Int64($0) }, call.caller))
        },
        RESTRoute(method: .get, path: "/v1/metrics", action: IAMAction(.cloudwatch, "ListMetrics")) { call in
            var input = CloudWatch.ListMetricsRequest(namespace: call.query("namespace"), metricName: call.query("metricName"),
                                                      dimensions: call.dimensions.map { CloudWatch.DimensionFilter(name: $0.name, value: $0.value) },
                                                      nextToken: call.query("nextToken"))
            input.recentlyActive = call.query("recentlyActive")
            return try .pascal(try await CloudWatchActions.listMetrics(input, call.caller))
        },
        RESTRoute(method: .post, path: "/v1/metrics/data", action: IAMAction(.cloudwatch, "PutMetricData")) { call in
            try .pascal(try await CloudWatchActions.putMetricData(try call.decodePascal(CloudWatch.PutMetricDataRequest.self), call.caller))
        },
        RESTRoute(method: .get, path: "/v1/metrics/statistics", action: IAMAction(.cloudwatch, "GetMetricStatistics")) { call in
            guard let ns = call.query("namespace"), let name = call.query("metricName"), let start = try call.time("startTime"),
                  let end = try call.time("endTime"), let period = try call.int("period") else {
                throw APIError("MissingParameter", "namespace, metricName, startTime, endTime and period are required.")
            }
            let stats = call.query("statistics")?.split(separator: ",").map(String.init) ?? []
            let input = CloudWatch.GetMetricStatisticsRequest(
                namespace: ns, metricName: name, dimensions: call.dimensions, startTime: start, endTime: end, period: period,
                statistics: stats.filter { !$0.hasPrefix("p") }, extendedStatistics: stats.filter { $0.hasPrefix("p") })
            return try .pascal(try await CloudWatchActions.getMetricStatistics(input, call.caller))
        },
        RESTRoute(method: .post, path: "/v1/metrics/query", action: IAMAction(.cloudwatch, "GetMetricData")) { call in
            try .pascal(try await CloudWatchActions.getMetricData(try call.decodePascal(CloudWatch.GetMetricDataRequest.self), call.caller))
        },
        RESTRoute(method: .get, path: "/v1/alarms", action: IAMAction(.cloudwatch, "DescribeAlarms")) { call in
            var input = CloudWatch.DescribeAlarmsRequest(alarmNames: call.query["name"])
            input.stateValue = call.query("state")
            input.alarmNamePrefix = call.query("prefix")
            input.nextToken = call.query("nextToken")
            return try .pascal(try await AlarmActions.describe(input, call.caller))
        },
        RESTRoute(method: .put, path: "/v1/alarms/{alarm}", action: IAMAction(.cloudwatch, "PutMetricAlarm")) { call in
            var input = try call.decodePascal(CloudWatch.AlarmDefinition.self)
            input.alarmName = call.path["alarm"] ?? ""
            _ = try await AlarmActions.put(input, call.caller)
            let out = try await AlarmActions.describe(CloudWatch.DescribeAlarmsRequest(alarmNames: [input.alarmName]),
                                                     try call.caller(serving: .cloudwatch, "DescribeAlarms"))
            return try .pascal(out)
        },
        RESTRoute(method: .delete, path: "/v1/alarms/{alarm}", action: IAMAction(.cloudwatch, "DeleteAlarms")) { call in
            try .pascal(try await AlarmActions.delete(CloudWatch.DeleteAlarmsRequest(alarmNames: [call.path["alarm"] ?? ""]), call.caller))
        },
        RESTRoute(method: .put, path: "/v1/alarms/{alarm}/state", action: IAMAction(.cloudwatch, "SetAlarmState")) { call in
            var input = try call.decodePascal(CloudWatch.SetAlarmStateRequest.self)
            input.alarmName = call.path["alarm"] ?? ""
            return try .pascal(try await AlarmActions.setState(input, call.caller))
        },
        RESTRoute(method: .get, path: "/v1/alarms/{alarm}/history", action: IAMAction(.cloudwatch, "DescribeAlarmHistory")) { call in
            try .pascal(try await AlarmActions.history(CloudWatch.DescribeAlarmHistoryRequest(alarmName: call.path["alarm"]), call.caller))
        },
        RESTRoute(method: .get, path: "/v1/webhook-secret", action: IAMAction(.cloudwatch, "GetWebhookSecret"), access: .read) { call in
            struct Secret: Codable { var secret: String; var signature: String }
            try await call.caller.authorize(.describeAlarms, [AlarmActions.arn(call.caller, "*")])
            let secret = try await call.caller.alarms.webhookSecret()
            return try .json(Secret(secret: secret, signature: "X-Stowage-Signature: sha256=hex(HMAC-SHA256(secret, X-Stowage-Timestamp + \".\" + body))"))
        },
        RESTRoute(method: .get, path: "/v1/logs/groups", action: IAMAction(.logs, "DescribeLogGroups")) { call in
            var input = Logs.DescribeLogGroupsRequest()
            input.logGroupNamePrefix = call.query("prefix")
            input.nextToken = call.query("nextToken")
            input.limit = try call.int("limit")
            return try .json(try await LogActions.describeGroups(input, call.caller))
        },
        RESTRoute(method: .post, path: "/v1/logs/groups", action: IAMAction(.logs, "CreateLogGroup")) { call in
            try .json(try await LogActions.createGroup(try call.decode(Logs.LogGroupRequest.self), call.caller), status: 201)
        },
        RESTRoute(method: .delete, path: "/v1/logs/groups/{group}", action: IAMAction(.logs, "DeleteLogGroup")) { call in
            try .json(try await LogActions.deleteGroup(Logs.LogGroupRequest(logGroupName: call.path["group"] ?? ""), call.caller))
        },
        RESTRoute(method: .put, path: "/v1/logs/groups/{group}/retention", action: IAMAction(.logs, "PutRetentionPolicy")) { call in
            struct Body: Codable { var retentionInDays: Int }
            let body = try call.decode(Body.self)
            return try .json(try await LogActions.putRetention(
                Logs.PutRetentionPolicyRequest(logGroupName: call.path["group"] ?? "", retentionInDays: body.retentionInDays), call.caller))
        },
        RESTRoute(method: .get, path: "/v1/logs/groups/{group}/streams", action: IAMAction(.logs, "DescribeLogStreams")) { call in
            var input = Logs.DescribeLogStreamsRequest(logGroupName: call.path["group"] ?? "")
            input.logStreamNamePrefix = call.query("prefix")
            input.nextToken = call.query("nextToken")
            input.limit = try call.int("limit")
            return try .json(try await LogActions.describeStreams(input, call.caller))
        },
        RESTRoute(method: .post, path: "/v1/logs/groups/{group}/streams/{stream}/events", action: IAMAction(.logs, "PutLogEvents")) { call in
            struct Body: Codable { var logEvents: [Logs.InputLogEvent] }
            let body = try call.decode(Body.self)
            return try .json(try await LogActions.putEvents(Logs.PutLogEventsRequest(
                logGroupName: call.path["group"] ?? "", logStreamName: call.path["stream"] ?? "", logEvents: body.logEvents), call.caller))
        },
        RESTRoute(method: .get, path: "/v1/logs/groups/{group}/events", action: IAMAction(.logs, "FilterLogEvents")) { call in
            var input = Logs.FilterLogEventsRequest(logGroupName: call.path["group"] ?? "")
            input.filterPattern = call.query("filterPattern")
            input.startTime = call.query("startTime").flatMap { Int64($0) }
            input.endTime = call.query("endTime").flatMap { Int64($0) }
            input.nextToken = call.query("nextToken")
            input.limit = try call.int("limit")
            input.logStreamNames = call.query["logStreamName"]
            return try .json(try await LogActions.filter(input, call.caller))
        },
        RESTRoute(method: .get, path: "/v1/logs/groups/{group}/tail", action: IAMAction(.logs, "StartLiveTail"), access: .read, handle: LogTail.start),
        RESTRoute(method: .post, path: "/v1/autoscaling/targets", action: IAMAction(.applicationAutoScaling, "RegisterScalableTarget")) { call in
            try .pascal(try await AutoScalingActions.register(try call.decodePascal(AutoScaling.RegisterScalableTargetRequest.self), call.caller))
        },
        RESTRoute(method: .get, path: "/v1/autoscaling/targets", action: IAMAction(.applicationAutoScaling, "DescribeScalableTargets")) { call in
            var input = AutoScaling.DescribeRequest(serviceNamespace: "ecs")
            input.resourceIds = call.query["resourceId"]
            return try .pascal(try await AutoScalingActions.describeTargets(input, call.caller))
        },
        RESTRoute(method: .post, path: "/v1/autoscaling/policies", action: IAMAction(.applicationAutoScaling, "PutScalingPolicy")) { call in
            try .pascal(try await AutoScalingActions.putPolicy(try call.decodePascal(AutoScaling.PutScalingPolicyRequest.self), call.caller))
        },
        RESTRoute(method: .get, path: "/v1/autoscaling/policies", action: IAMAction(.applicationAutoScaling, "DescribeScalingPolicies")) { call in
            var input = AutoScaling.DescribeRequest(serviceNamespace: "ecs")
            input.resourceId = call.query("resourceId")
            return try .pascal(try await AutoScalingActions.describePolicies(input, call.caller))
        },
        RESTRoute(method: .post, path: "/v1/autoscaling/scheduled-actions", action: IAMAction(.applicationAutoScaling, "PutScheduledAction")) { call in
            try .pascal(try await AutoScalingActions.putScheduled(try call.decodePascal(AutoScaling.PutScheduledActionRequest.self), call.caller))
        },
        RESTRoute(method: .get, path: "/v1/autoscaling/activities", action: IAMAction(.applicationAutoScaling, "DescribeScalingActivities")) { call in
            var input = AutoScaling.DescribeRequest(serviceNamespace: "ecs")
            input.resourceId = call.query("resourceId")
            input.nextToken = call.query("nextToken")
            return try .pascal(try await AutoScalingActions.activities(input, call.caller))
        },
    ]
}
