import Foundation
import StowageModel

/// A condition operator as IAM spells it: a base comparison, optionally `…IfExists`, optionally qualified
/// by `ForAnyValue:` / `ForAllValues:` for multi-valued keys.
public struct ConditionOperator: Sendable, Equatable {
    public enum Base: String, Sendable, CaseIterable {
        case stringEquals = "StringEquals", stringNotEquals = "StringNotEquals"
        case stringEqualsIgnoreCase = "StringEqualsIgnoreCase", stringNotEqualsIgnoreCase = "StringNotEqualsIgnoreCase"
        case stringLike = "StringLike", stringNotLike = "StringNotLike"
        case numericEquals = "NumericEquals", numericNotEquals = "NumericNotEquals"
        case numericLessThan = "NumericLessThan", numericLessThanEquals = "NumericLessThanEquals"
        case numericGreaterThan = "NumericGreaterThan", numericGreaterThanEquals = "NumericGreaterThanEquals"
        case dateEquals = "DateEquals", dateNotEquals = "DateNotEquals"
        case dateLessThan = "DateLessThan", dateLessThanEquals = "DateLessThanEquals"
        case dateGreaterThan = "DateGreaterThan", dateGreaterThanEquals = "DateGreaterThanEquals"
        case bool = "Bool"
        case ipAddress = "IpAddress", notIpAddress = "NotIpAddress"
        case arnEquals = "ArnEquals", arnLike = "ArnLike", arnNotEquals = "ArnNotEquals", arnNotLike = "ArnNotLike"
        case null = "Null"

        /// The positive operator a negated one inverts; IAM treats a missing key as a match for negated ones.
        var positive: Base? {
            switch self {
            case .stringNotEquals: .stringEquals
            case .stringNotEqualsIgnoreCase: .stringEqualsIgnoreCase
            case .stringNotLike: .stringLike
            case .numericNotEquals: .numericEquals
            case .dateNotEquals: .dateEquals
            case .notIpAddress: .ipAddress
            case .arnNotEquals: .arnEquals
            case .arnNotLike: .arnLike
            default: nil
            }
        }
    }

    public enum SetQualifier: String, Sendable { case forAnyValue = "ForAnyValue", forAllValues = "ForAllValues" }

    public var base: Base
    public var ifExists: Bool
    public var qualifier: SetQualifier?

    public init?(_ text: String) {
        var rest = Substring(text)
        qualifier = nil
        if let colon = rest.firstIndex(of: ":") {
            guard let q = SetQualifier(rawValue: String(rest[..<colon])) else { return nil }
            qualifier = q
            rest = rest[rest.index(after: colon)...]
        }
        ifExists = rest.hasSuffix("IfExists") && rest != "IfExists"
        if ifExists { rest = rest.dropLast("IfExists".count) }
        guard let base = Base(rawValue: String(rest)), !(ifExists && base == .null) else { return nil }
        self.base = base
    }

    /// Why a policy value cannot be compared with this operator, checked when the policy is written.
    func problem(with value: String) -> String? {
        switch base.positive ?? base {
        case .numericEquals, .numericLessThan, .numericLessThanEquals, .numericGreaterThan, .numericGreaterThanEquals:
            return Double(value) == nil ? "\"\(value)\" is not a number." : nil
        case .dateEquals, .dateLessThan, .dateLessThanEquals, .dateGreaterThan, .dateGreaterThanEquals:
            return PolicyMatch.date(value) == nil ? "\"\(value)\" is not a date (ISO 8601, e.g. 2026-01-01T00:00:00Z, or epoch seconds)." : nil
        case .bool, .null:
            return ["true", "false"].contains(value.lowercased()) ? nil : "\"\(value)\" must be true or false."
        case .ipAddress:
            return CIDR(value) == nil ? "\"\(value)\" is not an IP address or CIDR block." : nil
        default:
            return nil
        }
    }
}

/// What one authorization question is about: the action, one resource, and the condition keys
/// (lower-cased names) the request carries.
public struct AccessRequest: Sendable, Equatable {
    public var action: String
    public var resource: String
    public var keys: [String: [String]]

    public init(action: String, resource: String, keys: [String: [String]] = [:]) {
        self.action = action; self.resource = resource
        self.keys = Dictionary(keys.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { a, b in a + b })
    }
}

/// The outcome, with the statement that decided it for messages and the audit trail.
public enum Decision: Sendable, Equatable {
    case allowed
    case explicitlyDenied(sid: String?)
    case implicitlyDenied

    public var isAllowed: Bool { self == .allowed }
}

/// IAM's evaluation logic: an explicit Deny in any policy wins; else an Allow from any identity policy;
/// else implicit deny. A session policy narrows: both the identity policies and it must allow.
public enum PolicyEvaluator {
    public static func decide(_ request: AccessRequest, identity: [PolicyDocument], session: PolicyDocument? = nil) -> Decision {
        let base = decide(request, policies: identity)
        guard let session else { return base }
        let narrowed = decide(request, policies: [session])
        if case .explicitlyDenied = base { return base }
        if case .explicitlyDenied = narrowed { return narrowed }
        return base == .allowed && narrowed == .allowed ? .allowed : .implicitlyDenied
    }

    public static func decide(_ request: AccessRequest, policies: [PolicyDocument]) -> Decision {
        var allowed = false
        for policy in policies {
            for statement in policy.statements where applies(statement, request) {
                if statement.effect == .deny { return .explicitlyDenied(sid: statement.sid) }
                allowed = true
            }
        }
        return allowed ? .allowed : .implicitlyDenied
    }

    /// A trust policy's verdict on `sts:AssumeRole` by the principal with this ARN and account.
    public static func trusts(_ policy: PolicyDocument, principalArn: String, account: String, roleSessionOf: String? = nil,
                              keys: [String: [String]] = [:]) -> Decision {
        let request = AccessRequest(action: "sts:AssumeRole", resource: "*", keys: keys)
        var allowed = false
        for statement in policy.statements where matches(statement.actions, request.action, caseInsensitive: true)
            && conditionsHold(statement.conditions, request) {
            let named = (statement.principals?["AWS"] ?? []).contains { value in
                value == "*" || value == principalArn || value == account || value == roleSessionOf
                    || value == "arn:\(ARN(principalArn)?.partition ?? "aws"):iam::\(account):root"
            }
            guard named else { continue }
            if statement.effect == .deny { return .explicitlyDenied(sid: statement.sid) }
            allowed = true
        }
        return allowed ? .allowed : .implicitlyDenied
    }

    /// Whether a role's trust policy lets an AWS service (ecs-tasks.amazonaws.com for task roles) assume it.
    public static func trustsService(_ policy: PolicyDocument, _ service: String) -> Bool {
        var allowed = false
        for statement in policy.statements where matches(statement.actions, "sts:AssumeRole", caseInsensitive: true)
            && (statement.principals?["Service"] ?? []).contains(service) {
            if statement.effect == .deny { return false }
            allowed = true
        }
        return allowed
    }

    static func applies(_ statement: PolicyDocument.Statement, _ request: AccessRequest) -> Bool {
        guard matches(statement.actions, request.action, caseInsensitive: true) else { return false }
        if let resources = statement.resources {
            let hit = resources.values.contains { pattern in
                guard let resolved = substitute(pattern, request.keys) else { return false }
                return PolicyMatch.glob(resolved, request.resource, caseInsensitive: false)
            }
            if hit == resources.negated { return false }
        }
        return conditionsHold(statement.conditions, request)
    }

    /// The lower-cased names of the policy variables a resource pattern uses.
    public static func variables(in pattern: String) -> [String] {
        var out: [String] = []
        var rest = Substring(pattern)
        while let open = rest.range(of: "${"), let close = rest[open.upperBound...].firstIndex(of: "}") {
            let name = rest[open.upperBound..<close].lowercased()
            if !["*", "?", "$"].contains(name) { out.append(name) }
            rest = rest[rest.index(after: close)...]
        }
        return out
    }

    /// Policy variables (`${aws:PrincipalTag/stowage:cluster}`) take the request's value; a variable the
    /// request has no value for makes the pattern match nothing, as in IAM.
    static func substitute(_ pattern: String, _ keys: [String: [String]]) -> String? {
        guard pattern.contains("${") else { return pattern }
        var out = ""
        var rest = Substring(pattern)
        while let open = rest.range(of: "${") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else { return out + rest[open.lowerBound...] }
            let name = rest[open.upperBound..<close].lowercased()
            switch name {
            case "*": out += "*"
            case "?": out += "?"
            case "$": out += "$"
            default:
                guard let value = keys[name]?.first, !value.contains("*"), !value.contains("?") else { return nil }
                out += value
            }
            rest = rest[rest.index(after: close)...]
        }
        return out + rest
    }

    static func matches(_ patterns: PolicyDocument.Patterns, _ value: String, caseInsensitive: Bool) -> Bool {
        let hit = patterns.values.contains { PolicyMatch.glob($0, value, caseInsensitive: caseInsensitive) }
        return patterns.negated ? !hit : hit
    }

    static func conditionsHold(_ conditions: [PolicyDocument.Condition], _ request: AccessRequest) -> Bool {
        conditions.allSatisfy { holds($0, request.keys[$0.key]) }
    }

    static func holds(_ condition: PolicyDocument.Condition, _ present: [String]?) -> Bool {
        let op = condition.op
        if op.base == .null {
            let absent = present?.isEmpty ?? true
            return condition.values.contains { ($0.lowercased() == "true") == absent }
        }
        guard let present, !present.isEmpty else {
            if op.ifExists { return true }
            if op.qualifier == .forAllValues { return true }
            return op.base.positive != nil
        }
        let positive = op.base.positive ?? op.base
        let negated = op.base.positive != nil
        func one(_ value: String) -> Bool {
            let hit = condition.values.contains { PolicyMatch.compare(positive, context: value, policy: $0) }
            return negated ? !hit : hit
        }
        switch op.qualifier {
        case .forAllValues?: return present.allSatisfy(one)
        case .forAnyValue?: return present.contains(where: one)
        case nil: return negated ? present.allSatisfy(one) : present.contains(where: one)
        }
    }
}

/// Comparisons shared by actions, resources and conditions.
public enum PolicyMatch {
    /// `*` matches any run of characters, `?` any one, compared by Unicode scalar.
    public static func glob(_ pattern: String, _ value: String, caseInsensitive: Bool) -> Bool {
        Wildcard.matches((caseInsensitive ? pattern.lowercased() : pattern).unicodeScalars,
                         (caseInsensitive ? value.lowercased() : value).unicodeScalars)
    }

    /// ARNs match part by part, so a wildcard in the region cannot swallow the account.
    static func arn(_ pattern: String, _ value: String) -> Bool {
        let p = pattern.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        let v = value.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard p.count == 6, v.count == 6 else { return pattern == "*" }
        return zip(p, v).allSatisfy { glob(String($0), String($1), caseInsensitive: false) }
    }

    static func date(_ text: String) -> Int64? {
        if let seconds = Double(text) { return Int64(seconds * 1_000_000_000) }
        if text.count == 10 { return UTCTime.parseRFC3339(text + "T00:00:00Z") }
        return UTCTime.parseRFC3339(text)
    }

    static func compare(_ op: ConditionOperator.Base, context: String, policy: String) -> Bool {
        switch op {
        case .stringEquals: return context == policy
        case .stringEqualsIgnoreCase: return context.lowercased() == policy.lowercased()
        case .stringLike: return glob(policy, context, caseInsensitive: false)
        case .numericEquals, .numericLessThan, .numericLessThanEquals, .numericGreaterThan, .numericGreaterThanEquals:
            guard let a = Double(context), let b = Double(policy) else { return false }
            return ordered(op, a, b)
        case .dateEquals, .dateLessThan, .dateLessThanEquals, .dateGreaterThan, .dateGreaterThanEquals:
            guard let a = date(context), let b = date(policy) else { return false }
            return ordered(op, a, b)
        case .bool: return context.lowercased() == policy.lowercased()
        case .ipAddress:
            guard let block = CIDR(policy), let address = CIDR(context) else { return false }
            return block.contains(address.bytes)
        case .arnEquals, .arnLike: return arn(policy, context)
        default: return false
        }
    }

    static func ordered<T: Comparable>(_ op: ConditionOperator.Base, _ a: T, _ b: T) -> Bool {
        switch op {
        case .numericEquals, .dateEquals: a == b
        case .numericLessThan, .dateLessThan: a < b
        case .numericLessThanEquals, .dateLessThanEquals: a <= b
        case .numericGreaterThan, .dateGreaterThan: a > b
        case .numericGreaterThanEquals, .dateGreaterThanEquals: a >= b
        default: false
        }
    }
}
