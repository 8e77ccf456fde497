import Crypto
import Foundation
import StowageModel
import StowageSigning

/// Task role credentials as the agent holds them: fetched from the control plane on first use, and fetched
/// again once less than a third of their lifetime is left, so a task never sees them expire.
struct CachedCredentials {
    var credentials: AgentProtocol.TaskCredentials
    var fetched: Date
    var expires: Date

    func stale(at now: Date) -> Bool {
        expires.timeIntervalSince(now) < expires.timeIntervalSince(fetched) / 3
    }
}

extension Agent {
    /// The token a task's containers present (AWS_CONTAINER_AUTHORIZATION_TOKEN): an HMAC of the task ARN
    /// under the agent's key, so nothing needs storing and one task cannot read another's credentials.
    nonisolated func credentialsToken(_ taskArn: String) -> String {
        let key = SymmetricKey(data: Data(("stowage-task-credentials:" + config.credentialsKey).utf8))
        return Hex.encode(HMAC<SHA256>.authenticationCode(for: Data(taskArn.utf8), using: key))
    }

    func setTaskEndpoint(_ endpoint: String) { taskEndpoint = endpoint }

    /// Answers one request of the credentials endpoint: (HTTP status, JSON body).
    func taskCredentials(taskId: String, authorization: String?) async -> (Int, Data) {
        func failure(_ status: Int, _ code: String, _ message: String) -> (Int, Data) {
            (status, (try? JSONSerialization.data(withJSONObject: ["code": code, "message": message])) ?? Data())
        }
        guard let task = tasks.values.first(where: { $0.taskId == taskId }), task.assignment.taskRoleArn != nil else {
            return failure(404, "NotFound", "No task \(taskId) with a task role runs on this instance.")
        }
        guard let authorization, SigV4.constantTimeEqual(authorization, credentialsToken(task.arn)) else {
            return failure(401, "Unauthorized", "The authorization token does not belong to task \(taskId).")
        }
        if let cached = credentialCache[taskId], !cached.stale(at: now) {
            return (200, (try? JSONEncoder().encode(cached.credentials)) ?? Data())
        }
        do {
            let fresh: AgentProtocol.TaskCredentials = try await server.get(
                "/agent/v1/clusters/\(config.cluster)/container-instances/\(instanceId)/tasks/\(taskId)/credentials")
            let expires = UTCTime.parseRFC3339(fresh.expiration).map(UTCTime.date(nanos:)) ?? now.addingTimeInterval(900)
            credentialCache[taskId] = CachedCredentials(credentials: fresh, fetched: now, expires: expires)
            return (200, (try? JSONEncoder().encode(fresh)) ?? Data())
        } catch {
            logger.warning("task role credentials could not be refreshed", metadata: ["task": "\(taskId)", "error": "\(error)"])
            if let cached = credentialCache[taskId], cached.expires > now {
                return (200, (try? JSONEncoder().encode(cached.credentials)) ?? Data())
            }
            return failure(502, "RefreshFailed", "Credentials for task \(taskId) could not be refreshed: \(error)")
        }
    }
}
