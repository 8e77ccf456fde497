import PropertyBased
import StowageModel
import Testing

/// The linear literal search Logs filter terms use.
@Suite struct LiteralSearchTests {
    @Test func agreesWithStringContainsOnRandomTexts() async {
        let letter = Gen.int(in: 0...2).map { ["a", "b", "é"][$0] }
        await propertyCheck(count: 800, input: letter.array(of: 0...40), letter.array(of: 1...6)) { text, needle in
            let t = text.joined(), n = needle.joined()
            #expect(LiteralSearch.contains(t, n) == t.contains(n), "\(n) in \(t)")
        }
    }

    /// The shape that made `String.contains` take text × needle steps: a long near-miss, then a hit at the very end.
    @Test func longNearMisses() {
        let term = String(repeating: "a", count: 1000) + "b"
        #expect(!LiteralSearch.contains(String(repeating: "a", count: 100_000), term))
        #expect(LiteralSearch.contains(String(repeating: "a", count: 100_000) + "b", term))
        #expect(LiteralSearch.contains("abababc", "ababc") && !LiteralSearch.contains("ababab", "ababc"))
        #expect(LiteralSearch.contains("x", "") && !LiteralSearch.contains("", "x"))
    }
}
