import Foundation
import Testing

/// The CloudWatch Logs door at the wire (AWS JSON 1.1, `Logs_20140328.<Action>`, signed for `logs`).
@Suite struct LogsDoorTests {
    /// `interleaved` is deprecated and ignored by CloudWatch (always interleaved), but the CLI's `--interleaved`
    /// and older tools send it: it is read, not refused as a member Stowage does not know.
    @Test func filterLogEventsTakesTheDeprecatedInterleavedFlag() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            func logs(_ action: String, _ body: [String: Any]) async throws -> Answer {
                try await api.awsJSON("Logs_20140328.\(action)", body, service: "logs", as: h.a)
            }
            #expect(try await logs("CreateLogGroup", ["logGroupName": "app"]).status == 200)
            for stream in ["a", "b"] { #expect(try await logs("CreateLogStream", ["logGroupName": "app", "logStreamName": stream]).status == 200) }
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            for (stream, offset) in [("b", 0), ("a", 1), ("b", 2)] {
                let put = try await logs("PutLogEvents", ["logGroupName": "app", "logStreamName": stream,
                                                          "logEvents": [["timestamp": now + Int64(offset), "message": "\(stream)\(offset)"]]])
                #expect(put.status == 200, "\(put.message)")
            }
            let page = try await logs("FilterLogEvents", ["logGroupName": "app", "interleaved": true])
            #expect(page.status == 200, "\(page.message)")
            #expect(page.array("events").compactMap { $0["message"] as? String } == ["b0", "a1", "b2"], "in time order across streams")
            let other = try await logs("FilterLogEvents", ["logGroupName": "app", "interleaving": true])
            #expect(other.status == 400 && other.message.contains("interleaving"), "a member it does not know is still refused by name")
        }
    }
}
