import Foundation

/// Application Auto Scaling shapes (botocore's `application-autoscaling` model), PascalCase on the wire.
public enum AutoScaling {
    public struct TargetKey: Codable, Sendable {
        public var serviceNamespace: String
        public var resourceId: String
        public var scalableDimension: String
    }

    public struct SuspendedState: Codable, Sendable, Equatable {
        public var dynamicScalingInSuspended: Bool?
        public var dynamicScalingOutSuspended: Bool?
        public var scheduledScalingSuspended: Bool?
        public init() {}
    }

    public struct RegisterScalableTargetRequest: Codable, Sendable {
        public var serviceNamespace: String
        public var resourceId: String
        public var scalableDimension: String
        public var minCapacity: Int?
        public var maxCapacity: Int?
        public var roleARN: String?
        public var suspendedState: SuspendedState?
    }

    public struct RegisterScalableTargetResponse: Codable, Sendable {
        public var scalableTargetARN: String
        public init(scalableTargetARN: String) { self.scalableTargetARN = scalableTargetARN }
    }

    public struct ScalableTarget: Codable, Sendable {
        public var serviceNamespace: String
        public var resourceId: String
        public var scalableDimension: String
        public var minCapacity: Int
        public var maxCapacity: Int
        public var roleARN: String
        public var creationTime: Date
        public var suspendedState: SuspendedState
        public var scalableTargetARN: String
        public init(serviceNamespace: String, resourceId: String, scalableDimension: String, minCapacity: Int, maxCapacity: Int,
                    roleARN: String, creationTime: Date, suspendedState: SuspendedState, scalableTargetARN: String) {
            self.serviceNamespace = serviceNamespace; self.resourceId = resourceId; self.scalableDimension = scalableDimension
            self.minCapacity = minCapacity; self.maxCapacity = maxCapacity; self.roleARN = roleARN; self.creationTime = creationTime
            self.suspendedState = suspendedState; self.scalableTargetARN = scalableTargetARN
        }
    }

    public struct DescribeRequest: Codable, Sendable {
        public var serviceNamespace: String
        public var resourceIds: [String]?
        public var resourceId: String?
        public var scalableDimension: String?
        public var policyNames: [String]?
        public var scheduledActionNames: [String]?
        public var maxResults: Int?
        public var nextToken: String?
        public init(serviceNamespace: String) { self.serviceNamespace = serviceNamespace }
    }

    public struct DescribeScalableTargetsResponse: Codable, Sendable {
        public var scalableTargets: [ScalableTarget]
        public var nextToken: String?
        public init(scalableTargets: [ScalableTarget]) { self.scalableTargets = scalableTargets }
    }

    public struct PredefinedMetricSpecification: Codable, Sendable, Equatable {
        public var predefinedMetricType: String
        public var resourceLabel: String?
    }

    public struct CustomizedMetricSpecification: Codable, Sendable, Equatable {
        public var metricName: String
        public var namespace: String
        public var dimensions: [CloudWatch.Dimension]?
        public var statistic: String
        public var unit: String?
    }

    public struct TargetTrackingConfiguration: Codable, Sendable {
        public var targetValue: Double
        public var predefinedMetricSpecification: PredefinedMetricSpecification?
        public var customizedMetricSpecification: CustomizedMetricSpecification?
        public var scaleOutCooldown: Int?
        public var scaleInCooldown: Int?
        public var disableScaleIn: Bool?
    }

    public struct StepAdjustmentShape: Codable, Sendable, Equatable {
        public var metricIntervalLowerBound: Double?
        public var metricIntervalUpperBound: Double?
        public var scalingAdjustment: Int
    }

    public struct StepScalingConfiguration: Codable, Sendable {
        public var adjustmentType: String?
        public var stepAdjustments: [StepAdjustmentShape]?
        public var minAdjustmentMagnitude: Int?
        public var cooldown: Int?
        public var metricAggregationType: String?
    }

    public struct PutScalingPolicyRequest: Codable, Sendable {
        public var policyName: String
        public var serviceNamespace: String
        public var resourceId: String
        public var scalableDimension: String
        public var policyType: String?
        public var stepScalingPolicyConfiguration: StepScalingConfiguration?
        public var targetTrackingScalingPolicyConfiguration: TargetTrackingConfiguration?
    }

    public struct Alarm: Codable, Sendable {
        public var alarmName: String
        public var alarmARN: String
        public init(alarmName: String, alarmARN: String) { self.alarmName = alarmName; self.alarmARN = alarmARN }
    }

    public struct PutScalingPolicyResponse: Codable, Sendable {
        public var policyARN: String
        public var alarms: [Alarm]
        public init(policyARN: String, alarms: [Alarm]) { self.policyARN = policyARN; self.alarms = alarms }
    }

    public struct ScalingPolicy: Codable, Sendable {
        public var policyARN: String
        public var policyName: String
        public var serviceNamespace: String
        public var resourceId: String
        public var scalableDimension: String
        public var policyType: String
        public var stepScalingPolicyConfiguration: StepScalingConfiguration?
        public var targetTrackingScalingPolicyConfiguration: TargetTrackingConfiguration?
        public var alarms: [Alarm]
        public var creationTime: Date
        public init(policyARN: String, request: PutScalingPolicyRequest, policyType: String, alarms: [Alarm], creationTime: Date) {
            self.policyARN = policyARN; self.policyName = request.policyName; self.serviceNamespace = request.serviceNamespace
            self.resourceId = request.resourceId; self.scalableDimension = request.scalableDimension; self.policyType = policyType
            self.stepScalingPolicyConfiguration = request.stepScalingPolicyConfiguration
            self.targetTrackingScalingPolicyConfiguration = request.targetTrackingScalingPolicyConfiguration
            self.alarms = alarms; self.creationTime = creationTime
        }
    }

    public struct DescribeScalingPoliciesResponse: Codable, Sendable {
        public var scalingPolicies: [ScalingPolicy]
        public var nextToken: String?
        public init(scalingPolicies: [ScalingPolicy]) { self.scalingPolicies = scalingPolicies }
    }

    public struct DeleteScalingPolicyRequest: Codable, Sendable {
        public var policyName: String
        public var serviceNamespace: String
        public var resourceId: String
        public var scalableDimension: String
    }

    public struct ScalingActivity: Codable, Sendable {
        public var activityId: String
        public var serviceNamespace: String
        public var resourceId: String
        public var scalableDimension: String
        public var description: String
        public var cause: String
        public var startTime: Date
        public var endTime: Date?
        public var statusCode: String
        public var statusMessage: String?
        public init(activityId: String, resourceId: String, scalableDimension: String, description: String, cause: String,
                    startTime: Date, endTime: Date?, statusCode: String, statusMessage: String?) {
            self.activityId = activityId; self.serviceNamespace = "ecs"; self.resourceId = resourceId
            self.scalableDimension = scalableDimension; self.description = description; self.cause = cause
            self.startTime = startTime; self.endTime = endTime; self.statusCode = statusCode; self.statusMessage = statusMessage
        }
    }

    public struct DescribeScalingActivitiesResponse: Codable, Sendable {
        public var scalingActivities: [ScalingActivity]
        public var nextToken: String?
        public init(scalingActivities: [ScalingActivity], nextToken: String?) {
            self.scalingActivities = scalingActivities; self.nextToken = nextToken
        }
    }

    public struct ScalableTargetAction: Codable, Sendable, Equatable {
        public var minCapacity: Int?
        public var maxCapacity: Int?
        public init() {}
    }

    public struct PutScheduledActionRequest: Codable, Sendable {
        public var serviceNamespace: String
        public var schedule: String?
        public var timezone: String?
        public var scheduledActionName: String
        public var resourceId: String
        public var scalableDimension: String
        public var startTime: Date?
        public var endTime: Date?
        public var scalableTargetAction: ScalableTargetAction?
    }

    public struct ScheduledAction: Codable, Sendable {
        public var scheduledActionName: String
        public var scheduledActionARN: String
        public var serviceNamespace: String
        public var schedule: String
        public var timezone: String
        public var resourceId: String
        public var scalableDimension: String
        public var startTime: Date?
        public var endTime: Date?
        public var scalableTargetAction: ScalableTargetAction
        public var creationTime: Date
        public init(scheduledActionName: String, scheduledActionARN: String, schedule: String, resourceId: String,
                    scalableDimension: String, startTime: Date?, endTime: Date?, scalableTargetAction: ScalableTargetAction,
                    creationTime: Date) {
            self.scheduledActionName = scheduledActionName; self.scheduledActionARN = scheduledActionARN
            self.serviceNamespace = "ecs"; self.schedule = schedule; self.timezone = "UTC"; self.resourceId = resourceId
            self.scalableDimension = scalableDimension; self.startTime = startTime; self.endTime = endTime
            self.scalableTargetAction = scalableTargetAction; self.creationTime = creationTime
        }
    }

    public struct DescribeScheduledActionsResponse: Codable, Sendable {
        public var scheduledActions: [ScheduledAction]
        public var nextToken: String?
        public init(scheduledActions: [ScheduledAction]) { self.scheduledActions = scheduledActions }
    }

    public struct DeleteScheduledActionRequest: Codable, Sendable {
        public var serviceNamespace: String
        public var scheduledActionName: String
        public var resourceId: String
        public var scalableDimension: String
    }
}
