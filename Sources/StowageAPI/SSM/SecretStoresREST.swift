import Foundation
import StowageModel

extension RESTCall {
    /// A PascalCase body with members taken from the path (a name in the URL wins over one in the body).
    func decodePascal<T: Decodable>(_ type: T.Type, setting members: [String: String]) throws -> T {
        var object = (body.isEmpty ? nil : try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
        if !body.isEmpty, (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] == nil {
            throw APIError.serialization("The request body must be a JSON object.")
        }
        for (key, value) in members { object[key] = value }
        return try ECSJSON.pascalDecoder().decode(T.self, from: try JSONSerialization.data(withJSONObject: object))
    }

    func bool(_ name: String) -> Bool? { query(name).map { $0 == "true" || $0 == "1" } }
}

/// The REST face of Parameter Store and Secrets Manager: names and secret ids are one URL-encoded path segment
/// (`/v1/parameters/%2Fapp%2Fdb-url`), bodies and answers keep their PascalCase members.
enum SecretStoresREST {
    static let routes: [RESTRoute] = [
        RESTRoute(method: .get, path: "/v1/parameters", action: IAMAction(.ssm, "DescribeParameters")) { call in
            if let path = call.query("path") {
                let input = try call.decodePascal(SSM.GetParametersByPathRequest.self, setting: ["Path": path])
                var request = input
                request.recursive = call.bool("recursive")
                request.withDecryption = call.bool("withDecryption")
                request.maxResults = try call.int("maxResults")
                request.nextToken = call.query("nextToken")
                return try .pascal(try await ParameterActions.byPath(request, try call.caller(serving: .ssm, "GetParametersByPath")))
            }
            var input = try call.decodePascal(SSM.DescribeParametersRequest.self)
            input.maxResults = try call.int("maxResults")
            input.nextToken = call.query("nextToken")
            return try .pascal(try await ParameterActions.describe(input, call.caller))
        },
        RESTRoute(method: .put, path: "/v1/parameters/{name}", action: IAMAction(.ssm, "PutParameter")) { call in
            let input = try call.decodePascal(SSM.PutParameterRequest.self, setting: ["Name": call.path["name"] ?? ""])
            return try .pascal(try await ParameterActions.put(input, call.caller))
        },
        RESTRoute(method: .get, path: "/v1/parameters/{name}", action: IAMAction(.ssm, "GetParameter")) { call in
            let input = try call.decodePascal(SSM.GetParameterRequest.self, setting: ["Name": call.path["name"] ?? ""])
            var request = input
            request.withDecryption = call.bool("withDecryption")
            return try .pascal(try await ParameterActions.get(request, call.caller))
        },
        RESTRoute(method: .delete, path: "/v1/parameters/{name}", action: IAMAction(.ssm, "DeleteParameter")) { call in
            try .pascal(try await ParameterActions.delete(try call.decodePascal(SSM.DeleteParameterRequest.self, setting: ["Name": call.path["name"] ?? ""]),
                                                          call.caller))
        },
        RESTRoute(method: .get, path: "/v1/parameters/{name}/history", action: IAMAction(.ssm, "GetParameterHistory")) { call in
            var input = try call.decodePascal(SSM.GetParameterHistoryRequest.self, setting: ["Name": call.path["name"] ?? ""])
            input.withDecryption = call.bool("withDecryption")
            input.maxResults = try call.int("maxResults")
            input.nextToken = call.query("nextToken")
            return try .pascal(try await ParameterActions.history(input, call.caller))
        },
        RESTRoute(method: .post, path: "/v1/parameters/{name}/labels", action: IAMAction(.ssm, "LabelParameterVersion")) { call in
            let input = try call.decodePascal(SSM.LabelParameterVersionRequest.self, setting: ["Name": call.path["name"] ?? ""])
            return try .pascal(try await ParameterActions.label(input, call.caller))
        },
        RESTRoute(method: .get, path: "/v1/secrets", action: IAMAction(.secretsmanager, "ListSecrets")) { call in
            var input = try call.decodePascal(SecretsManager.ListSecretsRequest.self)
            input.maxResults = try call.int("maxResults")
            input.nextToken = call.query("nextToken")
            input.includePlannedDeletion = call.bool("includePlannedDeletion")
            if let name = call.query("name") { input.filters = [.init(key: "name", values: [name])] }
            return try .pascal(try await SecretActions.list(input, call.caller))
        },
        RESTRoute(method: .post, path: "/v1/secrets", action: IAMAction(.secretsmanager, "CreateSecret")) { call in
            try .pascal(try await SecretActions.create(try call.decodePascal(SecretsManager.CreateSecretRequest.self), call.caller), status: 201)
        },
        RESTRoute(method: .get, path: "/v1/secrets/{secret}", action: IAMAction(.secretsmanager, "DescribeSecret")) { call in
            try .pascal(try await SecretActions.describe(.init(secretId: call.path["secret"] ?? ""), call.caller))
        },
        RESTRoute(method: .patch, path: "/v1/secrets/{secret}", action: IAMAction(.secretsmanager, "UpdateSecret")) { call in
            let input = try call.decodePascal(SecretsManager.UpdateSecretRequest.self, setting: ["SecretId": call.path["secret"] ?? ""])
            return try .pascal(try await SecretActions.update(input, call.caller))
        },
        RESTRoute(method: .delete, path: "/v1/secrets/{secret}", action: IAMAction(.secretsmanager, "DeleteSecret")) { call in
            let input = SecretsManager.DeleteSecretRequest(secretId: call.path["secret"] ?? "", recoveryWindowInDays: try call.int("recoveryWindowInDays"),
                                                           forceDeleteWithoutRecovery: call.bool("forceDeleteWithoutRecovery"))
            return try .pascal(try await SecretActions.delete(input, call.caller))
        },
        RESTRoute(method: .get, path: "/v1/secrets/{secret}/value", action: IAMAction(.secretsmanager, "GetSecretValue")) { call in
            let input = SecretsManager.GetSecretValueRequest(secretId: call.path["secret"] ?? "", versionId: call.query("versionId"),
                                                             versionStage: call.query("versionStage"))
            return try .pascal(try await SecretActions.get(input, call.caller))
        },
        RESTRoute(method: .put, path: "/v1/secrets/{secret}/value", action: IAMAction(.secretsmanager, "PutSecretValue")) { call in
            let input = try call.decodePascal(SecretsManager.PutSecretValueRequest.self, setting: ["SecretId": call.path["secret"] ?? ""])
            return try .pascal(try await SecretActions.put(input, call.caller))
        },
        RESTRoute(method: .post, path: "/v1/secrets/{secret}/restore", action: IAMAction(.secretsmanager, "RestoreSecret")) { call in
            try .pascal(try await SecretActions.restore(.init(secretId: call.path["secret"] ?? ""), call.caller))
        },
        RESTRoute(method: .put, path: "/v1/secrets/{secret}/stages/{stage}", action: IAMAction(.secretsmanager, "UpdateSecretVersionStage")) { call in
            let input = try call.decodePascal(SecretsManager.UpdateSecretVersionStageRequest.self,
                                              setting: ["SecretId": call.path["secret"] ?? "", "VersionStage": call.path["stage"] ?? ""])
            return try .pascal(try await SecretActions.updateStage(input, call.caller))
        },
    ]
}
