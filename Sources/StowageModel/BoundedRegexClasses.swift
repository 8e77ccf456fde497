/// A set of Unicode scalars one regex step consumes: `.`, `\d`, `[a-z\s]`, `[^…]`. Ranges are kept sorted and
/// merged so membership costs a binary search plus at most a few property tests, whatever the class's length.
struct ScalarSet: Sendable, Hashable {
    /// ICU's (not Java's ASCII-only) meaning of `\d`, `\w`, `\s`, and its line terminators, which `.` excludes.
    enum Property: Sendable, Hashable {
        case digit, word, space, lineTerminator

        func holds(_ s: Unicode.Scalar) -> Bool {
            let v = s.value
            switch self {
            case .digit: return v < 0x80 ? (0x30...0x39).contains(v) : s.properties.generalCategory == .decimalNumber
            case .word: return ScalarSet.isWord(s)
            case .space: return v < 0x80 ? v == 0x20 || (0x09...0x0D).contains(v) : s.properties.isWhitespace
            case .lineTerminator: return ScalarSet.isLineTerminator(s)
            }
        }
    }

    struct PropertyTest: Sendable, Hashable {
        var property: Property
        var negated: Bool
    }

    var ranges: [ClosedRange<UInt32>] = []
    var properties: [PropertyTest] = []
    var negated = false

    static let dot = ScalarSet(properties: [PropertyTest(property: .lineTerminator, negated: false)], negated: true)

    static func property(_ p: Property, negated: Bool) -> ScalarSet { ScalarSet(properties: [PropertyTest(property: p, negated: negated)]) }

    func contains(_ s: Unicode.Scalar) -> Bool {
        (inRanges(s.value) || properties.contains { $0.property.holds(s) != $0.negated }) != negated
    }

    private func inRanges(_ v: UInt32) -> Bool {
        var low = 0, high = ranges.count
        while low < high {
            let mid = (low + high) / 2
            if ranges[mid].upperBound < v { low = mid + 1 } else if ranges[mid].lowerBound > v { high = mid } else { return true }
        }
        return false
    }

    /// Sorted, overlapping and adjacent ranges merged, property tests without repeats.
    func normalized() -> ScalarSet {
        var merged: [ClosedRange<UInt32>] = []
        for r in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, r.lowerBound <= last.upperBound &+ 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
            } else {
                merged.append(r)
            }
        }
        var tests: [PropertyTest] = []
        for t in properties where !tests.contains(t) { tests.append(t) }
        return ScalarSet(ranges: merged, properties: tests, negated: negated)
    }

    /// ICU's `\w`: alphabetic, marks, decimal digits, connector punctuation, ZWNJ and ZWJ.
    static func isWord(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v < 0x80 { return (0x30...0x39).contains(v) || (0x41...0x5A).contains(v) || (0x61...0x7A).contains(v) || v == 0x5F }
        if v == 0x200C || v == 0x200D || s.properties.isAlphabetic { return true }
        switch s.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return false
        }
    }

    /// ICU's line terminators: LF, VT, FF, CR, NEL, LS, PS.
    static func isLineTerminator(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        return (0x0A...0x0D).contains(v) || v == 0x85 || v == 0x2028 || v == 0x2029
    }

    /// Characters ICU's `\b` looks through (a boundary never falls before one).
    static func isExtendOrFormat(_ s: Unicode.Scalar) -> Bool {
        s.value >= 0x80 && (s.properties.isGraphemeExtend || s.properties.generalCategory == .format)
    }
}

/// What one escape stands for.
enum RegexEscape {
    case scalar(Unicode.Scalar)
    case set(ScalarSet)
    case assertion(RegexAssertion)
}

extension RegexParser {
    mutating func escape() throws(BoundedRegex.Refusal) -> RegexNode {
        switch try escaped(inClass: false) {
        case .scalar(let s): return .scalar(s)
        case .set(let set): return .set(set)
        case .assertion(let a): return .assertion(a)
        }
    }

    /// Reads the escape at `i` (a backslash): Java's and ICU's literals and classes; refuses backreferences,
    /// properties and the escapes it does not implement, by name.
    mutating func escaped(inClass: Bool) throws(BoundedRegex.Refusal) -> RegexEscape {
        let at = i, column = i + 1
        guard let e = peek(1) else { throw refusal("the pattern ends with a lone \\ at column \(column)", at: at) }
        i += 2
        func notInClass(_ what: String) -> BoundedRegex.Refusal {
            refusal("\(what) \\\(e) at column \(column) cannot appear inside a character class", at: at)
        }
        switch e {
        case "d", "D": return .set(.property(.digit, negated: e == "D"))
        case "w", "W": return .set(.property(.word, negated: e == "W"))
        case "s", "S": return .set(.property(.space, negated: e == "S"))
        case "t": return .scalar("\t")
        case "n": return .scalar("\n")
        case "r": return .scalar("\r")
        case "f": return .scalar("\u{0C}")
        case "a": return .scalar("\u{07}")
        case "e": return .scalar("\u{1B}")
        case "c":
            guard let x = peek(), x.isASCII, x.properties.isAlphabetic else {
                throw refusal("\\c at column \(column) must be followed by a letter", at: at)
            }
            i += 1
            return .scalar(Unicode.Scalar(UInt8(x.value & 0x1F)))
        case "x", "u", "0": return .scalar(try numericEscape(e, at: at))
        case "b", "B":
            guard !inClass else { throw notInClass("word boundary") }
            return .assertion(e == "b" ? .wordBoundary : .notWordBoundary)
        case "A", "z", "Z":
            guard !inClass else { throw notInClass("anchor") }
            return .assertion(e == "A" ? .start : e == "z" ? .end : .endOfLine)
        case "1"..."9":
            throw refusal("backreference \\\(e) at column \(column) is not supported: backreferences cannot be matched in linear time", at: at)
        case "k":
            throw refusal("named backreference \\k at column \(column) is not supported: backreferences cannot be matched in linear time", at: at)
        case "p", "P":
            throw refusal("Unicode property class \\\(e){…} at column \(column) is not supported; write the characters as a class such as [A-Za-z]", at: at)
        case "Q": throw notInClass("quotation")
        case "E": throw refusal("\\E at column \(column) ends a quotation that \\Q did not open", at: at)
        default:
            if e.isASCII, e.properties.isAlphabetic || ("0"..."9").contains(e) {
                throw refusal("escape \\\(e) at column \(column) is not supported", at: at)
            }
            return .scalar(e)
        }
    }

    /// `\xhh`, `\x{h…}`, `\uhhhh`, `\0ooo`; `i` is just past the letter.
    mutating func numericEscape(_ kind: Unicode.Scalar, at: Int) throws(BoundedRegex.Refusal) -> Unicode.Scalar {
        let column = at + 1
        var value: UInt32 = 0
        switch kind {
        case "x" where peek() == "{":
            i += 1
            var digits = 0
            while let c = peek(), c != "}" {
                guard let d = Self.hexValue(c), digits < 6 else {
                    throw refusal("malformed \\x{…} at column \(column): write 1 to 6 hexadecimal digits", at: at)
                }
                value = value * 16 + d
                digits += 1
                i += 1
            }
            guard digits > 0, peek() == "}" else { throw refusal("malformed \\x{…} at column \(column): write 1 to 6 hexadecimal digits", at: at) }
            i += 1
        case "x", "u":
            let count = kind == "x" ? 2 : 4
            for _ in 0..<count {
                guard let c = peek(), let d = Self.hexValue(c) else {
                    throw refusal("malformed \\\(kind) at column \(column): write exactly \(count) hexadecimal digits", at: at)
                }
                value = value * 16 + d
                i += 1
            }
        default:
            var digits = 0
            while digits < 3, let c = peek(), ("0"..."7").contains(c), value * 8 + (c.value - 48) <= 0o377 {
                value = value * 8 + (c.value - 48)
                digits += 1
                i += 1
            }
            guard digits > 0 else { throw refusal("malformed octal escape \\0 at column \(column): write 1 to 3 octal digits", at: at) }
        }
        guard let scalar = Unicode.Scalar(value) else {
            throw refusal("escape at column \(column) names no Unicode scalar (a surrogate or beyond U+10FFFF)", at: at)
        }
        return scalar
    }

    static func hexValue(_ c: Unicode.Scalar) -> UInt32? {
        switch c {
        case "0"..."9": c.value - 48
        case "a"..."f": c.value - 87
        case "A"..."F": c.value - 55
        default: nil
        }
    }

    /// A bracketed class: literals, ranges, `\d`-style classes, negation with a leading `^`. ICU gives `[` `&&` and
    /// `--` inside a class set-algebra meanings Java spells differently, so those are refused rather than guessed.
    mutating func characterClass() throws(BoundedRegex.Refusal) -> ScalarSet {
        let open = i
        i += 1
        var set = ScalarSet()
        if peek() == "^" { set.negated = true; i += 1 }
        var first = true
        while true {
            guard let c = peek() else { throw refusal("unclosed character class [ at column \(open + 1)", at: open) }
            if c == "]" {
                guard !first else { throw refusal("empty character class at column \(open + 1); write \\] for a literal ]", at: open) }
                i += 1
                return set.normalized()
            }
            if c == "[" {
                throw refusal("nested class [ at column \(i + 1) is not supported; write \\[ for a literal [", at: i)
            }
            if (c == "&" && peek(1) == "&") || (c == "-" && peek(1) == "-") {
                throw refusal("class operator \(c)\(c) at column \(i + 1) is not supported; escape the characters", at: i)
            }
            if c == "-", !first, peek(1) != "]" {
                throw refusal("- at column \(i + 1) inside a class must come first or last, or be escaped as \\-", at: i)
            }
            try classItem(into: &set)
            first = false
        }
    }

    /// One literal, range or class escape inside brackets.
    mutating func classItem(into set: inout ScalarSet) throws(BoundedRegex.Refusal) {
        let start = i
        let low = try classAtom()
        guard peek() == "-", let after = peek(1), after != "]" else {
            switch low {
            case .scalar(let s): set.ranges.append(s.value...s.value)
            case .set(let inner): set.properties += inner.properties
            case .assertion: break
            }
            return
        }
        guard case .scalar(let lo) = low else {
            throw refusal("range at column \(start + 1) starts at a class escape; escape the - as \\-", at: start)
        }
        i += 1
        if after == "[" { throw refusal("nested class [ at column \(i + 1) is not supported; write \\[ for a literal [", at: i) }
        if after == "-" { throw refusal("class operator -- at column \(i) is not supported; escape the characters", at: i - 1) }
        guard case .scalar(let hi) = try classAtom() else {
            throw refusal("range at column \(start + 1) ends at a class escape; escape the - as \\-", at: start)
        }
        guard lo.value <= hi.value else { throw refusal("range \(lo)-\(hi) at column \(start + 1) is out of order", at: start) }
        set.ranges.append(lo.value...hi.value)
    }

    mutating func classAtom() throws(BoundedRegex.Refusal) -> RegexEscape {
        guard let c = peek() else { throw refusal("unclosed character class at column \(i)", at: i - 1) }
        if c == "\\" { return try escaped(inClass: true) }
        i += 1
        return .scalar(c)
    }
}
