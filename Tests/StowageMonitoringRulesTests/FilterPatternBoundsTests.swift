import StowageModel
import StowageMonitoringRules
import Testing

/// A tenant's filter pattern costs bounded work: AWS's 1,024-character limit, parentheses at most 32 deep, and terms
/// found in time linear in the event (a 1,000-character term against a 256 KiB event took seconds before).
@Suite struct FilterPatternBoundsTests {
    @Test func lengthAndNestingAreBounded() throws {
        _ = try FilterPattern.parse(String(repeating: "a", count: 1024))
        #expect(throws: FilterPatternError("A filter pattern is at most 1024 characters.")) {
            _ = try FilterPattern.parse(String(repeating: "a", count: 1025))
        }
        func nested(_ depth: Int) -> String { "{ " + String(repeating: "(", count: depth) + "$.a = 1" + String(repeating: ")", count: depth) + " }" }
        #expect(try FilterPattern.parse(nested(32)).matches(#"{"a": 1}"#))
        #expect(throws: FilterPatternError.self) { _ = try FilterPattern.parse(nested(33)) }
    }

    @Test func longTermsAgainstLongEvents() throws {
        let term = String(repeating: "a", count: 1000) + "b"
        let event = String(repeating: "a", count: 256 * 1024)
        #expect(try !FilterPattern.parse(term).matches(event))
        #expect(try FilterPattern.parse("?" + term + " ?a").matches(event))
        #expect(try FilterPattern.parse(term).matches(event + "b"))
        #expect(try !FilterPattern.parse("-" + term).matches(event + "b"))
    }
}
