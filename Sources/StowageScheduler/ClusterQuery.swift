import Foundation
import StowageModel

/// What the cluster query language can ask about an instance.
public struct InstanceFacts: Sendable {
    public var attributes: [String: String]
    public var ec2InstanceId: String
    public var registeredAt: Date
    public var runningTasksCount: Int
    public var taskGroups: Set<String>

    public init(attributes: [String: String], ec2InstanceId: String = "", registeredAt: Date = Date(timeIntervalSince1970: 0),
                runningTasksCount: Int = 0, taskGroups: Set<String> = []) {
        self.attributes = attributes; self.ec2InstanceId = ec2InstanceId; self.registeredAt = registeredAt
        self.runningTasksCount = runningTasksCount; self.taskGroups = taskGroups
    }
}

/// An expression of ECS's cluster query language, e.g.
/// `attribute:ecs.instance-type =~ t2.* and not(attribute:zone in [a, b])`.
public indirect enum ClusterQuery: Sendable, Equatable {
    public enum Subject: Sendable, Equatable {
        case attribute(String)
        case ec2InstanceId
        case registeredAt
        case runningTasksCount
        case taskGroup
    }

    public enum Comparison: String, Sendable, Equatable {
        case equal = "==", notEqual = "!=", greater = ">", greaterOrEqual = ">=", less = "<", lessOrEqual = "<="
        case matches = "=~", notMatches = "!~"
    }

    case and(ClusterQuery, ClusterQuery)
    case or(ClusterQuery, ClusterQuery)
    case not(ClusterQuery)
    case compare(Subject, Comparison, String)
    case member(Subject, [String], negated: Bool)
    case exists(Subject)

    /// Whether the answer can change as tasks are placed (it looks at task groups or task counts).
    public var dependsOnTasks: Bool {
        switch self {
        case .and(let a, let b), .or(let a, let b): a.dependsOnTasks || b.dependsOnTasks
        case .not(let a): a.dependsOnTasks
        case .compare(let s, _, _), .member(let s, _, _), .exists(let s): s == .taskGroup || s == .runningTasksCount
        }
    }

    public func matches(_ facts: InstanceFacts) -> Bool {
        switch self {
        case .and(let a, let b): return a.matches(facts) && b.matches(facts)
        case .or(let a, let b): return a.matches(facts) || b.matches(facts)
        case .not(let a): return !a.matches(facts)
        case .exists(let subject): return !Self.values(subject, facts).isEmpty
        case .member(let subject, let list, let negated):
            let found = Self.values(subject, facts).contains { list.contains($0) }
            return negated ? !found : found
        case .compare(let subject, let op, let value):
            let values = Self.values(subject, facts)
            switch op {
            case .notEqual: return !values.contains(value)
            case .notMatches: return !values.contains { Wildcard.matches(value, $0) }
            default: return values.contains { Self.compare($0, op, value) }
            }
        }
    }

    static func values(_ subject: Subject, _ facts: InstanceFacts) -> [String] {
        switch subject {
        case .attribute(let name): facts.attributes[name].map { [$0] } ?? []
        case .ec2InstanceId: [facts.ec2InstanceId]
        case .registeredAt: [String(Int(facts.registeredAt.timeIntervalSince1970))]
        case .runningTasksCount: [String(facts.runningTasksCount)]
        case .taskGroup: Array(facts.taskGroups)
        }
    }

    static func compare(_ left: String, _ op: Comparison, _ right: String) -> Bool {
        switch op {
        case .equal: return left == right
        case .matches: return Wildcard.matches(right, left)
        case .notEqual, .notMatches: return false
        default:
            let ordering: Bool
            if let l = Double(left), let r = Double(right) {
                switch op {
                case .greater: ordering = l > r
                case .greaterOrEqual: ordering = l >= r
                case .less: ordering = l < r
                default: ordering = l <= r
                }
            } else {
                switch op {
                case .greater: ordering = left > right
                case .greaterOrEqual: ordering = left >= right
                case .less: ordering = left < right
                default: ordering = left <= right
                }
            }
            return ordering
        }
    }
}

extension ClusterQuery {
    /// Parses an expression; a bad one is an InvalidParameterException naming the position.
    public static func parse(_ text: String) throws(APIError) -> ClusterQuery {
        guard text.count <= 2000 else { throw .invalidParameter("Constraint expressions are limited to 2000 characters.") }
        var parser = Parser(text: text)
        let query = try parser.parseOr()
        guard parser.peek() == nil else { throw parser.error("unexpected '\(parser.peek()?.text ?? "")'") }
        return query
    }

    struct Token: Equatable {
        enum Kind: Equatable { case word, quoted, symbol }
        var kind: Kind
        var text: String
        var offset: Int
    }

    struct Parser {
        let text: String
        var tokens: [Token] = []
        var index = 0
        var lexError: APIError?

        init(text: String) {
            self.text = text
            do { tokens = try Self.lex(text) } catch { lexError = error as? APIError }
        }

        static func lex(_ text: String) throws -> [Token] {
            let chars = Array(text)
            var tokens: [Token] = []
            var i = 0
            let symbols = ["==", "!=", ">=", "<=", "=~", "!~", ">", "<", "(", ")", "[", "]", ","]
            while i < chars.count {
                let c = chars[i]
                if c.isWhitespace { i += 1; continue }
                if c == "'" || c == "\"" {
                    var j = i + 1
                    var value = ""
                    while j < chars.count && chars[j] != c { value.append(chars[j]); j += 1 }
                    guard j < chars.count else {
                        throw APIError.invalidParameter("Invalid constraint expression '\(text)': unterminated quote at position \(i + 1).")
                    }
                    tokens.append(Token(kind: .quoted, text: value, offset: i))
                    i = j + 1
                    continue
                }
                if let symbol = symbols.first(where: { s in
                    i + s.count <= chars.count && String(chars[i..<(i + s.count)]) == s
                }) {
                    tokens.append(Token(kind: .symbol, text: symbol, offset: i))
                    i += symbol.count
                    continue
                }
                var j = i
                var word = ""
                while j < chars.count, !chars[j].isWhitespace, !"()[],=!<>'\"".contains(chars[j]) {
                    word.append(chars[j]); j += 1
                }
                guard !word.isEmpty else {
                    throw APIError.invalidParameter("Invalid constraint expression '\(text)': unexpected '\(c)' at position \(i + 1).")
                }
                tokens.append(Token(kind: .word, text: word, offset: i))
                i = j
            }
            return tokens
        }

        func peek() -> Token? { index < tokens.count ? tokens[index] : nil }
        mutating func next() -> Token? { defer { index += 1 }; return peek() }

        func error(_ what: String) -> APIError {
            let position = (peek()?.offset ?? text.count) + 1
            return .invalidParameter("Invalid constraint expression '\(text)': \(what) at position \(position).")
        }

        func isKeyword(_ token: Token?, _ word: String) -> Bool {
            token?.kind == .word && token?.text.lowercased() == word
        }

        mutating func parseOr() throws(APIError) -> ClusterQuery {
            if let lexError { throw lexError }
            var left = try parseAnd()
            while isKeyword(peek(), "or") || peek()?.text == "||" { index += 1; left = .or(left, try parseAnd()) }
            return left
        }

        mutating func parseAnd() throws(APIError) -> ClusterQuery {
            var left = try parseUnary()
            while isKeyword(peek(), "and") || peek()?.text == "&&" { index += 1; left = .and(left, try parseUnary()) }
            return left
        }

        mutating func parseUnary() throws(APIError) -> ClusterQuery {
            if isKeyword(peek(), "not") {
                index += 1
                guard peek()?.text == "(" else { throw error("expected '(' after not") }
                index += 1
                let inner = try parseOr()
                guard next()?.text == ")" else { throw error("expected ')'") }
                return .not(inner)
            }
            if peek()?.text == "(" {
                index += 1
                let inner = try parseOr()
                guard next()?.text == ")" else { throw error("expected ')'") }
                return inner
            }
            return try parseComparison()
        }

        mutating func parseSubject() throws(APIError) -> Subject {
            guard let token = peek(), token.kind == .word else { throw error("expected an attribute or field") }
            index += 1
            let lower = token.text.lowercased()
            if lower.hasPrefix("attribute:") {
                let name = String(token.text.dropFirst("attribute:".count))
                guard !name.isEmpty else { throw error("attribute: needs a name") }
                return .attribute(name)
            }
            switch lower {
            case "ec2instanceid": return .ec2InstanceId
            case "registeredat": return .registeredAt
            case "runningtaskscount": return .runningTasksCount
            case "task:group": return .taskGroup
            default:
                index -= 1
                throw error("unknown field '\(token.text)' (use attribute:<name>, ec2InstanceId, registeredAt, runningTasksCount or task:group)")
            }
        }

        mutating func parseValue() throws(APIError) -> String {
            guard let token = peek(), token.kind != .symbol else { throw error("expected a value") }
            index += 1
            return token.text
        }

        mutating func parseComparison() throws(APIError) -> ClusterQuery {
            let subject = try parseSubject()
            if isKeyword(peek(), "exists") { index += 1; return .exists(subject) }
            var negated = false
            if isKeyword(peek(), "not"), isKeyword(index + 1 < tokens.count ? tokens[index + 1] : nil, "in") {
                negated = true
                index += 1
            }
            if isKeyword(peek(), "in") {
                index += 1
                guard next()?.text == "[" else { throw error("expected '[' after in") }
                var values: [String] = []
                while true {
                    values.append(try parseValue())
                    guard let separator = next() else { throw error("expected ',' or ']'") }
                    if separator.text == "]" { break }
                    guard separator.text == "," else { index -= 1; throw error("expected ',' or ']'") }
                }
                return .member(subject, values, negated: negated)
            }
            guard let token = peek(), token.kind == .symbol, let op = Comparison(rawValue: token.text) else {
                throw error("expected an operator (==, !=, >, >=, <, <=, =~, !~, in, exists)")
            }
            index += 1
            return .compare(subject, op, try parseValue())
        }
    }
}
