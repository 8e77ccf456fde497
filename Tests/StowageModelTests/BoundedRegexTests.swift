import Foundation
import PropertyBased
import StowageModel
import Testing

/// The tenant-pattern matcher: the syntax it reads (checked against ICU, which the SSM check used before), what it
/// refuses and where, and that its cost stays within instructions × (text length + 1) however the pattern backtracks
/// in ICU.
@Suite struct BoundedRegexTests {
    /// ICU's answer (NSRegularExpression, searching), nil when ICU refuses the pattern.
    static func icu(_ pattern: String, _ text: String) -> Bool? {
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return nil }
        return regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    static func found(_ pattern: String, _ text: String) throws -> Bool? { try BoundedRegex(pattern).search(text).found }

    static let supported: [(pattern: String, text: String, found: Bool)] = [
        // literals, search semantics, anchors
        ("abc", "xxabcxx", true), ("abc", "ab", false), ("^abc", "abcd", true), ("^abc", "xabc", false),
        ("abc$", "xabc", true), ("abc$", "abcx", false), ("^$", "", true), ("^$", "x", false),
        ("abc$", "abc\n", true), ("abc$", "abc\r\n", true), ("abc$", "abc\n\n", false), ("abc\\Z", "abc\n", true),
        ("abc\\z", "abc\n", false), ("abc\\z", "abc", true), ("\\Aabc", "abc", true), ("\\Aabc", "xabc", false),
        // dot and line terminators
        ("a.c", "abc", true), ("a.c", "a\nc", false), ("a.c", "a\u{2028}c", false), ("a.c", "aéc", true), ("a.c", "a😀c", true),
        // escapes
        ("\\d+", "ab12", true), ("^\\d+$", "12a", false), ("^\\d$", "\u{0663}", true), ("^\\D$", "x", true),
        ("^\\w+$", "héllo_1", true), ("^\\w$", "-", false), ("^\\W$", "-", true), ("^\\s$", "\u{00A0}", true),
        ("^\\s$", "\t", true), ("^\\S$", " ", false), ("a\\.b", "a.b", true), ("a\\.b", "axb", false),
        ("\\t\\n\\r", "\t\n\r", true), ("\\x41\\u0062", "Ab", true), ("\\x{1F600}", "😀", true), ("\\0101", "A", true),
        ("\\cA", "\u{01}", true), ("\\e\\f\\a", "\u{1B}\u{0C}\u{07}", true), ("\\Q.*\\E", "x.*", true), ("\\Q.*\\E", "xx", false),
        ("\\Qab\\E+", "abbb", true), ("\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|\\^\\$\\\\\\/", "*+?()[]{}|^$\\/", true),
        // classes
        ("^[abc]+$", "cab", true), ("^[a-z0-9_-]+$", "ok-1_x", true), ("^[a-z]+$", "Nope", false), ("^[^a-z]+$", "ABC1", true),
        ("^[^a-z]$", "\n", true), ("^[\\d\\s]+$", "1 2", true), ("^[^\\D]$", "7", true), ("^[-a]+$", "-a-", true),
        ("^[a-]+$", "a-", true), ("^[\\]\\[]+$", "][", true), ("^[.]$", "x", false), ("^[.]$", ".", true), ("^[é-ë]$", "ê", true),
        ("^[\\x41-\\x43]+$", "ABC", true), ("^[\\w.@]+$", "me@x.io", true), ("[&]", "a&b", true), ("^[a^]+$", "^a", true),
        // groups and alternation
        ("^(ab)+$", "ababab", true), ("^(?:ab)+$", "ababa", false), ("^(?<name>ab|cd)$", "cd", true), ("^(a|b|)c$", "c", true),
        ("cat|dog", "hotdog", true), ("^(cat|dog)$", "hotdog", false), ("^()$", "", true), ("^(a|ab)(c|bcd)(d*)$", "abcd", true),
        // quantifiers, greedy and lazy alike
        ("^a*$", "", true), ("^a+$", "", false), ("^ab?c$", "ac", true), ("^a{3}$", "aaa", true), ("^a{3}$", "aaaa", false),
        ("^a{2,}$", "aaaaa", true), ("^a{2,}$", "a", false), ("^a{2,3}$", "aaa", true), ("^a{2,3}$", "aaaa", false),
        ("^a{0}b$", "b", true), ("^a*?b$", "aab", true), ("^a+?$", "aa", true), ("^a??b$", "ab", true), ("^a{1,2}?$", "aa", true),
        ("^(a*)*$", "aaaa", true), ("^(a?){3}a{3}$", "aaa", true), ("^(?:a|b)*?c", "ababc", true),
        // word boundaries, ICU-style around combining marks
        ("\\bcat\\b", "a cat!", true), ("\\bcat\\b", "concat", false), ("\\Bcat", "concat", true), ("e\\b", "e\u{0301}x", false),
        // what people write in AllowedPattern
        ("^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{2,}$", "ops@example.com", true),
        ("^(https?://)?[\\w.-]+(:\\d{1,5})?(/\\S*)?$", "https://db.internal:5432/x", true),
        ("^\\d{4}-\\d{2}-\\d{2}$", "2024-01-31", true),
    ]

    @Test func supportedSyntaxMatchesAsICUDoes() throws {
        for (pattern, text, expected) in Self.supported {
            #expect(try Self.found(pattern, text) == expected, "\(pattern) on \(text.debugDescription)")
            #expect(Self.icu(pattern, text) == expected, "ICU disagrees with the table on \(pattern)")
        }
        // ICU refuses the empty pattern (and so does the SSM check); as a regex it matches everywhere.
        #expect(try Self.found("", "anything") == true && Self.icu("", "anything") == nil)
    }

    static let refused: [(pattern: String, says: String, column: Int)] = [
        ("(a)\\1", "backreference \\1", 4), ("(?<n>a)\\k<n>", "named backreference", 8), ("a(?=b)", "lookahead (?=", 2),
        ("a(?!b)", "lookahead (?!", 2), ("(?<=a)b", "lookbehind (?<=", 1), ("(?<!a)b", "lookbehind (?<!", 1),
        ("(?>a+)b", "atomic group", 1), ("a*+b", "possessive quantifier", 2), ("a{2}+", "possessive quantifier", 2),
        ("(?i)abc", "inline flags (?i", 1), ("(?s:a.)", "inline flags (?s", 1), ("(?#note)a", "comment group", 1),
        ("\\p{L}", "Unicode property class \\p", 1), ("\\P{Lu}", "Unicode property class \\P", 1), ("\\R", "escape \\R", 1),
        ("\\G", "escape \\G", 1), ("\\X", "escape \\X", 1), ("(abc", "unclosed group ( at column 1", 1), ("abc)", "unmatched )", 4),
        ("[abc", "unclosed character class", 1), ("[]a]", "empty character class", 1), ("[a[b]]", "nested class [", 3),
        ("[a-z&&[^m]]", "class operator &&", 5), ("[a--z]", "class operator --", 3), ("[z-a]", "range z-a at column 2 is out of order", 2),
        ("[a-c-e]", "- at column 5", 5), ("[\\d-z]", "starts at a class escape", 2), ("[\\b]", "word boundary \\b", 2),
        ("*a", "quantifier * at column 1 has nothing to repeat", 1), ("a**", "follows another quantifier", 3),
        ("^*", "follows an anchor", 2), ("a{", "malformed repetition", 2), ("a{,3}", "malformed repetition", 2),
        ("a{3,1}", "minimum above its maximum", 2), ("a{999999}", "above 100000", 2), ("\\", "lone \\", 1),
        ("\\xZZ", "malformed \\x", 1), ("\\u12", "malformed \\u", 1), ("\\uD800", "names no Unicode scalar", 1),
        ("\\0", "malformed octal", 1), ("\\E", "\\E at column 1", 1), ("(?P<n>a)", "unknown group construct (?P", 1),
        ("(?<1>a)", "malformed group name", 1), ("(?", "unclosed group", 1), ("\\cé", "\\c at column 1", 1),
        (String(repeating: "(", count: 65) + String(repeating: ")", count: 65), "nested deeper than 64", 65),
        ("((a{1,100}){1,100}){1,100}", "too complex", 1), ("(a{1000}){1000}", "too complex", 1),
    ]

    @Test func refusedConstructsAreNamedWithTheirColumn() {
        for (pattern, says, column) in Self.refused {
            do {
                let regex = try BoundedRegex(pattern)
                Issue.record("\(pattern) was accepted (\(regex.instructionCount) instructions)")
            } catch {
                #expect(error.message.contains(says), "\(pattern): \(error.message)")
                #expect(error.column == column, "\(pattern): column \(error.column), \(error.message)")
            }
        }
    }

    /// Patterns that make a backtracking engine explore exponentially many paths, against texts long enough that
    /// ICU would take seconds or give up: the step count stays within instructions × (text length + 1).
    @Test(arguments: [
        ("^(a|a)*$", String(repeating: "a", count: 30) + "!", false),
        ("^(a|a)*$", String(repeating: "a", count: 4000) + "!", false),
        ("(a*)*b", String(repeating: "a", count: 4000), false),
        ("(x+x+)+y", String(repeating: "x", count: 3000), false),
        ("^(a|aa)+$", String(repeating: "a", count: 4000), true),
        ("^((a{1,10}){1,10}){1,10}$", String(repeating: "a", count: 2000) + "!", false),
        ("^(\\w+\\s?)*$", String(repeating: "word ", count: 800) + "!", false),
        ("(.*a){12}", String(repeating: "a", count: 11) + String(repeating: "b", count: 3000), false),
    ])
    func catastrophicPatternsStayLinear(_ pattern: String, _ text: String, _ expected: Bool) throws {
        let regex = try BoundedRegex(pattern)
        let search = regex.search(text)
        #expect(search.found == expected)
        let bound = regex.instructionCount * (text.unicodeScalars.count + 1)
        #expect(search.steps <= bound, "\(pattern): \(search.steps) steps, bound \(bound)")
        #expect(regex.instructionCount <= BoundedRegex.maxInstructions)
    }

    /// Linear is not cheap when thousands of states stay live over a long value: a caller's budget stops the search,
    /// within one position's work of it.
    @Test func aBudgetStopsTheSearch() throws {
        let regex = try BoundedRegex("(?:[a-z]?){500}!")
        let text = String(repeating: "a", count: 2000)
        let stopped = regex.search(text, budget: 100_000)
        #expect(stopped.found == nil)
        #expect(stopped.steps <= 100_000 + regex.instructionCount)
        #expect(regex.search(String(repeating: "a", count: 20) + "!", budget: 100_000).found == true)
    }

    /// Patterns people write for parameter values, each on an 8 KiB value it matches or almost matches: all answer
    /// within half of `ParameterRules.patternBudget` (25,000 to 53,000 steps when it was chosen), while a pattern that
    /// keeps hundreds of states alive at every position runs out of it.
    @Test func legitimatePatternsFitTheBudgetOn8KiBValues() throws {
        let n = 8192
        let word = String(repeating: "abcdefgh", count: n / 8)
        let cases: [(String, String, Bool)] = [
            ("^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{2,}$", String(word.prefix(n - 12)) + "@example.com", true),
            ("^https?://[^\\s/$.?#].[^\\s]*$", "https://example.com/" + String(word.prefix(n - 20)), true),
            ("^[A-Za-z0-9+/]+={0,2}$", String(word.prefix(n - 2)) + "==", true),
            ("^-----BEGIN [A-Z ]+-----[\\s\\S]+-----END [A-Z ]+-----\\s*$",
             "-----BEGIN CERTIFICATE-----\n" + String(word.prefix(n - 60)) + "\n-----END CERTIFICATE-----\n", true),
            ("^[\\x20-\\x7E]*$", word, true),
            ("^\\{.*\\}$", "{" + String(word.prefix(n - 2)) + "}", true),
            ("^([a-z0-9-]+,)*[a-z0-9-]+$", String(repeating: "abc-12,", count: n / 7) + "x", true),
            ("^[^\\s]+$", word, true),
            ("^(\\w+\\s?)*$", String(repeating: "word ", count: n / 5), true),
            ("^.{0,1000}$", word, false),
            ("[Pp]assword|[Ss]ecret|[Tt]oken", word, false),
            ("^[a-z]+(-[a-z]+)*$", String(repeating: "abc-", count: n / 4) + "z", true),
        ]
        for (pattern, value, matches) in cases {
            let search = try BoundedRegex(pattern).search(value, budget: ParameterRules.patternBudget)
            #expect(search.found == matches, "\(pattern)")
            #expect(search.steps <= ParameterRules.patternBudget / 2, "\(pattern): \(search.steps) steps")
        }
        let costly = try BoundedRegex(".{0,600}.{0,600}z").search(String(repeating: "a", count: 8000), budget: ParameterRules.patternBudget)
        #expect(costly.found == nil)
    }

    /// SSM's AllowedPattern check names what it refused, and never the value.
    @Test func parameterPatternErrors() {
        func code(_ pattern: String, _ value: String) -> APIError? {
            do { try ParameterRules.checkPattern(pattern, value: value) } catch { return error }
            return nil
        }
        #expect(code("^\\d+$", "123") == nil)
        #expect(code("^\\d+$", "12a")?.code == "ParameterPatternMismatchException")
        #expect(code("^(a|a)*$", String(repeating: "a", count: 30) + "!")?.code == "ParameterPatternMismatchException")
        let refused = code("^(a)\\1$", "aa")
        #expect(refused?.code == "InvalidAllowedPatternException" && refused?.message.contains("backreference \\1 at column 5") == true)
        #expect(code("", "x")?.code == "InvalidAllowedPatternException")
        let costly = code("(?:[a-z]?){1990}!", String(repeating: "s3cr3t", count: 1300))
        #expect(costly?.code == "ValidationException" && costly?.message.contains("too costly") == true)
        #expect(costly?.message.contains("s3cr3t") == false)
    }

    /// Random patterns from the supported syntax, built from a stream of choices, against random short texts: the
    /// matcher and ICU agree on every one, and ICU accepts every pattern the generator writes.
    @Test func agreesWithICUOnRandomPatterns() async {
        let scalar = Gen.int(in: 0...(Self.alphabet.count - 1)).map { Self.alphabet[$0] }
        let texts = scalar.array(of: 0...8).map { String(String.UnicodeScalarView($0)) }.array(of: 6)
        await propertyCheck(count: 600, input: Gen.int(in: 0...999).array(of: 1...30), texts) { choices, texts in
            var builder = PatternBuilder(choices: choices)
            let pattern = builder.alternation(depth: 0)
            guard !pattern.isEmpty else { return }
            guard let regex = try? BoundedRegex(pattern) else {
                Issue.record("refused generated pattern \(pattern.debugDescription)")
                return
            }
            for text in texts {
                let icu = Self.icu(pattern, text)
                #expect(icu != nil, "ICU refused \(pattern.debugDescription)")
                guard let icu else { return }
                let ours = regex.search(text)
                #expect(ours.found == icu, "\(pattern.debugDescription) on \(text.debugDescription): ICU \(icu)")
                #expect(ours.steps <= regex.instructionCount * (text.unicodeScalars.count + 1))
            }
        }
    }

    static let alphabet: [Unicode.Scalar] = ["a", "b", "a", "b", "1", " ", "_", "-", ".", "\n", "\r", "é", "\u{0663}", "\u{0301}", "\u{00A0}", "x"]

    /// Writes a pattern from a stream of choices (zero once the stream runs out, which ends every repetition).
    struct PatternBuilder {
        let choices: [Int]
        var k = 0

        mutating func pick(_ n: Int) -> Int {
            defer { k += 1 }
            return k < choices.count ? choices[k] % n : 0
        }

        mutating func alternation(depth: Int) -> String {
            var branches = [sequence(depth: depth)]
            while depth < 3, pick(4) == 3 { branches.append(sequence(depth: depth)) }
            return branches.joined(separator: "|")
        }

        mutating func sequence(depth: Int) -> String {
            var out = ""
            for _ in 0..<pick(4) { out += item(depth: depth) }
            return out
        }

        static let literals = ["a", "b", "1", " ", "_", "-", "x", "é", "\\.", "\\-", "\\n", "\\r", "\\x61", "\\u0062", "\\*", "\\Qa.\\E"]
        static let escapes = [".", "\\d", "\\D", "\\w", "\\W", "\\s", "\\S"]
        static let anchors = ["^", "$", "\\A", "\\z", "\\Z", "\\b", "\\B"]
        static let quantifiers = ["*", "+", "?", "{2}", "{0,2}", "{1,}", "{1,3}"]
        /// Only on single atoms: ICU takes seconds on eight characters for a lazy quantifier over a group that can
        /// match empty (`(a?)+?b`: 9.5 s), and `(?:)+?\n|` then misses its empty branch; BoundedRegex does neither.
        static let lazyQuantifiers = ["*?", "+?", "??", "{0,2}?", "{1,3}?"]
        static let classItems = ["a", "b-d", "0-9", "\\d", "\\s", "\\W", "_", ".", "\\-", "\\]", "é", " ", "x-z", "\\n"]

        mutating func item(depth: Int) -> String {
            let atom: String
            var single = true
            switch pick(10) {
            case 0, 1, 2: atom = Self.literals[pick(Self.literals.count)]
            case 3: atom = Self.escapes[pick(Self.escapes.count)]
            case 4: return Self.anchors[pick(Self.anchors.count)]
            case 5, 6: atom = characterClass()
            default:
                single = depth >= 3
                atom = single ? "a" : ["(", "(?:", "(?<g\(k)>"][pick(3)] + alternation(depth: depth + 1) + ")"
            }
            switch pick(6) {
            case 0, 1: return atom + Self.quantifiers[pick(Self.quantifiers.count)]
            case 2 where single: return atom + Self.lazyQuantifiers[pick(Self.lazyQuantifiers.count)]
            default: return atom
            }
        }

        mutating func characterClass() -> String {
            var out = pick(3) == 0 ? "[^" : "["
            if pick(5) == 0 { out += "-" }
            for _ in 0...pick(3) { out += Self.classItems[pick(Self.classItems.count)] }
            return out + "]"
        }
    }
}
