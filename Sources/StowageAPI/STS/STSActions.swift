import Foundation
import StowageIAM
import StowageModel

/// The STS door: AssumeRole (trust policy, duration, session policy) and GetCallerIdentity.
enum STSActions {

    struct Nothing: Decodable, Sendable {}

    struct CallerIdentity: Encodable, Sendable { var userId: String; var account: String; var arn: String }

    static func callerIdentity(_ input: Nothing, _ c: Caller) async throws -> CallerIdentity {
        // Like AWS, answered for any valid credentials, whatever the policies say.
        let userId = c.principal.role.map { _ in c.principal.accessKeyId + ":" + c.principal.userName } ?? c.principal.accessKeyId
        return CallerIdentity(userId: userId, account: c.account, arn: c.principal.arn)
    }

    /// AssumeRole's members Stowage honours; the others (ExternalId, SerialNumber and TokenCode, Tags, SourceIdentity,
    /// PolicyArns, ProvidedContexts) are refused by name by the decoder rather than accepted and ignored.
    struct AssumeRoleInput: Decodable, Sendable {
        var roleArn: String
        var roleSessionName: String
        var durationSeconds: Int?
        var policy: String?
    }

    struct AssumeRoleOutput: Encodable, Sendable {
        var credentials: Credentials
        var assumedRoleUser: AssumedRoleUser
        var packedPolicySize: Int?

        struct Credentials: Encodable, Sendable { var accessKeyId: String; var secretAccessKey: String; var sessionToken: String; var expiration: Date }
        struct AssumedRoleUser: Encodable, Sendable { var assumedRoleId: String; var arn: String }
    }

    static func assumeRole(_ input: AssumeRoleInput, _ c: Caller) async throws -> AssumeRoleOutput {
        let roleArn = input.roleArn
        let sessionName = input.roleSessionName
        guard (2...64).contains(sessionName.count),
              sessionName.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+=,.@_-".contains($0)) }) else {
            throw APIError("ValidationError", "RoleSessionName must be 2 to 64 letters, digits or +=,.@_- characters.")
        }
        let duration = input.durationSeconds ?? 3600
        let sessionPolicy = input.policy.flatMap { $0.isEmpty ? nil : $0 }
        if let sessionPolicy { _ = try PolicyDocument.parse(sessionPolicy, maxSize: 2048) }
        guard let arn = ARN(roleArn), arn.service == "iam", arn.resourceType == "role", let roleName = arn.resourcePath.last else {
            throw APIError("ValidationError", "RoleArn \(roleArn) is not a role ARN (arn:aws:iam::<account>:role/<name>).")
        }
        let denied = APIError.accessDenied("User: \(c.principal.arn) is not authorized to perform: sts:AssumeRole on resource: \(roleArn)")
        guard arn.account == c.account else { throw denied }
        _ = roleName
        let role = try await c.iam.role(arn: roleArn)
        guard let role else { throw denied }
        let trust = try PolicyDocument.parse(role.trustPolicy, kind: .trust, maxSize: .max)
        let callerRole = c.principal.role.map { c.backend.scope.iamRole(c.account, $0) }
        let verdict = PolicyEvaluator.trusts(trust, principalArn: c.principal.arn, account: c.account, roleSessionOf: callerRole,
                                             keys: ["aws:SourceIp": [c.sourceIp], "aws:PrincipalArn": [callerRole ?? c.principal.arn]])
        guard verdict == .allowed else { c.trail.note(action: "sts:AssumeRole", resources: [roleArn]); c.trail.deny(); throw denied }
        // A trust policy that names the caller itself is enough; one that trusts the whole account delegates the
        // decision to the caller's own policies, as in IAM.
        let namesCaller = trust.statements.contains { ($0.principals?["AWS"] ?? []).contains { $0 == c.principal.arn || $0 == callerRole } }
        if namesCaller {
            c.trail.note(action: "sts:AssumeRole", resources: [roleArn])
        } else {
            try await c.authorize([roleArn])
        }
        // Role chaining is limited to an hour, as in AWS.
        let maximum = c.principal.role == nil ? role.maxSessionSeconds : 3600
        guard (900...maximum).contains(duration) else {
            throw APIError("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role: DurationSeconds must be between 900 and \(maximum).")
        }
        let session = try await c.backend.tenancy.issueSession(
            account: c.account, role: role, sessionName: sessionName, sessionPolicy: sessionPolicy, duration: duration,
            assumedBy: c.principal.arn, now: c.backend.clock.now())
        c.backend.verifier.forget(session.accessKeyId)  // never remembered as unknown here, even if presented before it existed
        return AssumeRoleOutput(
            credentials: .init(accessKeyId: session.accessKeyId, secretAccessKey: session.secretAccessKey, sessionToken: session.sessionToken,
                               expiration: session.expiration),
            assumedRoleUser: .init(assumedRoleId: session.assumedRoleId, arn: session.assumedRoleArn),
            packedPolicySize: sessionPolicy.map { min(100, $0.count * 100 / 2048) })
    }
}

/// The STS operations, declared once: the query door and the REST route dispatch here.
public enum STSOperations {
    public static let all: [Operation] = [
        Operation.query(.sts, "AssumeRole", .write, STSActions.assumeRole),
        Operation.query(.sts, "GetCallerIdentity", .read, STSActions.callerIdentity),
    ]
}
