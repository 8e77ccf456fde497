import Foundation
import StowageIAM
import StowageModel

/// The STS door: AssumeRole (trust policy, duration, session policy) and GetCallerIdentity.
enum STSActions {
    static let all: [String: QueryAction] = [
        "AssumeRole": QueryAction("AssumeRole", assumeRole),
        "GetCallerIdentity": QueryAction("GetCallerIdentity", callerIdentity),
    ]

    static func callerIdentity(_ q: QueryRequest, _ c: Caller) async throws -> IAMActions.Fields {
        // Like AWS, answered for any valid credentials, whatever the policies say.
        let userId = c.principal.role.map { _ in c.principal.accessKeyId + ":" + c.principal.userName } ?? c.principal.accessKeyId
        return [("UserId", .text(userId)), ("Account", .text(c.account)), ("Arn", .text(c.principal.arn))]
    }

    static func assumeRole(_ q: QueryRequest, _ c: Caller) async throws -> IAMActions.Fields {
        let roleArn = try q.required("RoleArn")
        let sessionName = try q.required("RoleSessionName")
        guard (2...64).contains(sessionName.count),
              sessionName.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+=,.@_-".contains($0)) }) else {
            throw APIError("ValidationError", "RoleSessionName must be 2 to 64 letters, digits or +=,.@_- characters.")
        }
        let duration = try q.int("DurationSeconds") ?? 3600
        let sessionPolicy = q.string("Policy")
        if let sessionPolicy { _ = try PolicyDocument.parse(sessionPolicy, maxSize: 2048) }
        guard let arn = ARN(roleArn), arn.service == "iam", arn.resourceType == "role", let roleName = arn.resourcePath.last else {
            throw APIError("ValidationError", "RoleArn \(roleArn) is not a role ARN (arn:aws:iam::<account>:role/<name>).")
        }
        let denied = APIError.accessDenied("User: \(c.principal.arn) is not authorized to perform: sts:AssumeRole on resource: \(roleArn)")
        guard arn.account == c.account else { throw denied }
        _ = roleName
        let role = try await IAMActions.read(c) { try await IAMActions.role($0, c, arn: roleArn) }
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
            try await c.authorize("sts:AssumeRole", [roleArn])
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
        var fields: IAMActions.Fields = [
            ("Credentials", .object([("AccessKeyId", .text(session.accessKeyId)), ("SecretAccessKey", .text(session.secretAccessKey)),
                                     ("SessionToken", .text(session.sessionToken)), ("Expiration", .date(session.expiration))])),
            ("AssumedRoleUser", .object([("AssumedRoleId", .text(session.assumedRoleId)), ("Arn", .text(session.assumedRoleArn))])),
        ]
        if let sessionPolicy { fields.append(("PackedPolicySize", .int(min(100, sessionPolicy.count * 100 / 2048)))) }
        return fields
    }
}
