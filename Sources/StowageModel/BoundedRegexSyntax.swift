/// What a pattern means once read: the tree `BoundedRegexProgram` compiles. Captures are not kept (a parameter
/// check asks only whether a match exists), and lazy quantifiers read as greedy ones, which match the same texts.
indirect enum RegexNode: Sendable, Equatable {
    case empty
    case scalar(Unicode.Scalar)
    case set(ScalarSet)
    case assertion(RegexAssertion)
    case sequence([RegexNode])
    case alternation([RegexNode])
    case repetition(RegexNode, min: Int, max: Int?)
}

/// The zero-width tests, with ICU's meaning (as Java's): `$` and `\Z` also hold before a final line terminator.
enum RegexAssertion: Sendable, Equatable {
    case start, end, endOfLine, wordBoundary, notWordBoundary
}

/// Reads a pattern in the Java/ICU syntax SSM documents, refusing by name what an NFA cannot run in linear time
/// (backreferences, lookaround, atomic groups, possessive quantifiers) and what it does not implement, so nothing is
/// ever matched with a meaning the author did not write. Columns count Unicode scalars from 1.
struct RegexParser {
    /// Deeper nesting is refused: parsing and compiling recurse once per level.
    static let maxDepth = 64
    /// A count above this is refused outright; the program's size cap usually refuses far smaller ones.
    static let maxCount = 100_000

    let scalars: [Unicode.Scalar]
    var i = 0
    var depth = 0

    init(_ pattern: String) { scalars = Array(pattern.unicodeScalars) }

    static func parse(_ pattern: String) throws(BoundedRegex.Refusal) -> RegexNode {
        var parser = RegexParser(pattern)
        let node = try parser.alternation()
        if parser.i < parser.scalars.count { throw parser.refusal("unmatched ) at column \(parser.i + 1)", at: parser.i) }
        return node
    }

    func refusal(_ message: String, at index: Int) -> BoundedRegex.Refusal {
        BoundedRegex.Refusal(message: message, column: index + 1)
    }

    func peek(_ offset: Int = 0) -> Unicode.Scalar? { i + offset < scalars.count ? scalars[i + offset] : nil }

    mutating func alternation() throws(BoundedRegex.Refusal) -> RegexNode {
        var branches = [try sequence()]
        while peek() == "|" {
            i += 1
            branches.append(try sequence())
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    mutating func sequence() throws(BoundedRegex.Refusal) -> RegexNode {
        var items: [RegexNode] = []
        while let c = peek(), c != "|", c != ")" {
            let start = i
            if c == "\\", peek(1) == "Q" {
                // \Q…\E quotes a run of literals; a quantifier after it repeats only its last character, as in ICU.
                var quoted = try quotation()
                guard let last = quoted.popLast() else {
                    if let q = peek(), "*+?{".unicodeScalars.contains(q) { throw refusal("quantifier \(q) at column \(i + 1) has nothing to repeat", at: i) }
                    continue
                }
                items += quoted.map { .scalar($0) }
                items.append(try quantified(.scalar(last), atomStart: start))
                continue
            }
            let atom = try self.atom()
            items.append(try quantified(atom, atomStart: start))
        }
        return items.count == 1 ? items[0] : items.isEmpty ? .empty : .sequence(items)
    }

    mutating func quotation() throws(BoundedRegex.Refusal) -> [Unicode.Scalar] {
        i += 2
        var out: [Unicode.Scalar] = []
        while let c = peek() {
            if c == "\\", peek(1) == "E" { i += 2; return out }
            out.append(c)
            i += 1
        }
        return out
    }

    /// One atom: a literal, a set, an anchor, a group.
    mutating func atom() throws(BoundedRegex.Refusal) -> RegexNode {
        guard let c = peek() else { return .empty }
        switch c {
        case "(": return try group()
        case "[": return .set(try characterClass())
        case ".": i += 1; return .set(.dot)
        case "^": i += 1; return .assertion(.start)
        case "$": i += 1; return .assertion(.endOfLine)
        case "\\": return try escape()
        case "*", "+", "?", "{": throw refusal("quantifier \(c) at column \(i + 1) has nothing to repeat", at: i)
        default: i += 1; return .scalar(c)
        }
    }

    mutating func group() throws(BoundedRegex.Refusal) -> RegexNode {
        let open = i
        i += 1
        if peek() == "?" { try groupKind(open: open) }
        depth += 1
        guard depth <= Self.maxDepth else { throw refusal("groups nested deeper than \(Self.maxDepth) at column \(open + 1)", at: open) }
        let inner = try alternation()
        depth -= 1
        guard peek() == ")" else { throw refusal("unclosed group ( at column \(open + 1)", at: open) }
        i += 1
        return inner
    }

    /// After `(?`: accepts `(?:` and `(?<name>`; refuses the rest by name.
    mutating func groupKind(open: Int) throws(BoundedRegex.Refusal) {
        let column = open + 1
        switch peek(1) {
        case ":": i += 2
        case "=", "!": throw refusal("lookahead (?\(peek(1) ?? "=") at column \(column) is not supported: it cannot be matched in linear time", at: open)
        case ">": throw refusal("atomic group (?> at column \(column) is not supported: it cannot be matched in linear time", at: open)
        case "#": throw refusal("comment group (?# at column \(column) is not supported", at: open)
        case "<":
            if peek(2) == "=" || peek(2) == "!" {
                throw refusal("lookbehind (?<\(peek(2) ?? "=") at column \(column) is not supported: it cannot be matched in linear time", at: open)
            }
            var j = i + 2
            while j < scalars.count, scalars[j].isASCII, scalars[j].properties.isAlphabetic || ("0"..."9").contains(scalars[j]) { j += 1 }
            guard j > i + 2, j < scalars.count, scalars[j] == ">", scalars[i + 2].properties.isAlphabetic else {
                throw refusal("malformed group name after (?< at column \(column): a name is a letter then letters or digits, closed by >", at: open)
            }
            i = j + 1
        case let f? where "idmsuxwU-".unicodeScalars.contains(f):
            throw refusal("inline flags (?\(f) at column \(column) are not supported: write both cases, e.g. [Aa]", at: open)
        case let f?: throw refusal("unknown group construct (?\(f) at column \(column)", at: open)
        case nil: throw refusal("unclosed group ( at column \(column)", at: open)
        }
    }

    /// The quantifier after an atom, if any, applied to it.
    mutating func quantified(_ atom: RegexNode, atomStart: Int) throws(BoundedRegex.Refusal) -> RegexNode {
        guard let q = peek(), "*+?{".unicodeScalars.contains(q) else { return atom }
        let at = i
        if case .assertion = atom, scalars[atomStart] != "(" { throw refusal("quantifier \(q) at column \(at + 1) follows an anchor, which has nothing to repeat", at: at) }
        let bounds: (min: Int, max: Int?)
        switch q {
        case "*": i += 1; bounds = (0, nil)
        case "+": i += 1; bounds = (1, nil)
        case "?": i += 1; bounds = (0, 1)
        default: bounds = try counted()
        }
        switch peek() {
        case "?": i += 1
        case "+": throw refusal("possessive quantifier at column \(at + 1) is not supported: it cannot be matched in linear time", at: at)
        default: break
        }
        if let next = peek(), "*+?{".unicodeScalars.contains(next) {
            throw refusal("quantifier \(next) at column \(i + 1) follows another quantifier; wrap the repeated part in (?:…)", at: i)
        }
        return .repetition(atom, min: bounds.min, max: bounds.max)
    }

    /// `{n}`, `{n,}` or `{n,m}`.
    mutating func counted() throws(BoundedRegex.Refusal) -> (min: Int, max: Int?) {
        let open = i
        i += 1
        func malformed() -> BoundedRegex.Refusal {
            refusal("malformed repetition { at column \(open + 1): write {n}, {n,} or {n,m}, or \\{ for a literal brace", at: open)
        }
        guard let low = try number(open: open) else { throw malformed() }
        var high: Int? = low
        if peek() == "," {
            i += 1
            high = try number(open: open)
        }
        guard peek() == "}" else { throw malformed() }
        i += 1
        if let high, high < low { throw refusal("repetition {\(low),\(high)} at column \(open + 1) has its minimum above its maximum", at: open) }
        return (low, high)
    }

    mutating func number(open: Int) throws(BoundedRegex.Refusal) -> Int? {
        var value: Int?
        while let c = peek(), ("0"..."9").contains(c) {
            value = (value ?? 0) * 10 + Int(c.value - 48)
            guard value ?? 0 <= Self.maxCount else {
                throw refusal("repetition count at column \(open + 1) is above \(Self.maxCount)", at: open)
            }
            i += 1
        }
        return value
    }
}
