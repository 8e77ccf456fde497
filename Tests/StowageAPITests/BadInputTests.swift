import Foundation
import HTTPTypes
import Testing

@Suite struct BadInputTests {
    @Test func malformedRequestsGetECSErrorsAndWriteNothing() async throws {
        let h = try await Harness.make(maxBodyBytes: 4096)
        try await h.run { api in
            let cases: [(String, String, Int, String)] = [
                ("CreateCluster", "{not json", 400, "SerializationException"),
                ("CreateCluster", #"{"clusterName": 42}"#, 400, "SerializationException"),
                ("CreateCluster", #"{"clusterName": "ok", "tags": "nope"}"#, 400, "SerializationException"),
                ("CreateCluster", #"{"clusterName": "bad name"}"#, 400, "InvalidParameterException"),
                ("DeleteCluster", #"{}"#, 400, "InvalidParameterException"),
                ("RegisterTaskDefinition", #"{"family": "f", "containerDefinitions": [{"name": "x", "image": "b", "memory": "lots"}]}"#, 400, "SerializationException"),
                ("DescribeClusters", #"{"include": ["EVERYTHING"]}"#, 400, "InvalidParameterException"),
                ("NoSuchAction", "{}", 400, "UnknownOperationException"),
                ("CreateCluster", #"{"clusterName": "big", "tags": [{"key": "k", "value": "\#(String(repeating: "v", count: 5000))"}]}"#, 413, "RequestEntityTooLargeException"),
            ]
            for (action, body, status, type) in cases {
                let answer = try await api.ecs(action, body, as: h.a)
                #expect(answer.status == status, "\(action) \(body.prefix(60)): \(answer.json)")
                #expect(answer.errorType == type, "\(action) \(body.prefix(60)): \(answer.json)")
                #expect(!answer.message.isEmpty)
                #expect(answer.headers[HTTPField.Name("x-amzn-RequestId")!] != nil)
            }
            let noTarget = try await api.send(.post, "/", body: "{}", as: h.a)
            #expect(noTarget.errorType == "UnknownOperationException")
            #expect(try await api.ecs("ListClusters", as: h.a).strings("clusterArns").isEmpty, "nothing was written")
        }
    }

    @Test func badSignaturesAreRefused() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let wrongSecret = try await api.ecs("CreateCluster", json(["clusterName": "x"]), as: h.a, secret: "not-the-secret")
            #expect(wrongSecret.status == 403 && wrongSecret.errorType == "InvalidSignatureException")
            let expired = try await api.ecs("CreateCluster", json(["clusterName": "x"]), as: h.a, at: Date().addingTimeInterval(-20 * 60))
            #expect(expired.status == 403 && expired.errorType == "InvalidSignatureException" && expired.message.hasPrefix("Signature expired"))
            var forged = h.a
            forged.key.accessKeyId = "AKIAAAAAAAAAAAAAAAAA"
            let unknown = try await api.ecs("ListClusters", as: forged)
            #expect(unknown.status == 403 && unknown.errorType == "UnrecognizedClientException")
            let unsigned = try await api.send(.get, "/v1/clusters", as: h.a, signed: false)
            #expect(unsigned.status == 403 && unsigned.errorType == "MissingAuthenticationTokenException")
            let restBad = try await api.send(.get, "/v1/clusters", as: h.a, secret: "nope")
            #expect(restBad.status == 403 && restBad.errorType == "InvalidSignatureException")
            #expect(try await api.ecs("ListClusters", as: h.a).strings("clusterArns").isEmpty, "nothing was written")
        }
    }

    @Test func healthAndMetrics() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            _ = try await api.ecs("ListClusters", as: h.a)
            _ = try await api.ecs("ListClusters", as: h.a, secret: "bad")
            let health = try await api.send(.get, "/healthz", as: h.a, signed: false)
            #expect(health.status == 200 && health["status"] as? String == "ok")
            let metrics = try await api.client.executeRequest(uri: "/metrics", method: .get, headers: [:], body: nil)
            let text = String(buffer: metrics.body)
            #expect(text.contains(#"stowage_api_requests_total{action="ListClusters",status="200"}"#))
            #expect(text.contains(#"stowage_api_requests_total{action="ListClusters",status="403"}"#))
            #expect(text.contains("stowage_api_request_duration_seconds_bucket"))
            #expect(text.contains("stowage_db_pool_connections_max"))
        }
    }
}
