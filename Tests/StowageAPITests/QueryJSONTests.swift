import Foundation
import Testing

/// `/v1/iam/{action}` takes the query-protocol parameters as JSON: numbers stay numbers. Foundation casts an NSNumber
/// of 1 or 0 to Bool, which once sent `{"MaxItems": 1}` to IAM as `MaxItems=true`.
@Suite struct QueryJSONTests {
    @Test func jsonNumbersOneAndZeroAreNumbersNotBooleans() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            for name in ["ci-a", "ci-b"] {
                #expect(try await api.rest(.post, "/v1/iam/CreateUser", json(["UserName": name]), as: h.a).status == 200)
            }
            let first = try await api.rest(.post, "/v1/iam/ListUsers", #"{"MaxItems": 1}"#, as: h.a)
            #expect(first.status == 200, "\(first.message)")
            #expect(first.array("Users").count == 1 && first["IsTruncated"] as? String == "true")
            let marker = try #require(first["Marker"] as? String)
            let second = try await api.rest(.post, "/v1/iam/ListUsers", json(["MaxItems": 1, "Marker": marker]), as: h.a)
            #expect(second.status == 200 && second.array("Users").count == 1, "\(second.message)")
            #expect(Set((first.array("Users") + second.array("Users")).compactMap { $0["UserName"] as? String }).count == 2)

            let zero = try await api.rest(.post, "/v1/iam/ListUsers", #"{"MaxItems": 0}"#, as: h.a)
            #expect(zero.status == 400 && zero.message.contains("'0'"), "\(zero.message)")
            let flag = try await api.rest(.post, "/v1/iam/ListPolicies", #"{"Scope": "AWS", "OnlyAttached": true}"#, as: h.a)
            #expect(flag.status == 200, "\(flag.message)")
        }
    }
}
