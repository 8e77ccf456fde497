import Foundation
import StowageModel
import StowageUseCases

/// The AWS services Stowage answers for: how a request reaches each one, and the prefix of its IAM actions.
public enum AWSService: String, Sendable, CaseIterable {
    case ecs, logs, cloudwatch, applicationAutoScaling = "application-autoscaling", ssm, secretsmanager, servicediscovery
    case iam, sts, elasticloadbalancing
    /// Actions of Stowage's own that no AWS service has (the audit trail's LookupEvents is CloudTrail's).
    case cloudtrail

    /// The prefix policies name actions with (`ecs:RunTask`, `monitoring` is not used: CloudWatch is `cloudwatch:`).
    public var iamPrefix: String { rawValue }

    /// How botocore speaks to the service on `POST /`.
    enum Wire: Sendable {
        /// AWS JSON 1.0/1.1: the operation in `X-Amz-Target` after this prefix, members spelt camelCase or PascalCase.
        case json(targetPrefix: String, spelling: Spelling)
        /// The query protocol: form-encoded `Action=…`, told apart by the signature's credential scope; XML answers.
        case query
        /// Reached through Stowage's REST routes only.
        case restOnly
    }

    /// Member spelling on the wire: ECS and Logs use camelCase, the other JSON services PascalCase.
    enum Spelling: Sendable { case camel, pascal }

    var wire: Wire {
        switch self {
        case .ecs: .json(targetPrefix: "AmazonEC2ContainerServiceV20141113.", spelling: .camel)
        case .logs: .json(targetPrefix: "Logs_20140328.", spelling: .camel)
        case .cloudwatch: .json(targetPrefix: "GraniteServiceVersion20100801.", spelling: .pascal)
        case .applicationAutoScaling: .json(targetPrefix: "AnyScaleFrontendService.", spelling: .pascal)
        case .ssm: .json(targetPrefix: "AmazonSSM.", spelling: .pascal)
        case .secretsmanager: .json(targetPrefix: "secretsmanager.", spelling: .pascal)
        case .servicediscovery: .json(targetPrefix: "Route53AutoNaming_v20170314.", spelling: .pascal)
        case .iam, .sts, .elasticloadbalancing: .query
        case .cloudtrail: .restOnly
        }
    }
}

/// An IAM action (`ecs:CreateCluster`): what a policy statement's `Action` matches and the audit trail records.
public struct IAMAction: Sendable, Hashable, CustomStringConvertible {
    public let service: AWSService
    public let name: String

    public init(_ service: AWSService, _ name: String) { self.service = service; self.name = name }

    public var description: String { "\(service.iamPrefix):\(name)" }
}

/// Which of an account's two rate buckets a call spends (issue 8's fairness): declared per operation, never guessed
/// from its name (`DiscoverInstances` reads; `GetSecretValue` reads).
public enum Access: Sendable { case read, write }

extension Quotas.RateClass {
    /// The bucket of an operation's declared access.
    init(_ access: Access) { self = access == .read ? .read : .write }
}

/// What an operation does with a request member it does not know.
public enum MemberPolicy: Sendable, Equatable {
    /// Refused by name before the handler runs: the shape is checked against the members Stowage honours (ECS shapes
    /// with `ShapeChecked`), or the typed query decoder saw a parameter no member of the input read.
    case refuseUnknown
    /// The JSON decoder reads the members the input type declares and the handler refuses the values it cannot
    /// honour; botocore sends only modelled members, and `test_member_support` walks every modelled one.
    case modelled
}

/// One operation, declared once: its wire name and service (hence its IAM action and door), its rate bucket, how
/// unknown members are treated, and the handler with its typed input and output. Each service folder exports its
/// list (`ECSOperations.all`, …); the router builds every door from `Operations.all`, and the REST routes name the
/// operation they serve so authorization, metrics and rates are the same whichever door a call came through.
public struct Operation: Sendable {
    public let action: IAMAction
    public let access: Access
    public let members: MemberPolicy
    /// Decodes the body (JSON for the JSON doors and REST, form parameters for the query doors), runs the handler
    /// with the caller bound to this operation, and encodes the answer for the door.
    let run: @Sendable (OperationInput, Caller) async throws -> OperationOutput

    public var name: String { action.name }
    public var service: AWSService { action.service }
}

/// A request body as a door hands it to an operation.
enum OperationInput: Sendable {
    case json(Data)
    case form(QueryRequest)
}

/// An operation's answer before the door writes it: JSON bytes, or query-protocol fields (XML for the AWS door,
/// JSON for REST).
enum OperationOutput: Sendable {
    case json(Data)
    case fields([(String, QueryValue)])
}

extension Operation {
    /// A JSON-protocol operation: the input decoded with the service's spelling, checked against the shape when it
    /// is `ShapeChecked`, the output encoded the same way.
    static func json<Input: Decodable & Sendable, Output: Encodable & Sendable>(
        _ service: AWSService, _ name: String, _ access: Access,
        _ handler: @escaping @Sendable (Input, Caller) async throws -> Output
    ) -> Operation {
        let pascal: Bool
        if case .json(_, .pascal) = service.wire { pascal = true } else { pascal = false }
        let action = IAMAction(service, name)
        // ECS's checked shapes refuse by their member table (with the reason); other inputs that encode as they
        // decode refuse what their echo lacks.
        let echoed = !(Input.self is any ShapeChecked.Type) && Input.self is any Encodable.Type && !unechoed.contains(action)
        let members: MemberPolicy = Input.self is any ShapeChecked.Type || echoed ? .refuseUnknown : .modelled
        return Operation(action: action, access: access, members: members) { input, caller in
            guard case .json(let body) = input else { throw APIError.unknownOperation("\(name) takes a JSON body.") }
            let decoder = pascal ? ECSJSON.pascalDecoder() : ECSJSON.decoder()
            let encoder = pascal ? ECSJSON.pascalEncoder() : ECSJSON.encoder()
            if let checked = Input.self as? any ShapeChecked.Type { try MemberSupport.check(body, shape: checked.shapeName) }
            let value: Input
            do {
                value = try decoder.decode(Input.self, from: body.isEmpty ? Data("{}".utf8) : body)
            } catch let error as DecodingError {
                throw service.refusal(error, pascal: pascal)
            }
            if echoed, let encodable = value as? any Encodable, let echo = try? encoder.encode(encodable),
               let member = MemberEcho.unread(request: body, echo: echo) {
                throw APIError(service.invalidMemberCode, "Stowage does not support the request member \(member) of \(name); omit it.")
            }
            return .json(try encoder.encode(try await handler(value, caller.serving(action))))
        }
    }

    /// A query-protocol operation with typed shapes: the form (or a REST call's JSON, flattened the same way) is
    /// decoded into `Input` by `QueryDecoder`, which refuses any parameter no member read, and `Output` is encoded
    /// member by member in declaration order, as botocore's XML parser reads it.
    static func query<Input: Decodable & Sendable, Output: Encodable & Sendable>(
        _ service: AWSService, _ name: String, _ access: Access, errorCode: String = "ValidationError",
        _ handler: @escaping @Sendable (Input, Caller) async throws -> Output
    ) -> Operation {
        let action = IAMAction(service, name)
        return Operation(action: action, access: access, members: .refuseUnknown) { input, caller in
            guard case .form(let q) = input else { throw APIError.unknownOperation("\(name) takes form parameters.") }
            let value = try QueryDecoder.decode(Input.self, from: q, errorCode: errorCode)
            return .fields(try QueryValueEncoder.fields(try await handler(value, caller.serving(action))))
        }
    }
}

extension Caller {
    /// The caller as the handler of `action` sees it: `authorize(_:)` without an action authorizes this one.
    func serving(_ action: IAMAction) -> Caller {
        var copy = self
        copy.operation = action
        return copy
    }
}

/// JSON operations whose input type does not encode as it decodes, so an echo cannot tell what was read: they
/// rely on their handlers' own refusals (`MemberPolicy.modelled`).
let unechoed: Set<IAMAction> = []

extension AWSService {
    /// The error a service answers a malformed request with, as its model names it.
    var invalidMemberCode: String {
        switch self {
        case .ecs, .logs, .secretsmanager: "InvalidParameterException"
        case .cloudwatch: "InvalidParameterValue"
        case .applicationAutoScaling, .ssm: "ValidationException"
        case .servicediscovery: "InvalidInput"
        case .iam, .sts, .elasticloadbalancing, .cloudtrail: "ValidationError"
        }
    }
}

extension AWSService {
    /// A body that does not decode, answered in the service's own terms: its error code, and member names spelt as
    /// on the wire (`Id`, not Swift's `id`).
    func refusal(_ error: DecodingError, pascal: Bool) -> APIError {
        var refused = Gateway.decodingError(error)
        guard pascal else { return refused }
        func wire(_ path: [any CodingKey]) -> String {
            path.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue.prefix(1).uppercased() + $0.stringValue.dropFirst() }
                .joined().trimmingCharacters(in: CharacterSet(charactersIn: "."))
        }
        switch error {
        case .keyNotFound(let key, let context):
            refused = APIError(invalidMemberCode, "\(wire(context.codingPath + [key])) is required.")
        case .valueNotFound(_, let context):
            refused = APIError(invalidMemberCode, "\(wire(context.codingPath)) must not be null.")
        default:
            break
        }
        return refused
    }
}

/// Every operation of every service, and the lookups the doors make.
public enum Operations {
    public static let all: [Operation] = ECSOperations.all + LogsOperations.all + CloudWatchOperations.all
        + AutoScalingOperations.all + SSMOperations.all + SecretsManagerOperations.all + ServiceDiscoveryOperations.all
        + IAMOperations.all + STSOperations.all + ELBOperations.all

    static let byAction: [IAMAction: Operation] = Dictionary(all.map { ($0.action, $0) }, uniquingKeysWith: { first, _ in first })

    /// The JSON doors by their `X-Amz-Target` prefix.
    static let jsonDoors: [(prefix: String, operations: [String: Operation])] = AWSService.allCases.compactMap { service in
        guard case .json(let prefix, _) = service.wire else { return nil }
        return (prefix, Dictionary(all.filter { $0.service == service }.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first }))
    }

    static func named(_ service: AWSService, _ name: String) -> Operation? { byAction[IAMAction(service, name)] }

    /// The operation an `X-Amz-Target` names.
    static func target(_ target: String) -> Operation? {
        jsonDoors.lazy.compactMap { door in target.hasPrefix(door.prefix) ? door.operations[String(target.dropFirst(door.prefix.count))] : nil }.first
    }
}

extension IAMAction {
    // Actions a call needs beside its own operation's, named once.
    /// Handing a role to tasks (a task definition's task or execution role, RunTask's override).
    static let passRole = IAMAction(.iam, "PassRole")
    /// A service that registers its tasks in target groups, checked when the service is written.
    static let registerTargets = IAMAction(.elasticloadbalancing, "RegisterTargets")
    /// A service that registers its tasks in Cloud Map, checked when the service is written.
    static let registerInstance = IAMAction(.servicediscovery, "RegisterInstance")
    /// What an agent's resolver reads: the account's discovery names.
    static let discoverInstances = IAMAction(.servicediscovery, "DiscoverInstances")
    /// A task's execution role reading the parameters and secrets its containers name.
    static let getParameters = IAMAction(.ssm, "GetParameters")
    static let getSecretValue = IAMAction(.secretsmanager, "GetSecretValue")
    /// Reading alarms (the webhook secret is part of what an alarm's reader sees).
    static let describeAlarms = IAMAction(.cloudwatch, "DescribeAlarms")
    /// Reading a task's metrics.
    static let getMetricData = IAMAction(.cloudwatch, "GetMetricData")
    /// The agent protocol's two permissions (StowageAgentPolicy): hearing assignments, and telling state.
    static let agentPoll = IAMAction(.ecs, "Poll")
    static let agentReport = IAMAction(.ecs, "SubmitTaskStateChange")
}
