import Foundation
import StowageModel
import Testing

@Suite struct RequestBodyCheckTests {
    func refusal(_ json: String, numbers: RequestBodyCheck.Numbers = .awsShapes) -> APIError? {
        do {
            _ = try RequestBodyCheck.check(Data(json.utf8), numbers: numbers)
            return nil
        } catch {
            return error
        }
    }

    @Test func wellFormedBodiesPass() throws {
        let body = #"{"family":"web","containerDefinitions":[{"name":"a\u00e9\ud83d\ude00","memory":2147483647,"cpu":-5,"#
            + #""environment":[{"name":"X","value":"\\u0000 is text here"}]}],"tags":[],"placementConstraints":{}}"#
        let (out, replaced) = try RequestBodyCheck.check(Data(body.utf8))
        #expect(replaced == 0 && out == Data(body.utf8))
        #expect(refusal("") == nil)
        #expect(refusal(#"{"startTime": 1733011200123, "value": 1.5e3, "Values": [0.25, 1e300]}"#) == nil)
    }

    @Test(arguments: [
        (#"{"clusterName":"a\u0000b"}"#, "clusterName must not contain NUL"),
        (#"{"containerDefinitions":[{"environment":[{"name":"A","value":"x\u0000"}]}]}"#, "containerDefinitions[0].environment[0].value must not contain NUL"),
        (#"{"tags":[{"key":"k","value":"\ud800"}]}"#, "tags[0].value contains an unpaired UTF-16 surrogate"),
        (#"{"tags":[{"key":"\udc00x","value":"v"}]}"#, "tags[0].key contains an unpaired UTF-16 surrogate"),
        (#"{"desiredCount":1.5}"#, "desiredCount must be an integer, got 1.5"),
        (#"{"desiredCount":1e2}"#, "desiredCount must be an integer, got 1e2"),
        (#"{"containerDefinitions":[{"memory":2147483648}]}"#, "containerDefinitions[0].memory must be an integer between -2147483648 and 2147483647, got 2147483648"),
        (#"{"count":99999999999999999999999}"#, "count must be an integer between"),
        (#"{"a":1,"a":2}"#, "a appears more than once"),
    ])
    func badBodiesAreRefusedNamingTheMember(_ json: String, _ expected: String) {
        let error = refusal(json)
        #expect(error != nil)
        #expect(error?.awsStatus == 400)
        #expect(error?.message.contains(expected) == true, "\(error?.message ?? "accepted")")
    }

    @Test func deepNestingIsRefused() {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(refusal(#"{"x":"# + deep + "}")?.code == "SerializationException")
        let fine = String(repeating: "[", count: 10) + String(repeating: "]", count: 10)
        #expect(refusal(#"{"x":"# + fine + "}") == nil)
    }

    @Test func agentBodiesHaveNULsReplacedAndCounted() throws {
        let body = #"{"logs":[{"events":[{"message":"a\u0000b\u0000","timestamp":1733011200123}]}],"sequence":9007199254740991}"#
        let (out, replaced) = try RequestBodyCheck.check(Data(body.utf8), numbers: .any, nul: .replace)
        #expect(replaced == 2)
        struct Event: Decodable { var message: String }
        struct Batch: Decodable { var events: [Event] }
        struct Body: Decodable { var logs: [Batch] }
        #expect(try JSONDecoder().decode(Body.self, from: out).logs[0].events[0].message == "a\u{FFFD}b\u{FFFD}")
        #expect(refusal(#"{"sequence":9007199254740991}"#, numbers: .any) == nil)
    }

    @Test func textParametersRefuseNUL() {
        #expect(throws: APIError.self) { try RequestBodyCheck.text("a\u{0}", member: "cluster") }
        #expect(throws: Never.self) { try RequestBodyCheck.text("plain", member: "cluster") }
    }
}
