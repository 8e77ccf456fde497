import Foundation
import StowageModel
import StowageMonitoringRules
import StowageStore
import StowageUseCases

/// Application Auto Scaling for ECS services (`AnyScaleFrontendService.<Action>`): targets, policies,
/// scheduled actions and the activity log. The worker evaluates them (`evaluate-scaling`, `evaluate-alarms`).
enum AutoScalingActions {
    static let dimension = ScalableTargets.dimension
    static func validation(_ message: String) -> APIError { ScalableTargets.validation(message) }

    /// `service/<cluster>/<service>` → (cluster, service), checking namespace and dimension on the way.
    static func target(_ namespace: String, _ resourceId: String, _ scalableDimension: String) throws(APIError) -> (String, String) {
        guard namespace == "ecs" else { throw validation("Stowage scales ECS services only: ServiceNamespace must be ecs, got \(namespace).") }
        guard scalableDimension == dimension else { throw validation("ScalableDimension must be \(dimension), got \(scalableDimension).") }
        let parts = resourceId.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "service", !parts[1].isEmpty, !parts[2].isEmpty else {
            throw validation("ResourceId must look like service/<cluster>/<service>, got \(resourceId).")
        }
        return (String(parts[1]), String(parts[2]))
    }

    static func targetArn(_ c: Caller, _ resourceId: String) -> String {
        "arn:\(c.backend.scope.partition):application-autoscaling:\(c.backend.scope.region):\(c.account):scalable-target/\(resourceId)"
    }

    static func policyArn(_ c: Caller, _ resourceId: String, _ name: String) -> String {
        "arn:\(c.backend.scope.partition):autoscaling:\(c.backend.scope.region):\(c.account):scalingPolicy:\(resourceId):resource/ecs/\(resourceId):policyName/\(name)"
    }

    static func register(_ input: AutoScaling.RegisterScalableTargetRequest, _ c: Caller) async throws -> AutoScaling.RegisterScalableTargetResponse {
        let (cluster, service) = try target(input.serviceNamespace, input.resourceId, input.scalableDimension)
        try await c.authorize([targetArn(c, input.resourceId)])
        try await c.scalableTargets.register(input, cluster: cluster, service: service) { lo, hi in
            guard lo >= 0, hi <= ServiceActions.maxDesiredCount else {
                throw validation("Capacities must be between 0 and \(ServiceActions.maxDesiredCount).")
            }
            guard lo <= hi else { throw validation("Minimum capacity cannot be greater than maximum capacity (\(lo) > \(hi)).") }
        }
        return .init(scalableTargetARN: targetArn(c, input.resourceId))
    }

    static func describeTargets(_ input: AutoScaling.DescribeRequest, _ c: Caller) async throws -> AutoScaling.DescribeScalableTargetsResponse {
        guard input.serviceNamespace == "ecs" else { throw validation("ServiceNamespace must be ecs.") }
        try await c.authorize(["*"])
        let rows = try await c.scalableTargets.targets(resourceIds: input.resourceIds)
        return .init(scalableTargets: rows.map {
            AutoScaling.ScalableTarget(serviceNamespace: "ecs", resourceId: $0.resourceId, scalableDimension: $0.dimension,
                                       minCapacity: $0.minCapacity, maxCapacity: $0.maxCapacity,
                                       roleARN: "arn:\(c.backend.scope.partition):iam::\(c.account):role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService",
                                       creationTime: $0.createdAt, suspendedState: $0.suspended, scalableTargetARN: targetArn(c, $0.resourceId))
        })
    }

    static func deregister(_ input: AutoScaling.TargetKey, _ c: Caller) async throws -> Empty {
        _ = try target(input.serviceNamespace, input.resourceId, input.scalableDimension)
        try await c.authorize([targetArn(c, input.resourceId)])
        try await c.scalableTargets.deregister(resourceId: input.resourceId)
        return Empty()
    }

    static let predefined: Set<String> = ["ECSServiceAverageCPUUtilization", "ECSServiceAverageMemoryUtilization"]

    static func putPolicy(_ input: AutoScaling.PutScalingPolicyRequest, _ c: Caller) async throws -> AutoScaling.PutScalingPolicyResponse {
        _ = try target(input.serviceNamespace, input.resourceId, input.scalableDimension)
        guard (1...256).contains(input.policyName.count), !input.policyName.contains(":") else {
            throw validation("PolicyName must be 1 to 256 characters without ':'.")
        }
        let type = input.policyType ?? "StepScaling"
        switch type {
        case "TargetTrackingScaling":
            guard let tt = input.targetTrackingScalingPolicyConfiguration, input.stepScalingPolicyConfiguration == nil else {
                throw validation("A TargetTrackingScaling policy needs TargetTrackingScalingPolicyConfiguration (and no step configuration).")
            }
            guard tt.targetValue > 0, tt.targetValue.isFinite else { throw validation("TargetValue must be a positive number.") }
            guard (tt.predefinedMetricSpecification == nil) != (tt.customizedMetricSpecification == nil) else {
                throw validation("Give exactly one of PredefinedMetricSpecification and CustomizedMetricSpecification.")
            }
            if let p = tt.predefinedMetricSpecification, !predefined.contains(p.predefinedMetricType) {
                throw validation("PredefinedMetricType for ECS must be one of \(predefined.sorted().joined(separator: ", ")), got \(p.predefinedMetricType).")
            }
            if let m = tt.customizedMetricSpecification {
                _ = try CloudWatchActions.identity(m.namespace, m.metricName, m.dimensions)
                guard ["Average", "Minimum", "Maximum", "SampleCount", "Sum"].contains(m.statistic) else {
                    throw validation("CustomizedMetricSpecification.Statistic must be Average, Minimum, Maximum, SampleCount or Sum.")
                }
            }
            guard (tt.scaleInCooldown ?? 0) >= 0, (tt.scaleOutCooldown ?? 0) >= 0 else { throw validation("Cooldowns cannot be negative.") }
        case "StepScaling":
            guard let step = input.stepScalingPolicyConfiguration, input.targetTrackingScalingPolicyConfiguration == nil else {
                throw validation("A StepScaling policy needs StepScalingPolicyConfiguration (and no target tracking configuration).")
            }
            guard let kind = StepScaling.AdjustmentType(rawValue: step.adjustmentType ?? "") else {
                throw validation("AdjustmentType must be ChangeInCapacity, PercentChangeInCapacity or ExactCapacity.")
            }
            let rules = StepScaling(adjustmentType: kind, steps: (step.stepAdjustments ?? []).map {
                StepAdjustment(lower: $0.metricIntervalLowerBound, upper: $0.metricIntervalUpperBound, adjustment: $0.scalingAdjustment)
            }, minAdjustmentMagnitude: step.minAdjustmentMagnitude)
            do { try rules.validate() } catch { throw validation(error.message) }
            guard (step.cooldown ?? 0) >= 0 else { throw validation("Cooldown cannot be negative.") }
        default:
            throw validation("PolicyType must be TargetTrackingScaling or StepScaling, got \(type).")
        }
        try await c.authorize([targetArn(c, input.resourceId)])
        try await c.scalableTargets.putPolicy(input, type: type)
        return .init(policyARN: policyArn(c, input.resourceId, input.policyName), alarms: [])
    }

    static func describePolicies(_ input: AutoScaling.DescribeRequest, _ c: Caller) async throws -> AutoScaling.DescribeScalingPoliciesResponse {
        guard input.serviceNamespace == "ecs" else { throw validation("ServiceNamespace must be ecs.") }
        try await c.authorize(["*"])
        let rows = try await c.scalableTargets.policies(resourceId: input.resourceId, names: input.policyNames)
        return .init(scalingPolicies: rows.map {
            AutoScaling.ScalingPolicy(policyARN: policyArn(c, $0.resourceId, $0.name), request: $0.request, policyType: $0.type, alarms: [],
                                      creationTime: $0.createdAt)
        })
    }

    static func deletePolicy(_ input: AutoScaling.DeleteScalingPolicyRequest, _ c: Caller) async throws -> Empty {
        _ = try target(input.serviceNamespace, input.resourceId, input.scalableDimension)
        try await c.authorize([targetArn(c, input.resourceId)])
        try await c.scalableTargets.deletePolicy(resourceId: input.resourceId, name: input.policyName)
        return Empty()
    }

    static func activities(_ input: AutoScaling.DescribeRequest, _ c: Caller) async throws -> AutoScaling.DescribeScalingActivitiesResponse {
        guard input.serviceNamespace == "ecs" else { throw validation("ServiceNamespace must be ecs.") }
        let limit = input.maxResults ?? 50
        guard (1...50).contains(limit) else { throw validation("MaxResults must be between 1 and 50.") }
        let before = try PageToken.decode(input.nextToken)?.first.flatMap(Double.init).map { Date(timeIntervalSince1970: $0) }
        try await c.authorize(["*"])
        let rows = try await c.scalableTargets.activities(resourceId: input.resourceId, before: before, limit: limit + 1)
        let page = Array(rows.prefix(limit))
        let token = rows.count > limit ? page.last.map { PageToken.encode([String($0.startTime.timeIntervalSince1970)]) } : nil
        return .init(scalingActivities: page, nextToken: token)
    }

    static func putScheduled(_ input: AutoScaling.PutScheduledActionRequest, _ c: Caller) async throws -> Empty {
        _ = try target(input.serviceNamespace, input.resourceId, input.scalableDimension)
        guard (1...256).contains(input.scheduledActionName.count) else { throw validation("ScheduledActionName must be 1 to 256 characters.") }
        guard let schedule = input.schedule else { throw validation("Schedule is required.") }
        do { _ = try ScheduleExpression.parse(schedule) } catch { throw validation(error.message) }
        guard input.timezone == nil || input.timezone == "UTC" || input.timezone == "Etc/UTC" else {
            throw validation("Stowage evaluates schedules in UTC; Timezone must be UTC.")
        }
        let action = input.scalableTargetAction ?? AutoScaling.ScalableTargetAction()
        guard action.minCapacity != nil || action.maxCapacity != nil else { throw validation("ScalableTargetAction needs MinCapacity or MaxCapacity.") }
        if let lo = action.minCapacity, let hi = action.maxCapacity, lo > hi {
            throw validation("Minimum capacity cannot be greater than maximum capacity (\(lo) > \(hi)).")
        }
        guard (action.minCapacity ?? 0) >= 0, (action.maxCapacity ?? 0) <= ServiceActions.maxDesiredCount else {
            throw validation("Capacities must be between 0 and \(ServiceActions.maxDesiredCount).")
        }
        if let s = input.startTime, let e = input.endTime, s >= e { throw validation("StartTime must be before EndTime.") }
        try await c.authorize([targetArn(c, input.resourceId)])
        try await c.scalableTargets.putScheduled(input, schedule: schedule)
        return Empty()
    }

    static func describeScheduled(_ input: AutoScaling.DescribeRequest, _ c: Caller) async throws -> AutoScaling.DescribeScheduledActionsResponse {
        guard input.serviceNamespace == "ecs" else { throw validation("ServiceNamespace must be ecs.") }
        try await c.authorize(["*"])
        let rows = try await c.scalableTargets.scheduled(resourceId: input.resourceId, names: input.scheduledActionNames)
        return .init(scheduledActions: rows.map {
            var action = AutoScaling.ScalableTargetAction()
            action.minCapacity = $0.minCapacity
            action.maxCapacity = $0.maxCapacity
            return AutoScaling.ScheduledAction(
                scheduledActionName: $0.name,
                scheduledActionARN: "arn:\(c.backend.scope.partition):autoscaling:\(c.backend.scope.region):\(c.account):scheduledAction:\($0.resourceId):scheduledActionName/\($0.name)",
                schedule: $0.schedule, resourceId: $0.resourceId, scalableDimension: $0.dimension, startTime: $0.start, endTime: $0.end,
                scalableTargetAction: action, creationTime: $0.createdAt)
        })
    }

    static func deleteScheduled(_ input: AutoScaling.DeleteScheduledActionRequest, _ c: Caller) async throws -> Empty {
        _ = try target(input.serviceNamespace, input.resourceId, input.scalableDimension)
        try await c.authorize([targetArn(c, input.resourceId)])
        try await c.scalableTargets.deleteScheduled(resourceId: input.resourceId, name: input.scheduledActionName)
        return Empty()
    }
}

extension Caller {
    /// The Application Auto Scaling use cases, acting for this caller's account.
    var scalableTargets: ScalableTargets { ScalableTargets(tenant: tenant, store: backend.scaling, services: backend.ecsServices) }
}

/// The Application Auto Scaling actions by name (`AnyScaleFrontendService.<Action>`).
public enum AutoScalingOperations {
    public static let all: [Operation] = [
        Operation.json(.applicationAutoScaling, "RegisterScalableTarget", .write, AutoScalingActions.register),
        Operation.json(.applicationAutoScaling, "DescribeScalableTargets", .read, AutoScalingActions.describeTargets),
        Operation.json(.applicationAutoScaling, "DeregisterScalableTarget", .write, AutoScalingActions.deregister),
        Operation.json(.applicationAutoScaling, "PutScalingPolicy", .write, AutoScalingActions.putPolicy),
        Operation.json(.applicationAutoScaling, "DescribeScalingPolicies", .read, AutoScalingActions.describePolicies),
        Operation.json(.applicationAutoScaling, "DeleteScalingPolicy", .write, AutoScalingActions.deletePolicy),
        Operation.json(.applicationAutoScaling, "DescribeScalingActivities", .read, AutoScalingActions.activities),
        Operation.json(.applicationAutoScaling, "PutScheduledAction", .write, AutoScalingActions.putScheduled),
        Operation.json(.applicationAutoScaling, "DescribeScheduledActions", .read, AutoScalingActions.describeScheduled),
        Operation.json(.applicationAutoScaling, "DeleteScheduledAction", .write, AutoScalingActions.deleteScheduled),
    ]
}
