/// A time series: epoch seconds → value.
public typealias TimeSeries = [Int64: Double]

/// CloudWatch metric math, the subset Stowage evaluates: numbers, query ids, `+ - * /`, parentheses,
/// arrays `[m1, m2]`, `METRICS()`, and `SUM`, `AVG`, `MIN`, `MAX` (across an array per timestamp,
/// or over a single series to a scalar).
public indirect enum MetricExpression: Sendable, Equatable {
    case number(Double)
    case reference(String)
    case negate(MetricExpression)
    case binary(Character, MetricExpression, MetricExpression)
    case array([MetricExpression])
    case function(String, [MetricExpression])

    public static let functions: Set<String> = ["SUM", "AVG", "MIN", "MAX", "METRICS"]

    /// The query ids the expression reads (so callers can check they exist and order evaluation).
    public var references: Set<String> {
        switch self {
        case .number: []
        case .reference(let id): [id]
        case .negate(let e): e.references
        case .binary(_, let a, let b): a.references.union(b.references)
        case .array(let items), .function(_, let items): items.reduce(into: Set()) { $0.formUnion($1.references) }
        }
    }

    public var usesAllMetrics: Bool {
        switch self {
        case .number, .reference: false
        case .negate(let e): e.usesAllMetrics
        case .binary(_, let a, let b): a.usesAllMetrics || b.usesAllMetrics
        case .array(let items): items.contains { $0.usesAllMetrics }
        case .function(let name, let items): name == "METRICS" || items.contains { $0.usesAllMetrics }
        }
    }
}

/// A metric math failure with the position it happened at, for the caller's error message.
public struct MetricMathError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// What an expression evaluates to.
public enum MetricMathValue: Sendable, Equatable {
    case scalar(Double)
    case series(TimeSeries)
    case array([TimeSeries])
}

public enum MetricMath {
    /// Parses an expression, or says where and why it is malformed.
    public static func parse(_ text: String) throws(MetricMathError) -> MetricExpression {
        var parser = Parser(chars: Array(text))
        let e = try parser.expression()
        parser.skipSpace()
        guard parser.at == parser.chars.count else {
            throw MetricMathError("Unexpected '\(parser.chars[parser.at])' at position \(parser.at + 1) of the expression.")
        }
        return e
    }

    /// Evaluates with the query ids' series; `all` is what METRICS() returns.
    public static func evaluate(_ e: MetricExpression, _ series: [String: TimeSeries], all: [TimeSeries])
        throws(MetricMathError) -> MetricMathValue
    {
        switch e {
        case .number(let n): return .scalar(n)
        case .reference(let id):
            guard let s = series[id] else { throw MetricMathError("Unknown query id \(id) in the expression.") }
            return .series(s)
        case .negate(let inner): return try combine("*", .scalar(-1), evaluate(inner, series, all: all))
        case .binary(let op, let a, let b): return try combine(op, evaluate(a, series, all: all), evaluate(b, series, all: all))
        case .array(let items):
            var out: [TimeSeries] = []
            for item in items {
                switch try evaluate(item, series, all: all) {
                case .series(let s): out.append(s)
                case .array(let inner): out.append(contentsOf: inner)
                case .scalar: throw MetricMathError("An array may only hold time series.")
                }
            }
            return .array(out)
        case .function(let name, let args):
            if name == "METRICS" {
                guard args.isEmpty else { throw MetricMathError("METRICS() takes no arguments.") }
                return .array(all)
            }
            guard args.count == 1 else { throw MetricMathError("\(name) takes exactly one argument.") }
            return try reduce(name, evaluate(args[0], series, all: all))
        }
    }

    static func reduce(_ name: String, _ value: MetricMathValue) throws(MetricMathError) -> MetricMathValue {
        func fold(_ values: [Double]) -> Double? {
            guard !values.isEmpty else { return nil }
            switch name {
            case "SUM": return values.reduce(0, +)
            case "AVG": return values.reduce(0, +) / Double(values.count)
            case "MIN": return values.min()
            default: return values.max()
            }
        }
        switch value {
        case .scalar(let s): return .scalar(s)
        case .series(let s):
            guard let v = fold(Array(s.values)) else { return .series([:]) }
            return .scalar(v)
        case .array(let list):
            var byTime: [Int64: [Double]] = [:]
            for s in list { for (t, v) in s { byTime[t, default: []].append(v) } }
            return .series(byTime.compactMapValues(fold))
        }
    }

    static func apply(_ op: Character, _ a: Double, _ b: Double) -> Double? {
        switch op {
        case "+": return a + b
        case "-": return a - b
        case "*": return a * b
        default: return b == 0 ? nil : a / b
        }
    }

    static func combine(_ op: Character, _ a: MetricMathValue, _ b: MetricMathValue) throws(MetricMathError) -> MetricMathValue {
        switch (a, b) {
        case (.scalar(let x), .scalar(let y)):
            guard let v = apply(op, x, y) else { throw MetricMathError("Division by zero in the expression.") }
            return .scalar(v)
        case (.series(let s), .scalar(let y)): return .series(s.compactMapValues { apply(op, $0, y) })
        case (.scalar(let x), .series(let s)): return .series(s.compactMapValues { apply(op, x, $0) })
        case (.series(let s), .series(let t)):
            var out: TimeSeries = [:]
            for (time, x) in s { if let y = t[time], let v = apply(op, x, y) { out[time] = v } }
            return .series(out)
        case (.array(let list), .scalar(let y)): return .array(list.map { $0.compactMapValues { apply(op, $0, y) } })
        case (.scalar(let x), .array(let list)): return .array(list.map { $0.compactMapValues { apply(op, x, $0) } })
        default: throw MetricMathError("Arithmetic between arrays of time series is not supported; reduce them with SUM, AVG, MIN or MAX.")
        }
    }

    struct Parser {
        let chars: [Character]
        var at = 0

        mutating func skipSpace() { while at < chars.count, chars[at].isWhitespace { at += 1 } }
        mutating func peek() -> Character? { skipSpace(); return at < chars.count ? chars[at] : nil }

        mutating func expression() throws(MetricMathError) -> MetricExpression {
            var left = try term()
            while let c = peek(), c == "+" || c == "-" {
                at += 1
                left = .binary(c, left, try term())
            }
            return left
        }

        mutating func term() throws(MetricMathError) -> MetricExpression {
            var left = try unary()
            while let c = peek(), c == "*" || c == "/" {
                at += 1
                left = .binary(c, left, try unary())
            }
            return left
        }

        mutating func unary() throws(MetricMathError) -> MetricExpression {
            if peek() == "-" { at += 1; return .negate(try unary()) }
            return try primary()
        }

        mutating func primary() throws(MetricMathError) -> MetricExpression {
            guard let c = peek() else { throw MetricMathError("The expression ends where a value was expected.") }
            let position = at + 1
            if c == "(" {
                at += 1
                let e = try expression()
                guard peek() == ")" else { throw MetricMathError("Missing ')' at position \(at + 1) of the expression.") }
                at += 1
                return e
            }
            if c == "[" {
                at += 1
                let items = try list(closing: "]")
                guard !items.isEmpty else { throw MetricMathError("Empty array at position \(position) of the expression.") }
                return .array(items)
            }
            if c.isNumber || c == "." {
                var text = ""
                while at < chars.count, chars[at].isNumber || chars[at] == "." || chars[at] == "e" || chars[at] == "E" { text.append(chars[at]); at += 1 }
                guard let n = Double(text) else { throw MetricMathError("Bad number '\(text)' at position \(position) of the expression.") }
                return .number(n)
            }
            guard c.isLetter else { throw MetricMathError("Unexpected '\(c)' at position \(position) of the expression.") }
            var name = ""
            while at < chars.count, chars[at].isLetter || chars[at].isNumber || chars[at] == "_" { name.append(chars[at]); at += 1 }
            if peek() == "(" {
                guard MetricExpression.functions.contains(name) else {
                    throw MetricMathError("Unknown function \(name) at position \(position); supported: SUM, AVG, MIN, MAX, METRICS.")
                }
                at += 1
                return .function(name, try list(closing: ")"))
            }
            guard let first = name.first, first.isLowercase else {
                throw MetricMathError("'\(name)' at position \(position) is not a query id (ids start with a lowercase letter).")
            }
            return .reference(name)
        }

        mutating func list(closing: Character) throws(MetricMathError) -> [MetricExpression] {
            var items: [MetricExpression] = []
            if peek() == closing { at += 1; return items }
            while true {
                items.append(try expression())
                guard let c = peek() else { throw MetricMathError("Missing '\(closing)' at the end of the expression.") }
                at += 1
                if c == closing { return items }
                guard c == "," else { throw MetricMathError("Expected ',' or '\(closing)' at position \(at) of the expression.") }
            }
        }
    }
}
