import Foundation
import StowageModel

// The ELBv2 operations' inputs and outputs as botocore's `elbv2` model names them (members capitalised on the wire
// by QueryDecoder/QueryValueEncoder). A member Stowage cannot honour is either refused by the handler with ELB's own
// error (declared here as `Refused` so the handler sees it) or, undeclared, refused by name by the decoder.

/// A member that is read only to be refused by the handler with a service-specific error (`Subnets`,
/// `RedirectConfig`): every parameter under it counts as read, and the handler sees whether it was sent.
struct Refused: Codable, Sendable {
    init(from decoder: any Decoder) throws {
        if let node = decoder as? QueryNodeDecoder { node.state.readAll(under: node.name) }
    }

    /// Never in an answer: an answer's refused members are nil.
    func encode(to encoder: any Encoder) throws {}
}

extension QueryDecodingState {
    func readAll(under name: String) { readUnder.insert(name) }
}

enum ELBShapes {
    // MARK: inputs

    /// An action as requests send it and answers show it (answers fill in the order and weights).
    struct Action: Codable, Sendable {
        var type: String
        var order: Int?
        var targetGroupArn: String?
        var forwardConfig: ForwardConfig?
        var fixedResponseConfig: FixedResponseConfig?
        // Action types Stowage does not run; refused by type with InvalidLoadBalancerAction, never in an answer.
        var redirectConfig: Refused?
        var authenticateOidcConfig: Refused?
        var authenticateCognitoConfig: Refused?
        var jwtValidationConfig: Refused?

        struct ForwardConfig: Codable, Sendable {
            var targetGroups: [WeightedGroup]?
            var targetGroupStickinessConfig: Stickiness?
        }
        struct WeightedGroup: Codable, Sendable { var targetGroupArn: String; var weight: Int? }
        struct Stickiness: Codable, Sendable { var enabled: Bool?; var durationSeconds: Int? }
        struct FixedResponseConfig: Codable, Sendable { var statusCode: String; var contentType: String?; var messageBody: String? }
    }

    /// A rule condition as requests send it and answers show it.
    struct Condition: Codable, Sendable {
        var field: String
        var values: [String]?
        var pathPatternConfig: ValuesConfig?
        var hostHeaderConfig: ValuesConfig?
        var httpHeaderConfig: HeaderConfig?
        var queryStringConfig: QueryStringConfig?
        var httpRequestMethodConfig: ValuesConfig?
        var sourceIpConfig: ValuesConfig?

        struct ValuesConfig: Codable, Sendable { var values: [String]? }
        struct HeaderConfig: Codable, Sendable { var httpHeaderName: String?; var values: [String]? }
        struct QueryStringConfig: Codable, Sendable { var values: [Pair]? }
        struct Pair: Codable, Sendable { var key: String?; var value: String }
    }

    /// The health-check members CreateTargetGroup and ModifyTargetGroup share.
    struct HealthCheckInput: Decodable, Sendable {
        var healthCheckProtocol: String?
        var healthCheckPort: String?
        var healthCheckEnabled: Bool?
        var healthCheckPath: String?
        var healthCheckIntervalSeconds: Int?
        var healthCheckTimeoutSeconds: Int?
        var healthyThresholdCount: Int?
        var unhealthyThresholdCount: Int?
        var matcher: Matcher?

        struct Matcher: Decodable, Sendable { var httpCode: String?; var grpcCode: String? }
    }

    struct TargetInput: Decodable, Sendable { var id: String; var port: Int?; var availabilityZone: String?; var quicServerId: String? }

    struct Paging: Decodable, Sendable { var marker: String?; var pageSize: Int? }

    struct CreateLoadBalancer: Decodable, Sendable {
        var name: String
        var type: String?
        var scheme: String?
        var ipAddressType: String?
        var subnets: Refused?
        var subnetMappings: Refused?
        var securityGroups: Refused?
        var tags: [Tag]?
    }

    struct DescribeLoadBalancers: Decodable, Sendable {
        var loadBalancerArns: [String]?
        var names: [String]?
        var marker: String?
        var pageSize: Int?
    }

    struct LoadBalancerReference: Decodable, Sendable { var loadBalancerArn: String }

    struct CreateTargetGroup: Decodable, Sendable {
        var name: String
        var targetType: String?
        var `protocol`: String?
        var port: Int?
        var protocolVersion: String?
        var vpcId: String?
        var ipAddressType: String?
        var tags: [Tag]?
        var healthCheck: HealthCheckInput

        enum CodingKeys: String, CodingKey { case name, targetType, `protocol`, port, protocolVersion, vpcId, ipAddressType, tags }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            targetType = try c.decodeIfPresent(String.self, forKey: .targetType)
            `protocol` = try c.decodeIfPresent(String.self, forKey: .protocol)
            port = try c.decodeIfPresent(Int.self, forKey: .port)
            protocolVersion = try c.decodeIfPresent(String.self, forKey: .protocolVersion)
            vpcId = try c.decodeIfPresent(String.self, forKey: .vpcId)
            ipAddressType = try c.decodeIfPresent(String.self, forKey: .ipAddressType)
            tags = try c.decodeIfPresent([Tag].self, forKey: .tags)
            // The health-check members sit beside the others on the wire.
            healthCheck = try HealthCheckInput(from: decoder)
        }
    }

    struct DescribeTargetGroups: Decodable, Sendable {
        var loadBalancerArn: String?
        var targetGroupArns: [String]?
        var names: [String]?
        var marker: String?
        var pageSize: Int?
    }

    struct ModifyTargetGroup: Decodable, Sendable {
        var targetGroupArn: String
        var healthCheck: HealthCheckInput

        enum CodingKeys: String, CodingKey { case targetGroupArn }

        init(from decoder: any Decoder) throws {
            targetGroupArn = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .targetGroupArn)
            healthCheck = try HealthCheckInput(from: decoder)
        }
    }

    struct TargetGroupReference: Decodable, Sendable { var targetGroupArn: String }

    struct ModifyTargetGroupAttributes: Decodable, Sendable {
        var targetGroupArn: String
        var attributes: [Attribute]
    }

    struct Attribute: Codable, Sendable { var key: String; var value: String? }

    struct CreateListener: Decodable, Sendable {
        var loadBalancerArn: String
        var `protocol`: String?
        var port: Int?
        var defaultActions: [Action]
        var tags: [Tag]?
    }

    struct DescribeListeners: Decodable, Sendable {
        var loadBalancerArn: String?
        var listenerArns: [String]?
        var marker: String?
        var pageSize: Int?
    }

    struct ModifyListener: Decodable, Sendable {
        var listenerArn: String
        var `protocol`: String?
        var port: Int?
        var defaultActions: [Action]
    }

    struct ListenerReference: Decodable, Sendable { var listenerArn: String }

    struct CreateRule: Decodable, Sendable {
        var listenerArn: String
        var priority: Int?
        var conditions: [Condition]
        var actions: [Action]
        var tags: [Tag]?
        var transforms: Refused?
    }

    struct DescribeRules: Decodable, Sendable {
        var listenerArn: String?
        var ruleArns: [String]?
        var marker: String?
        var pageSize: Int?
    }

    struct ModifyRule: Decodable, Sendable {
        var ruleArn: String
        var conditions: [Condition]
        var actions: [Action]
    }

    struct RuleReference: Decodable, Sendable { var ruleArn: String }

    struct SetRulePriorities: Decodable, Sendable {
        var rulePriorities: [RulePriority]
        struct RulePriority: Decodable, Sendable { var ruleArn: String; var priority: Int? }
    }

    struct Targets: Decodable, Sendable {
        var targetGroupArn: String
        var targets: [TargetInput]
    }

    struct DescribeTargetHealth: Decodable, Sendable {
        var targetGroupArn: String
        var targets: [TargetInput]
        var include: [String]?
    }

    struct DescribeAccountLimits: Decodable, Sendable { var marker: String?; var pageSize: Int? }

    struct AddTags: Decodable, Sendable { var resourceArns: [String]; var tags: [Tag] }
    struct RemoveTags: Decodable, Sendable { var resourceArns: [String]; var tagKeys: [String] }
    struct DescribeTags: Decodable, Sendable { var resourceArns: [String] }

    // MARK: outputs

    struct Empty: Encodable, Sendable {}

    struct LoadBalancer: Encodable, Sendable {
        var loadBalancerArn: String
        /// The address it listens on: clients connect to it as they would resolve an ALB's DNS name.
        var dnsName: String
        var canonicalHostedZoneId = "ZSTOWAGE000001"
        var createdTime: Date
        var loadBalancerName: String
        var scheme: String
        var state: State
        var type = "application"
        var availabilityZones: [Zone]
        var securityGroups: [String] = []
        var ipAddressType: String

        struct State: Encodable, Sendable { var code: String; var reason: String? }
        struct Zone: Encodable, Sendable { var zoneName = "local"; var loadBalancerAddresses: [Address] }
        struct Address: Encodable, Sendable { var ipAddress: String }

        enum CodingKeys: String, CodingKey {
            case loadBalancerArn, dnsName = "DNSName", canonicalHostedZoneId, createdTime, loadBalancerName, scheme, state, type
            case availabilityZones, securityGroups, ipAddressType
        }
    }

    struct LoadBalancers: Encodable, Sendable { var loadBalancers: [LoadBalancer]; var nextMarker: String? }

    struct Attributes: Encodable, Sendable { var attributes: [Attribute] }

    struct TargetGroup: Encodable, Sendable {
        var targetGroupArn: String
        var targetGroupName: String
        var `protocol`: String
        var port: Int
        var healthCheckProtocol = "HTTP"
        var healthCheckPort: String
        var healthCheckEnabled: Bool
        var healthCheckIntervalSeconds: Int
        var healthCheckTimeoutSeconds: Int
        var healthyThresholdCount: Int
        var unhealthyThresholdCount: Int
        var healthCheckPath: String
        var matcher: Matcher
        var loadBalancerArns: [String]
        var targetType: String
        var protocolVersion = "HTTP1"
        var ipAddressType = "ipv4"

        struct Matcher: Encodable, Sendable { var httpCode: String }
    }

    struct TargetGroups: Encodable, Sendable { var targetGroups: [TargetGroup]; var nextMarker: String? }

    struct Listener: Encodable, Sendable {
        var listenerArn: String
        var loadBalancerArn: String
        var port: Int
        var `protocol`: String
        var defaultActions: [Action]
    }

    struct Listeners: Encodable, Sendable { var listeners: [Listener]; var nextMarker: String? }

    struct Rule: Encodable, Sendable {
        var ruleArn: String
        var priority: String
        var conditions: [Condition]
        var actions: [Action]
        var isDefault: Bool
    }

    struct Rules: Encodable, Sendable { var rules: [Rule]; var nextMarker: String? }

    struct TargetHealthDescription: Encodable, Sendable {
        var target: Target
        var healthCheckPort: String
        var targetHealth: Health

        struct Target: Encodable, Sendable { var id: String; var port: Int }
        struct Health: Encodable, Sendable { var state: String; var reason: String?; var description: String? }
    }

    struct TargetHealthDescriptions: Encodable, Sendable { var targetHealthDescriptions: [TargetHealthDescription] }

    struct Limit: Encodable, Sendable { var name: String; var max: String }
    struct Limits: Encodable, Sendable { var limits: [Limit]; var nextMarker: String? }

    struct TagDescription: Encodable, Sendable { var resourceArn: String; var tags: [Tag] }
    struct TagDescriptions: Encodable, Sendable { var tagDescriptions: [TagDescription] }
}
