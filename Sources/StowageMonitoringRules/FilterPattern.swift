import Foundation
import StowageModel

/// A CloudWatch Logs filter pattern: terms, quoted phrases, `?alternatives`, `-exclusions`, or a JSON
/// selector pattern like `{ $.level = "error" && $.latency > 100 }`.
public enum FilterPattern: Sendable, Equatable {
    case all
    case terms(required: [String], anyOf: [String], excluded: [String])
    case json(JSONCondition)

    /// Substrings every matching line contains, so the store can narrow its scan before matching.
    public var requiredSubstrings: [String] {
        if case .terms(let required, _, _) = self { return required }
        return []
    }

    public func matches(_ message: String) -> Bool {
        switch self {
        case .all: return true
        case .terms(let required, let anyOf, let excluded):
            return required.allSatisfy { LiteralSearch.contains(message, $0) }
                && (anyOf.isEmpty || anyOf.contains { LiteralSearch.contains(message, $0) })
                && !excluded.contains { LiteralSearch.contains(message, $0) }
        case .json(let condition):
            guard let first = message.first(where: { !$0.isWhitespace }), first == "{" || first == "[",
                  let object = try? JSONDecoder().decode(JSONValue.self, from: Data(message.utf8))
            else { return false }
            return condition.holds(object)
        }
    }

    /// AWS's limit on a filter pattern's length; it also bounds the JSON parser's recursion.
    public static let maxLength = 1024

    /// Parses a pattern, or says where and why it is malformed.
    public static func parse(_ text: String) throws(FilterPatternError) -> FilterPattern {
        guard text.count <= maxLength else { throw FilterPatternError("A filter pattern is at most \(maxLength) characters.") }
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty || trimmed == "\"\"" { return .all }
        if trimmed.hasPrefix("{") {
            var p = JSONPatternParser(chars: Array(trimmed))
            return .json(try p.pattern())
        }
        if trimmed.hasPrefix("[") {
            throw FilterPatternError("Space-delimited patterns ([a, b, ...]) are not supported; use terms or a JSON pattern.")
        }
        var required: [String] = [], anyOf: [String] = [], excluded: [String] = []
        let chars = Array(trimmed)
        var i = 0
        while i < chars.count {
            if chars[i].isWhitespace { i += 1; continue }
            var prefix: Character?
            if chars[i] == "?" || chars[i] == "-" { prefix = chars[i]; i += 1 }
            var term = ""
            if i < chars.count, chars[i] == "\"" {
                let start = i + 1
                i += 1
                while i < chars.count, chars[i] != "\"" { term.append(chars[i]); i += 1 }
                guard i < chars.count else { throw FilterPatternError("Unterminated quoted phrase starting at position \(start).") }
                i += 1
            } else {
                while i < chars.count, !chars[i].isWhitespace {
                    if chars[i] == "\"" { throw FilterPatternError("Unexpected quote at position \(i + 1).") }
                    term.append(chars[i]); i += 1
                }
            }
            guard !term.isEmpty else { throw FilterPatternError("Empty term at position \(i).") }
            switch prefix {
            case "?": anyOf.append(term)
            case "-": excluded.append(term)
            default: required.append(term)
            }
        }
        return .terms(required: required, anyOf: anyOf, excluded: excluded)
    }
}

public struct FilterPatternError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A JSON selector condition, tested against a decoded log line.
public indirect enum JSONCondition: Sendable, Equatable {
    case and(JSONCondition, JSONCondition)
    case or(JSONCondition, JSONCondition)
    case compare(path: [JSONPathStep], op: String, value: JSONLiteral)
    case isLiteral(path: [JSONPathStep], value: JSONLiteral)
    case exists(path: [JSONPathStep], negated: Bool)

    func holds(_ root: JSONValue) -> Bool {
        switch self {
        case .and(let a, let b): return a.holds(root) && b.holds(root)
        case .or(let a, let b): return a.holds(root) || b.holds(root)
        case .exists(let path, let negated): return (Self.resolve(path, root) != nil) != negated
        case .isLiteral(let path, let value):
            switch (Self.resolve(path, root), value) {
            case (.null?, .null): return true
            case (.bool(let found)?, .bool(let b)): return found == b
            default: return false
            }
        case .compare(let path, let op, let value):
            guard let found = Self.resolve(path, root) else { return false }
            switch (found, value) {
            case (.number(let n), .number(let expected)): return Self.compare(n, op, expected)
            case (.string(let s), .number(let expected)):
                guard let n = Double(s) else { return op == "!=" }
                return Self.compare(n, op, expected)
            case (_, .string(let pattern)):
                let text: String
                switch found {
                case .string(let s): text = s
                case .number(let n): text = n.rounded() == n && abs(n) < 1e15 ? String(Int64(n)) : String(n)
                case .bool(let b): text = b ? "true" : "false"
                default: return op == "!="
                }
                let equal = Wildcard.matches(pattern, text, questionMark: false)
                return op == "=" ? equal : !equal
            default: return false
            }
        }
    }

    static func compare(_ a: Double, _ op: String, _ b: Double) -> Bool {
        switch op {
        case "=": a == b
        case "!=": a != b
        case "<": a < b
        case "<=": a <= b
        case ">": a > b
        default: a >= b
        }
    }

    static func resolve(_ path: [JSONPathStep], _ root: JSONValue) -> JSONValue? {
        var current = root
        for step in path {
            switch (step, current) {
            case (.key(let k), .object(let object)):
                guard let next = object[k] else { return nil }
                current = next
            case (.index(let i), .array(let array)):
                guard i >= 0, i < array.count else { return nil }
                current = array[i]
            default: return nil
            }
        }
        return current
    }
}

public enum JSONPathStep: Sendable, Equatable {
    case key(String)
    case index(Int)
}

public enum JSONLiteral: Sendable, Equatable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case null
}

struct JSONPatternParser {
    let chars: [Character]
    var at = 0
    /// Parentheses open around `at`; each level is three stack frames here and more when the condition is tested.
    var depth = 0

    mutating func skip() { while at < chars.count, chars[at].isWhitespace { at += 1 } }
    func error(_ what: String) -> FilterPatternError { FilterPatternError("\(what) at position \(min(at, chars.count) + 1) of the filter pattern.") }

    mutating func pattern() throws(FilterPatternError) -> JSONCondition {
        at += 1
        let c = try or()
        skip()
        guard at < chars.count, chars[at] == "}" else { throw error("Expected '}'") }
        at += 1
        skip()
        guard at == chars.count else { throw error("Unexpected text after '}'") }
        return c
    }

    mutating func take(_ text: String) -> Bool {
        skip()
        let t = Array(text)
        guard at + t.count <= chars.count, Array(chars[at..<at + t.count]) == t else { return false }
        at += t.count
        return true
    }

    mutating func or() throws(FilterPatternError) -> JSONCondition {
        var left = try and()
        while take("||") { left = .or(left, try and()) }
        return left
    }

    mutating func and() throws(FilterPatternError) -> JSONCondition {
        var left = try primary()
        while take("&&") { left = .and(left, try primary()) }
        return left
    }

    mutating func primary() throws(FilterPatternError) -> JSONCondition {
        if take("(") {
            depth += 1
            guard depth <= 32 else { throw error("Parentheses nested deeper than 32") }
            let c = try or()
            guard take(")") else { throw error("Expected ')'") }
            depth -= 1
            return c
        }
        let path = try selector()
        if take("IS") {
            if take("TRUE") { return .isLiteral(path: path, value: .bool(true)) }
            if take("FALSE") { return .isLiteral(path: path, value: .bool(false)) }
            if take("NULL") { return .isLiteral(path: path, value: .null) }
            throw error("Expected TRUE, FALSE or NULL after IS")
        }
        if take("NOT EXISTS") { return .exists(path: path, negated: true) }
        if take("EXISTS") { return .exists(path: path, negated: false) }
        var op = ""
        for candidate in ["!=", "<=", ">=", "=", "<", ">"] where take(candidate) { op = candidate; break }
        guard !op.isEmpty else { throw error("Expected a comparison operator (=, !=, <, <=, >, >=)") }
        let value = try literal()
        if case .string = value, !["=", "!="].contains(op) { throw error("Operator \(op) needs a number") }
        return .compare(path: path, op: op, value: value)
    }

    mutating func selector() throws(FilterPatternError) -> [JSONPathStep] {
        skip()
        guard at < chars.count, chars[at] == "$" else { throw error("Expected a selector starting with $") }
        at += 1
        var path: [JSONPathStep] = []
        while at < chars.count {
            if chars[at] == "." {
                at += 1
                var name = ""
                while at < chars.count, chars[at].isLetter || chars[at].isNumber || chars[at] == "_" || chars[at] == "-" || chars[at] == "@" {
                    name.append(chars[at]); at += 1
                }
                guard !name.isEmpty else { throw error("Expected a field name after '.'") }
                path.append(.key(name))
            } else if chars[at] == "[" {
                at += 1
                var digits = ""
                while at < chars.count, chars[at].isNumber { digits.append(chars[at]); at += 1 }
                guard let i = Int(digits), at < chars.count, chars[at] == "]" else { throw error("Expected an array index like [0]") }
                at += 1
                path.append(.index(i))
            } else { break }
        }
        guard !path.isEmpty else { throw error("A selector needs at least one field, like $.level") }
        return path
    }

    mutating func literal() throws(FilterPatternError) -> JSONLiteral {
        skip()
        guard at < chars.count else { throw error("Expected a value") }
        if chars[at] == "\"" {
            at += 1
            var s = ""
            while at < chars.count, chars[at] != "\"" {
                if chars[at] == "\\", at + 1 < chars.count { at += 1 }
                s.append(chars[at]); at += 1
            }
            guard at < chars.count else { throw error("Unterminated string") }
            at += 1
            return .string(s)
        }
        var token = ""
        while at < chars.count, !chars[at].isWhitespace, !"&|)}".contains(chars[at]) { token.append(chars[at]); at += 1 }
        guard !token.isEmpty else { throw error("Expected a value") }
        if let n = Double(token) { return .number(n) }
        return .string(token)
    }
}
