import Testing
@testable import StowageMonitoringRules

/// A known corpus: each pattern's matches are listed by line number, decided by reading the lines.
@Suite struct FilterPatternTests {
    static let corpus = [
        "2026-11-21 INFO GET /health 200 3ms",                                         // 0
        "2026-11-21 ERROR GET /orders 500 120ms database timeout",                     // 1
        "2026-11-21 WARN GET /orders 429 rate limited",                                // 2
        #"{"level":"error","status":500,"latency":120.5,"user":{"id":"u-1","admin":true},"tags":["a","b"]}"#,  // 3
        #"{"level":"info","status":200,"latency":3,"user":{"id":"u-2","admin":false},"tags":["b"]}"#,        // 4
        #"{"level":"warn","status":"429","latency":null,"path":"/orders/7"}"#,                               // 5
        "Exception in thread main: java.lang.NullPointerException",                    // 6
        "{not json at all",                                                            // 7
    ]

    static let cases: [(String, Set<Int>)] = [
        ("", Set(0..<8)),
        ("ERROR", [1]),
        ("GET /orders", [1, 2]),
        ("\"database timeout\"", [1]),
        ("\"timeout database\"", []),
        ("?ERROR ?WARN", [1, 2]),
        ("GET -ERROR", [0, 2]),
        ("orders ?500 ?429", [1, 2, 5]),
        ("error", [3]),
        ("Exception -NullPointerException", []),
        ("{ $.level = \"error\" }", [3]),
        ("{ $.level = err* }", [3]),
        ("{ $.level != \"error\" }", [4, 5]),
        ("{ $.status = 500 }", [3]),
        ("{ $.status >= 400 }", [3, 5]),
        ("{ $.latency > 100 && $.level = \"error\" }", [3]),
        ("{ $.latency < 10 || $.path = \"/orders/*\" }", [4, 5]),
        ("{ $.user.admin IS TRUE }", [3]),
        ("{ $.user.admin IS FALSE }", [4]),
        ("{ $.latency IS NULL }", [5]),
        ("{ $.user.id = \"u-2\" }", [4]),
        ("{ $.tags[0] = \"b\" }", [4]),
        ("{ $.path NOT EXISTS }", [3, 4]),
        ("{ $.path EXISTS }", [5]),
        ("{ ($.status = 200 || $.status = 500) && $.user.admin IS TRUE }", [3]),
    ]

    @Test(arguments: cases)
    func patternMatchesExactlyTheExpectedLines(pattern: String, expected: Set<Int>) throws {
        let parsed = try FilterPattern.parse(pattern)
        let got = Set(Self.corpus.indices.filter { parsed.matches(Self.corpus[$0]) })
        #expect(got == expected, "pattern \(pattern)")
    }

    @Test(arguments: ["\"unterminated", "{ $.level = \"error\" ", "{ level = 1 }", "{ $.a ~ 1 }", "{ $.a > \"x\" }",
                      "{ $.a = 1 } trailing", "{ $.a IS MAYBE }", "[ip, user]", "{ $. = 1 }", "{ ($.a = 1 }"])
    func malformedPatternsAreRefused(pattern: String) {
        #expect(throws: FilterPatternError.self) { _ = try FilterPattern.parse(pattern) }
    }

    @Test func plainTermsNarrowTheStoreScan() throws {
        #expect(try FilterPattern.parse("GET \"database timeout\" ?x -y").requiredSubstrings == ["GET", "database timeout"])
        #expect(try FilterPattern.parse("{ $.a = 1 }").requiredSubstrings.isEmpty)
    }
}
