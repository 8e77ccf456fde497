import PropertyBased
import StowageModel
import Testing

/// The one `*`/`?` matcher IAM, ELB rules, Logs JSON filters and cluster queries share.
@Suite struct WildcardTests {
    /// The textbook table: reference[i][j] says whether the first i pattern elements match the first j text elements.
    static func reference(_ pattern: [Character], _ text: [Character], questionMark: Bool) -> Bool {
        var table = Array(repeating: Array(repeating: false, count: text.count + 1), count: pattern.count + 1)
        table[0][0] = true
        for i in 1...max(1, pattern.count) where i <= pattern.count {
            for j in 0...text.count {
                if pattern[i - 1] == "*" {
                    table[i][j] = table[i - 1][j] || (j > 0 && table[i][j - 1])
                } else if j > 0 {
                    table[i][j] = table[i - 1][j - 1] && ((questionMark && pattern[i - 1] == "?") || pattern[i - 1] == text[j - 1])
                }
            }
        }
        return table[pattern.count][text.count]
    }

    @Test func agreesWithTheTableOnRandomPatterns() async {
        let element = Gen.int(in: 0...3).map { Array("ab?*")[$0] }
        let pattern = element.array(of: 0...80)
        let text = element.array(of: 0...90)
        await propertyCheck(count: 800, input: pattern, text, Gen.bool) { p, t, questionMark in
            let expected = Self.reference(p, t, questionMark: questionMark)
            #expect(Wildcard.matches(String(p), String(t), questionMark: questionMark) == expected, "\(String(p)) on \(String(t))")
        }
    }

    @Test func eachCallersMeaningIsKept() {
        #expect(Wildcard.matches("arn:aws:ecs:*:1:cluster/pr?d", "arn:aws:ecs:us-east-1:1:cluster/prod"))
        #expect(!Wildcard.matches("", "x") && Wildcard.matches("", "") && Wildcard.matches("*", "") && Wildcard.matches("**", "abc"))
        // ELB host conditions compare without case.
        #expect(ELB.wildcard("*.Example.com", matches: "shop.example.COM", caseInsensitive: true))
        #expect(!ELB.wildcard("*.Example.com", matches: "shop.example.COM"))
        // Logs JSON filters: `?` is an ordinary character.
        #expect(Wildcard.matches("what?*", "what?now", questionMark: false))
        #expect(!Wildcard.matches("what?*", "whatXnow", questionMark: false))
        // Characters by default, scalars when the caller says so: `?` takes one of either.
        #expect(Wildcard.matches("caf?", "cafe\u{0301}"))
        #expect(!Wildcard.matches("caf?".unicodeScalars, "cafe\u{0301}".unicodeScalars))
        #expect(Wildcard.matches("caf??".unicodeScalars, "cafe\u{0301}".unicodeScalars))
    }

    /// Longer than one 64-bit word of states, with the match decided by the last token.
    @Test func patternsLongerThanAWord() {
        let pattern = String(repeating: "a*", count: 150) + "b"
        #expect(Wildcard.matches(pattern, String(repeating: "a", count: 400) + "b"))
        #expect(!Wildcard.matches(pattern, String(repeating: "a", count: 400) + "c"))
        #expect(!Wildcard.matches(String(repeating: "a", count: 130), String(repeating: "a", count: 129)))
        #expect(Wildcard.matches(String(repeating: "?", count: 130), String(repeating: "z", count: 130)))
    }
}
