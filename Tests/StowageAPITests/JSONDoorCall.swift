import Foundation

extension Harness.Client {
    /// Calls an AWS JSON-protocol action as botocore does: `x-amz-target` names it, the content type says the protocol's
    /// version (1.1 for Logs, 1.0 for CloudWatch), signed for `service`.
    func awsJSON(_ target: String, _ body: [String: Any], version: String = "1.1", service: String, as tenant: Tenant) async throws -> Answer {
        try await send(.post, "/", body: json(body), as: tenant,
                       headers: ["x-amz-target": target, "content-type": "application/x-amz-json-\(version)"], service: service)
    }
}
