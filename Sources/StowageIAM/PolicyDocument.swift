import Foundation
import StowageModel

/// An IAM JSON policy document, parsed and validated once on write so evaluation never meets bad input.
public struct PolicyDocument: Sendable, Equatable {
    public var version: String
    public var statements: [Statement]

    /// Identity policies name resources; trust policies (on roles) name principals instead.
    public enum Kind: Sendable { case identity, trust }

    public enum Effect: String, Sendable { case allow = "Allow", deny = "Deny" }

    /// A list of patterns, or everything except them (NotAction / NotResource / NotPrincipal).
    public struct Patterns: Sendable, Equatable {
        public var values: [String]
        public var negated: Bool
    }

    public struct Statement: Sendable, Equatable {
        public var sid: String?
        public var effect: Effect
        public var actions: Patterns
        public var resources: Patterns?
        /// Principal type ("AWS", "Service", …) to values; trust policies only.
        public var principals: [String: [String]]?
        public var conditions: [Condition]
    }

    public struct Condition: Sendable, Equatable {
        public var op: ConditionOperator
        public var key: String
        public var values: [String]
    }

    /// The largest managed policy IAM accepts, in characters excluding whitespace.
    public static let maxManagedSize = 6144

    /// Parses and validates; every failure is `MalformedPolicyDocument` naming the line.
    public static func parse(_ text: String, kind: Kind = .identity, maxSize: Int = maxManagedSize) throws(APIError) -> PolicyDocument {
        let size = text.unicodeScalars.filter { !CharacterSet.whitespacesAndNewlines.contains($0) }.count
        guard size <= maxSize else {
            throw malformed("Cannot exceed quota for PolicySize: \(maxSize) (the document has \(size) non-whitespace characters).")
        }
        let json: LocatedJSON
        do { json = try LocatedJSON.parse(text) } catch {
            throw malformed("Syntax errors in policy: line \(error.line), column \(error.column): \(error.message).")
        }
        return try Validator(kind: kind).document(json)
    }

    static func malformed(_ message: String) -> APIError { APIError("MalformedPolicyDocument", message) }

    struct Validator {
        var kind: Kind

        func fail(_ node: LocatedJSON, _ message: String) -> APIError {
            PolicyDocument.malformed("Line \(node.line): \(message)")
        }

        func document(_ json: LocatedJSON) throws(APIError) -> PolicyDocument {
            guard case .object(let members) = json.value else { throw fail(json, "the policy must be a JSON object.") }
            var version: String?
            var statements: [Statement] = []
            var sawStatement = false
            for member in members {
                switch member.key {
                case "Version":
                    guard case .string(let v) = member.value.value, v == "2012-10-17" || v == "2008-10-17" else {
                        throw fail(member.value, "Version must be \"2012-10-17\" or \"2008-10-17\".")
                    }
                    version = v
                case "Id":
                    guard case .string = member.value.value else { throw fail(member.value, "Id must be a string.") }
                case "Statement":
                    sawStatement = true
                    switch member.value.value {
                    case .object: statements = [try statement(member.value)]
                    case .array(let items):
                        guard !items.isEmpty else { throw fail(member.value, "Statement must not be empty.") }
                        for item in items { statements.append(try statement(item)) }
                    default: throw fail(member.value, "Statement must be an object or an array of objects.")
                    }
                default:
                    throw fail(member.value, "Unknown field \(member.key) (expected Version, Id or Statement).")
                }
            }
            guard sawStatement else { throw fail(json, "Missing required field Statement.") }
            var sids = Set<String>()
            for (index, s) in statements.enumerated() {
                if let sid = s.sid, !sids.insert(sid).inserted {
                    throw PolicyDocument.malformed("Statement IDs (SID) in a single policy must be unique: \(sid) is used twice (statement \(index + 1)).")
                }
            }
            return PolicyDocument(version: version ?? "2008-10-17", statements: statements)
        }

        func statement(_ json: LocatedJSON) throws(APIError) -> Statement {
            guard case .object(let members) = json.value else { throw fail(json, "each statement must be a JSON object.") }
            var sid: String?
            var effect: Effect?
            var actions: Patterns?
            var resources: Patterns?
            var principals: [String: [String]]?
            var conditions: [Condition] = []
            for member in members {
                let node = member.value
                switch member.key {
                case "Sid":
                    guard case .string(let s) = node.value, s.allSatisfy({ $0.isLetter || $0.isNumber }) else {
                        throw fail(node, "Sid must be a string of letters and digits.")
                    }
                    sid = s
                case "Effect":
                    guard case .string(let s) = node.value, let e = Effect(rawValue: s) else {
                        throw fail(node, "Effect must be \"Allow\" or \"Deny\".")
                    }
                    effect = e
                case "Action", "NotAction":
                    guard actions == nil else { throw fail(node, "a statement has either Action or NotAction, not both.") }
                    let list = try strings(node, field: member.key)
                    for action in list where !Self.validAction(action) {
                        throw fail(node, "Action \"\(action)\" must be \"*\" or service:ActionName (wildcards allowed), e.g. \"ecs:UpdateService\".")
                    }
                    actions = Patterns(values: list, negated: member.key == "NotAction")
                case "Resource", "NotResource":
                    guard kind == .identity else { throw fail(node, "Has prohibited field \(member.key): a trust policy names principals, not resources.") }
                    guard resources == nil else { throw fail(node, "a statement has either Resource or NotResource, not both.") }
                    let list = try strings(node, field: member.key)
                    for resource in list {
                        try checkResource(resource, node: node)
                    }
                    resources = Patterns(values: list, negated: member.key == "NotResource")
                case "Principal", "NotPrincipal":
                    guard kind == .trust else { throw fail(node, "Policy document should not specify a principal.") }
                    principals = try principal(node)
                case "Condition":
                    conditions = try condition(node)
                default:
                    throw fail(node, "Unknown field \(member.key) in a statement.")
                }
            }
            guard let effect else { throw fail(json, "Missing required field Effect.") }
            guard let actions else { throw fail(json, "Missing required field Action (or NotAction).") }
            if kind == .identity, resources == nil { throw fail(json, "Missing required field Resource (or NotResource).") }
            if kind == .trust, principals == nil { throw fail(json, "Missing required field Principal.") }
            return Statement(sid: sid, effect: effect, actions: actions, resources: resources, principals: principals, conditions: conditions)
        }

        func strings(_ node: LocatedJSON, field: String) throws(APIError) -> [String] {
            switch node.value {
            case .string(let s): return [s]
            case .array(let items):
                guard !items.isEmpty else { throw fail(node, "\(field) must not be empty.") }
                var out: [String] = []
                for item in items {
                    guard case .string(let s) = item.value else { throw fail(item, "\(field) entries must be strings.") }
                    out.append(s)
                }
                return out
            default: throw fail(node, "\(field) must be a string or an array of strings.")
            }
        }

        static func validAction(_ action: String) -> Bool {
            if action == "*" { return true }
            let parts = action.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return false }
            return parts[0].allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" }
                && parts[1].allSatisfy { $0.isLetter || $0.isNumber || $0 == "*" || $0 == "?" }
        }

        /// IAM accepts "*" alone or an ARN; a bare wildcard pattern such as "*cluster*" or "arn:*" is refused.
        func checkResource(_ resource: String, node: LocatedJSON) throws(APIError) {
            if resource == "*" { return }
            let parts = resource.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
            guard parts.count == 6, parts[0] == "arn", !parts[1].isEmpty, !parts[2].isEmpty, !parts[5].isEmpty else {
                throw fail(node, "Resource \(resource) must be in ARN format (arn:partition:service:region:account:resource) or \"*\".")
            }
            guard parts[2] != "*" || parts[5] != "*" || parts[4] != "*" else {
                throw fail(node, "Resource \(resource) is only wildcards; write \"*\" to mean every resource.")
            }
        }

        func principal(_ node: LocatedJSON) throws(APIError) -> [String: [String]] {
            if case .string("*") = node.value { return ["AWS": ["*"]] }
            guard case .object(let members) = node.value, !members.isEmpty else {
                throw fail(node, "Principal must be \"*\" or an object such as {\"AWS\": \"arn:aws:iam::123456789012:user/ci\"}.")
            }
            var out: [String: [String]] = [:]
            for member in members {
                guard ["AWS", "Service", "Federated", "CanonicalUser"].contains(member.key) else {
                    throw fail(member.value, "Unknown principal type \(member.key).")
                }
                let values = try strings(member.value, field: "Principal \(member.key)")
                if member.key == "AWS" {
                    for value in values where value != "*" && !Self.isAccountId(value) && !value.hasPrefix("arn:") {
                        throw fail(member.value, "Invalid principal in policy: \"AWS\": \"\(value)\".")
                    }
                }
                out[member.key] = values
            }
            return out
        }

        static func isAccountId(_ text: String) -> Bool { text.count == 12 && text.allSatisfy(\.isASCII) && text.allSatisfy(\.isNumber) }

        func condition(_ node: LocatedJSON) throws(APIError) -> [Condition] {
            guard case .object(let operators) = node.value else { throw fail(node, "Condition must be an object of operators.") }
            var out: [Condition] = []
            for entry in operators {
                guard let op = ConditionOperator(entry.key) else {
                    throw fail(entry.value, "Unknown condition operator \(entry.key).")
                }
                guard case .object(let keys) = entry.value.value, !keys.isEmpty else {
                    throw fail(entry.value, "\(entry.key) must be an object of condition keys to values.")
                }
                for key in keys {
                    let name = key.key
                    let parts = name.split(separator: ":", maxSplits: 1)
                    guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                        throw fail(key.value, "Condition key \(name) must have the form prefix:name, e.g. aws:SourceIp.")
                    }
                    var values: [String] = []
                    let items: [LocatedJSON]
                    if case .array(let list) = key.value.value { items = list } else { items = [key.value] }
                    guard !items.isEmpty else { throw fail(key.value, "Condition \(entry.key) \(name) needs at least one value.") }
                    for item in items {
                        switch item.value {
                        case .string(let s): values.append(s)
                        case .number(let n): values.append(n)
                        case .bool(let b): values.append(b ? "true" : "false")
                        default: throw fail(item, "Condition values must be strings, numbers or booleans.")
                        }
                    }
                    for value in values {
                        if let problem = op.problem(with: value) { throw fail(key.value, "\(entry.key) \(name): \(problem)") }
                    }
                    out.append(Condition(op: op, key: name.lowercased(), values: values))
                }
            }
            return out
        }
    }
}
