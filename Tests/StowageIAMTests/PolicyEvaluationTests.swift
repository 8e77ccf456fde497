import StowageIAM
import StowageModel
import Testing

/// One row of the evaluation table: policies (JSON), a request, and IAM's answer worked out by hand.
struct PolicyCase: CustomTestStringConvertible, Sendable {
    var name: String
    var policies: [String]
    var action: String
    var resource: String
    var keys: [String: [String]] = [:]
    var session: String? = nil
    var want: Want

    enum Want: Sendable { case allow, deny, implicit }
    var testDescription: String { name }
}

private func allow(_ action: String, _ resource: String = "*", condition: String? = nil, not: (action: Bool, resource: Bool) = (false, false),
                   effect: String = "Allow", sid: String? = nil) -> String {
    let a = not.action ? "NotAction" : "Action"
    let r = not.resource ? "NotResource" : "Resource"
    let c = condition.map { ", \"Condition\": \($0)" } ?? ""
    let s = sid.map { "\"Sid\": \"\($0)\", " } ?? ""
    return """
    {"Version": "2012-10-17", "Statement": [{\(s)"Effect": "\(effect)", "\(a)": "\(action)", "\(r)": "\(resource)"\(c)}]}
    """
}

private func deny(_ action: String, _ resource: String = "*", condition: String? = nil) -> String {
    allow(action, resource, condition: condition, effect: "Deny")
}

private let svcA = "arn:aws:ecs:us-east-1:111122223333:service/prod/web"
private let svcB = "arn:aws:ecs:us-east-1:111122223333:service/prod/api"
private let prodCluster = "arn:aws:ecs:us-east-1:111122223333:cluster/prod"
private let devCluster = "arn:aws:ecs:us-east-1:111122223333:cluster/dev"
private let taskDef = "arn:aws:ecs:us-east-1:111122223333:task-definition/web:3"

private func cond(_ op: String, _ key: String, _ values: String) -> String { "{\"\(op)\": {\"\(key)\": \(values)}}" }

let policyTable: [PolicyCase] = [
    // Precedence and defaults.
    PolicyCase(name: "no policies: implicit deny", policies: [], action: "ecs:ListClusters", resource: "*", want: .implicit),
    PolicyCase(name: "allow exact action", policies: [allow("ecs:ListClusters")], action: "ecs:ListClusters", resource: "*", want: .allow),
    PolicyCase(name: "action names are case-insensitive", policies: [allow("ECS:listclusters")], action: "ecs:ListClusters", resource: "*", want: .allow),
    PolicyCase(name: "other action: implicit deny", policies: [allow("ecs:ListClusters")], action: "ecs:DeleteCluster", resource: prodCluster, want: .implicit),
    PolicyCase(name: "explicit deny beats allow in the same policy set", policies: [allow("ecs:*"), deny("ecs:DeleteCluster")],
               action: "ecs:DeleteCluster", resource: prodCluster, want: .deny),
    PolicyCase(name: "deny elsewhere does not touch other actions", policies: [allow("ecs:*"), deny("ecs:DeleteCluster")],
               action: "ecs:DescribeClusters", resource: prodCluster, want: .allow),
    PolicyCase(name: "deny wins regardless of order", policies: [deny("ecs:*"), allow("ecs:DescribeClusters")],
               action: "ecs:DescribeClusters", resource: prodCluster, want: .deny),
    PolicyCase(name: "allow from any of several policies", policies: [allow("logs:*"), allow("ecs:DescribeClusters")],
               action: "ecs:DescribeClusters", resource: prodCluster, want: .allow),
    PolicyCase(name: "deny only: implicit deny becomes explicit", policies: [deny("ecs:RunTask")], action: "ecs:RunTask", resource: taskDef, want: .deny),
    PolicyCase(name: "unrelated deny leaves implicit deny", policies: [deny("logs:*")], action: "ecs:RunTask", resource: taskDef, want: .implicit),
    // Action wildcards.
    PolicyCase(name: "star action", policies: [allow("*")], action: "iam:CreateUser", resource: "*", want: .allow),
    PolicyCase(name: "service wildcard", policies: [allow("ecs:*")], action: "ecs:UpdateService", resource: svcA, want: .allow),
    PolicyCase(name: "service wildcard is per service", policies: [allow("ecs:*")], action: "logs:FilterLogEvents", resource: "*", want: .implicit),
    PolicyCase(name: "prefix wildcard", policies: [allow("ecs:Describe*")], action: "ecs:DescribeServices", resource: svcA, want: .allow),
    PolicyCase(name: "prefix wildcard misses", policies: [allow("ecs:Describe*")], action: "ecs:DeleteService", resource: svcA, want: .implicit),
    PolicyCase(name: "question mark matches one character", policies: [allow("ecs:?istTasks")], action: "ecs:ListTasks", resource: "*", want: .allow),
    PolicyCase(name: "question mark needs a character", policies: [allow("ecs:L?stTasks")], action: "ecs:LstTasks", resource: "*", want: .implicit),
    PolicyCase(name: "infix wildcard", policies: [allow("ecs:*Service*")], action: "ecs:UpdateService", resource: svcA, want: .allow),
    // NotAction.
    PolicyCase(name: "NotAction allows everything else", policies: [allow("iam:*", not: (true, false))], action: "ecs:CreateCluster", resource: prodCluster, want: .allow),
    PolicyCase(name: "NotAction excludes the named actions", policies: [allow("iam:*", not: (true, false))], action: "iam:CreateUser", resource: "*", want: .implicit),
    PolicyCase(name: "Deny with NotAction denies all but the named", policies: [allow("*"), allow("ecs:Describe*", not: (true, false), effect: "Deny")],
               action: "ecs:DeleteCluster", resource: prodCluster, want: .deny),
    PolicyCase(name: "Deny with NotAction spares the named", policies: [allow("*"), allow("ecs:Describe*", not: (true, false), effect: "Deny")],
               action: "ecs:DescribeClusters", resource: prodCluster, want: .allow),
    // Resources.
    PolicyCase(name: "exact resource", policies: [allow("ecs:UpdateService", svcA)], action: "ecs:UpdateService", resource: svcA, want: .allow),
    PolicyCase(name: "sibling resource", policies: [allow("ecs:UpdateService", svcA)], action: "ecs:UpdateService", resource: svcB, want: .implicit),
    PolicyCase(name: "resource wildcard in path", policies: [allow("ecs:UpdateService", "arn:aws:ecs:us-east-1:111122223333:service/prod/*")],
               action: "ecs:UpdateService", resource: svcB, want: .allow),
    PolicyCase(name: "resource wildcard other cluster", policies: [allow("ecs:UpdateService", "arn:aws:ecs:us-east-1:111122223333:service/dev/*")],
               action: "ecs:UpdateService", resource: svcB, want: .implicit),
    PolicyCase(name: "region wildcard", policies: [allow("ecs:DescribeClusters", "arn:aws:ecs:*:111122223333:cluster/prod")],
               action: "ecs:DescribeClusters", resource: prodCluster, want: .allow),
    PolicyCase(name: "resources are case-sensitive", policies: [allow("ecs:DescribeClusters", "arn:aws:ecs:us-east-1:111122223333:cluster/PROD")],
               action: "ecs:DescribeClusters", resource: prodCluster, want: .implicit),
    PolicyCase(name: "task definition revision wildcard", policies: [allow("ecs:RunTask", "arn:aws:ecs:us-east-1:111122223333:task-definition/web:*")],
               action: "ecs:RunTask", resource: taskDef, want: .allow),
    PolicyCase(name: "question mark in resource", policies: [allow("ecs:RunTask", "arn:aws:ecs:us-east-1:111122223333:task-definition/web:?")],
               action: "ecs:RunTask", resource: taskDef, want: .allow),
    PolicyCase(name: "NotResource allows everything else", policies: [allow("ecs:*", svcA, not: (false, true))],
               action: "ecs:UpdateService", resource: svcB, want: .allow),
    PolicyCase(name: "NotResource excludes the named", policies: [allow("ecs:*", svcA, not: (false, true))],
               action: "ecs:UpdateService", resource: svcA, want: .implicit),
    PolicyCase(name: "Deny with NotResource protects the rest", policies: [allow("ecs:*"), deny("ecs:DeleteService", svcA).replacingOccurrences(of: "\"Resource\"", with: "\"NotResource\"")],
               action: "ecs:DeleteService", resource: svcB, want: .deny),
    // StringEquals / StringNotEquals / StringLike / IgnoreCase.
    PolicyCase(name: "StringEquals on ecs:cluster matches", policies: [allow("ecs:RunTask", condition: cond("StringEquals", "ecs:cluster", "\"\(prodCluster)\""))],
               action: "ecs:RunTask", resource: taskDef, keys: ["ecs:cluster": [prodCluster]], want: .allow),
    PolicyCase(name: "StringEquals on ecs:cluster misses", policies: [allow("ecs:RunTask", condition: cond("StringEquals", "ecs:cluster", "\"\(prodCluster)\""))],
               action: "ecs:RunTask", resource: taskDef, keys: ["ecs:cluster": [devCluster]], want: .implicit),
    PolicyCase(name: "StringEquals with a missing key is false", policies: [allow("ecs:RunTask", condition: cond("StringEquals", "ecs:cluster", "\"\(prodCluster)\""))],
               action: "ecs:RunTask", resource: taskDef, want: .implicit),
    PolicyCase(name: "StringEquals values are ORed", policies: [allow("ecs:RunTask", condition: cond("StringEquals", "ecs:cluster", "[\"\(devCluster)\", \"\(prodCluster)\"]"))],
               action: "ecs:RunTask", resource: taskDef, keys: ["ecs:cluster": [prodCluster]], want: .allow),
    PolicyCase(name: "StringEquals is case-sensitive", policies: [allow("ecs:CreateCluster", condition: cond("StringEquals", "aws:RequestTag/env", "\"prod\""))],
               action: "ecs:CreateCluster", resource: prodCluster, keys: ["aws:RequestTag/env": ["Prod"]], want: .implicit),
    PolicyCase(name: "StringEqualsIgnoreCase", policies: [allow("ecs:CreateCluster", condition: cond("StringEqualsIgnoreCase", "aws:RequestTag/env", "\"prod\""))],
               action: "ecs:CreateCluster", resource: prodCluster, keys: ["aws:RequestTag/env": ["Prod"]], want: .allow),
    PolicyCase(name: "condition key names are case-insensitive", policies: [allow("ecs:CreateCluster", condition: cond("StringEquals", "AWS:REQUESTTAG/ENV", "\"prod\""))],
               action: "ecs:CreateCluster", resource: prodCluster, keys: ["aws:RequestTag/env": ["prod"]], want: .allow),
    PolicyCase(name: "StringNotEquals with another value", policies: [allow("ecs:*", condition: cond("StringNotEquals", "aws:ResourceTag/env", "\"prod\""))],
               action: "ecs:DeleteService", resource: svcA, keys: ["aws:ResourceTag/env": ["dev"]], want: .allow),
    PolicyCase(name: "StringNotEquals with the value", policies: [allow("ecs:*", condition: cond("StringNotEquals", "aws:ResourceTag/env", "\"prod\""))],
               action: "ecs:DeleteService", resource: svcA, keys: ["aws:ResourceTag/env": ["prod"]], want: .implicit),
    PolicyCase(name: "StringNotEquals with a missing key is true", policies: [allow("ecs:*", condition: cond("StringNotEquals", "aws:ResourceTag/env", "\"prod\""))],
               action: "ecs:DeleteService", resource: svcA, want: .allow),
    PolicyCase(name: "StringLike wildcard", policies: [allow("ecs:*", condition: cond("StringLike", "aws:PrincipalArn", "\"arn:aws:iam::111122223333:user/ci-*\""))],
               action: "ecs:UpdateService", resource: svcA, keys: ["aws:PrincipalArn": ["arn:aws:iam::111122223333:user/ci-deploy"]], want: .allow),
    PolicyCase(name: "StringLike miss", policies: [allow("ecs:*", condition: cond("StringLike", "aws:PrincipalArn", "\"arn:aws:iam::111122223333:user/ci-*\""))],
               action: "ecs:UpdateService", resource: svcA, keys: ["aws:PrincipalArn": ["arn:aws:iam::111122223333:user/alice"]], want: .implicit),
    PolicyCase(name: "StringEqualsIfExists with the key absent", policies: [allow("ecs:*", condition: cond("StringEqualsIfExists", "ecs:cluster", "\"\(prodCluster)\""))],
               action: "ecs:ListClusters", resource: "*", want: .allow),
    PolicyCase(name: "StringEqualsIfExists with a different value", policies: [allow("ecs:*", condition: cond("StringEqualsIfExists", "ecs:cluster", "\"\(prodCluster)\""))],
               action: "ecs:ListServices", resource: devCluster, keys: ["ecs:cluster": [devCluster]], want: .implicit),
    // ArnLike / ArnEquals / ArnNotLike.
    PolicyCase(name: "ArnLike on the cluster", policies: [allow("ecs:RunTask", condition: cond("ArnLike", "ecs:cluster", "\"arn:aws:ecs:*:111122223333:cluster/pro*\""))],
               action: "ecs:RunTask", resource: taskDef, keys: ["ecs:cluster": [prodCluster]], want: .allow),
    PolicyCase(name: "ArnLike wildcard stays inside its part", policies: [allow("ecs:RunTask", condition: cond("ArnLike", "ecs:cluster", "\"arn:aws:ecs:*:cluster/prod\""))],
               action: "ecs:RunTask", resource: taskDef, keys: ["ecs:cluster": [prodCluster]], want: .implicit),
    PolicyCase(name: "ArnEquals exact", policies: [allow("ecs:RunTask", condition: cond("ArnEquals", "aws:PrincipalArn", "\"arn:aws:iam::111122223333:role/deployer\""))],
               action: "ecs:RunTask", resource: taskDef, keys: ["aws:PrincipalArn": ["arn:aws:iam::111122223333:role/deployer"]], want: .allow),
    PolicyCase(name: "ArnNotLike denies outsiders", policies: [allow("ecs:*"), deny("ecs:*", condition: cond("ArnNotLike", "aws:PrincipalArn", "\"arn:aws:iam::111122223333:role/admin*\""))],
               action: "ecs:DeleteCluster", resource: prodCluster, keys: ["aws:PrincipalArn": ["arn:aws:iam::111122223333:user/bob"]], want: .deny),
    PolicyCase(name: "ArnNotLike spares insiders", policies: [allow("ecs:*"), deny("ecs:*", condition: cond("ArnNotLike", "aws:PrincipalArn", "\"arn:aws:iam::111122223333:role/admin*\""))],
               action: "ecs:DeleteCluster", resource: prodCluster, keys: ["aws:PrincipalArn": ["arn:aws:iam::111122223333:role/admin-ops"]], want: .allow),
    // Bool / Null.
    PolicyCase(name: "Bool true matches", policies: [allow("ecs:*", condition: cond("Bool", "aws:SecureTransport", "\"true\""))],
               action: "ecs:ListClusters", resource: "*", keys: ["aws:SecureTransport": ["true"]], want: .allow),
    PolicyCase(name: "Bool false does not match true", policies: [allow("ecs:*", condition: cond("Bool", "aws:SecureTransport", "true"))],
               action: "ecs:ListClusters", resource: "*", keys: ["aws:SecureTransport": ["false"]], want: .implicit),
    PolicyCase(name: "Bool with the key absent", policies: [allow("ecs:*", condition: cond("Bool", "aws:MultiFactorAuthPresent", "\"true\""))],
               action: "ecs:ListClusters", resource: "*", want: .implicit),
    PolicyCase(name: "Null true when the key is absent", policies: [allow("ecs:*", condition: cond("Null", "aws:RequestTag/owner", "\"true\""))],
               action: "ecs:CreateCluster", resource: prodCluster, want: .allow),
    PolicyCase(name: "Null false requires the key", policies: [allow("ecs:*", condition: cond("Null", "aws:RequestTag/owner", "\"false\""))],
               action: "ecs:CreateCluster", resource: prodCluster, want: .implicit),
    PolicyCase(name: "Deny when a tag is missing (Null)", policies: [allow("ecs:*"), deny("ecs:CreateCluster", condition: cond("Null", "aws:RequestTag/owner", "\"true\""))],
               action: "ecs:CreateCluster", resource: prodCluster, keys: ["aws:RequestTag/owner": ["team-a"]], want: .allow),
    // Numeric.
    PolicyCase(name: "NumericLessThan true", policies: [allow("ecs:*", condition: cond("NumericLessThan", "ecs:desired-count", "10"))],
               action: "ecs:UpdateService", resource: svcA, keys: ["ecs:desired-count": ["3"]], want: .allow),
    PolicyCase(name: "NumericLessThan false at the bound", policies: [allow("ecs:*", condition: cond("NumericLessThan", "ecs:desired-count", "10"))],
               action: "ecs:UpdateService", resource: svcA, keys: ["ecs:desired-count": ["10"]], want: .implicit),
    PolicyCase(name: "NumericLessThanEquals at the bound", policies: [allow("ecs:*", condition: cond("NumericLessThanEquals", "ecs:desired-count", "10"))],
               action: "ecs:UpdateService", resource: svcA, keys: ["ecs:desired-count": ["10"]], want: .allow),
    PolicyCase(name: "NumericGreaterThan true", policies: [allow("ecs:*", condition: cond("NumericGreaterThan", "ecs:desired-count", "\"2.5\""))],
               action: "ecs:UpdateService", resource: svcA, keys: ["ecs:desired-count": ["3"]], want: .allow),
    PolicyCase(name: "NumericGreaterThan false", policies: [allow("ecs:*", condition: cond("NumericGreaterThan", "ecs:desired-count", "5"))],
               action: "ecs:UpdateService", resource: svcA, keys: ["ecs:desired-count": ["5"]], want: .implicit),
    PolicyCase(name: "NumericNotEquals", policies: [allow("ecs:*", condition: cond("NumericNotEquals", "ecs:desired-count", "0"))],
               action: "ecs:UpdateService", resource: svcA, keys: ["ecs:desired-count": ["0"]], want: .implicit),
    // Dates.
    PolicyCase(name: "DateLessThan before the deadline", policies: [allow("ecs:*", condition: cond("DateLessThan", "aws:CurrentTime", "\"2026-12-01T00:00:00Z\""))],
               action: "ecs:ListClusters", resource: "*", keys: ["aws:CurrentTime": ["2026-11-21T10:00:00Z"]], want: .allow),
    PolicyCase(name: "DateLessThan after the deadline", policies: [allow("ecs:*", condition: cond("DateLessThan", "aws:CurrentTime", "\"2026-11-01\""))],
               action: "ecs:ListClusters", resource: "*", keys: ["aws:CurrentTime": ["2026-11-21T10:00:00Z"]], want: .implicit),
    PolicyCase(name: "DateGreaterThan after the start", policies: [allow("ecs:*", condition: cond("DateGreaterThan", "aws:CurrentTime", "\"2026-11-21T09:59:59.5Z\""))],
               action: "ecs:ListClusters", resource: "*", keys: ["aws:CurrentTime": ["2026-11-21T10:00:00Z"]], want: .allow),
    PolicyCase(name: "DateGreaterThan in epoch seconds", policies: [allow("ecs:*", condition: cond("DateGreaterThan", "aws:CurrentTime", "\"1893456000\""))],
               action: "ecs:ListClusters", resource: "*", keys: ["aws:CurrentTime": ["2026-11-21T10:00:00Z"]], want: .implicit),
    PolicyCase(name: "Deny outside a maintenance window", policies: [allow("ecs:*"), deny("ecs:DeleteCluster", condition: cond("DateLessThan", "aws:CurrentTime", "\"2026-11-22T00:00:00Z\""))],
               action: "ecs:DeleteCluster", resource: prodCluster, keys: ["aws:CurrentTime": ["2026-11-21T10:00:00Z"]], want: .deny),
    // IP addresses.
    PolicyCase(name: "IpAddress inside the block", policies: [allow("ecs:*", condition: cond("IpAddress", "aws:SourceIp", "\"10.1.0.0/16\""))],
               action: "ecs:ListClusters", resource: "*", keys: ["aws:SourceIp": ["10.1.200.7"]], want: .allow),
    PolicyCase(name: "IpAddress outside the block", policies: [allow("ecs:*", condition: cond("IpAddress", "aws:SourceIp", "\"10.1.0.0/16\""))],
               action: "ecs:ListClusters", resource: "*", keys: ["aws:SourceIp": ["10.2.0.7"]], want: .implicit),
    PolicyCase(name: "IpAddress single address", policies: [allow("ecs:*", condition: cond("IpAddress", "aws:SourceIp", "[\"192.0.2.1\", \"127.0.0.1\"]"))],
               action: "ecs:ListClusters", resource: "*", keys: ["aws:SourceIp": ["127.0.0.1"]], want: .allow),
    PolicyCase(name: "IpAddress IPv6 block", policies: [allow("ecs:*", condition: cond("IpAddress", "aws:SourceIp", "\"2001:db8::/32\""))],
               action: "ecs:ListClusters", resource: "*", keys: ["aws:SourceIp": ["2001:db8:1::5"]], want: .allow),
    PolicyCase(name: "IPv4-mapped IPv6 client in an IPv4 block", policies: [allow("ecs:*", condition: cond("IpAddress", "aws:SourceIp", "\"127.0.0.0/8\""))],
               action: "ecs:ListClusters", resource: "*", keys: ["aws:SourceIp": ["::ffff:127.0.0.1"]], want: .allow),
    PolicyCase(name: "NotIpAddress deny from outside", policies: [allow("ecs:*"), deny("*", condition: cond("NotIpAddress", "aws:SourceIp", "\"10.0.0.0/8\""))],
               action: "ecs:ListClusters", resource: "*", keys: ["aws:SourceIp": ["203.0.113.9"]], want: .deny),
    PolicyCase(name: "NotIpAddress spares inside", policies: [allow("ecs:*"), deny("*", condition: cond("NotIpAddress", "aws:SourceIp", "\"10.0.0.0/8\""))],
               action: "ecs:ListClusters", resource: "*", keys: ["aws:SourceIp": ["10.9.9.9"]], want: .allow),
    // Several conditions: keys ANDed; set qualifiers.
    PolicyCase(name: "two operators both hold", policies: [allow("ecs:*", condition: "{\"StringEquals\": {\"ecs:cluster\": \"\(prodCluster)\"}, \"IpAddress\": {\"aws:SourceIp\": \"10.0.0.0/8\"}}")],
               action: "ecs:UpdateService", resource: svcA, keys: ["ecs:cluster": [prodCluster], "aws:SourceIp": ["10.0.0.1"]], want: .allow),
    PolicyCase(name: "two operators, one fails", policies: [allow("ecs:*", condition: "{\"StringEquals\": {\"ecs:cluster\": \"\(prodCluster)\"}, \"IpAddress\": {\"aws:SourceIp\": \"10.0.0.0/8\"}}")],
               action: "ecs:UpdateService", resource: svcA, keys: ["ecs:cluster": [prodCluster], "aws:SourceIp": ["11.0.0.1"]], want: .implicit),
    PolicyCase(name: "ForAllValues: every request tag key allowed", policies: [allow("ecs:TagResource", condition: cond("ForAllValues:StringEquals", "aws:TagKeys", "[\"env\", \"team\"]"))],
               action: "ecs:TagResource", resource: svcA, keys: ["aws:TagKeys": ["env", "team"]], want: .allow),
    PolicyCase(name: "ForAllValues: one key not allowed", policies: [allow("ecs:TagResource", condition: cond("ForAllValues:StringEquals", "aws:TagKeys", "[\"env\", \"team\"]"))],
               action: "ecs:TagResource", resource: svcA, keys: ["aws:TagKeys": ["env", "cost"]], want: .implicit),
    PolicyCase(name: "ForAnyValue: one key matches", policies: [allow("ecs:TagResource", condition: cond("ForAnyValue:StringLike", "aws:TagKeys", "\"team*\""))],
               action: "ecs:TagResource", resource: svcA, keys: ["aws:TagKeys": ["env", "team-owner"]], want: .allow),
    // Session policies narrow an identity.
    PolicyCase(name: "session policy narrows to one service", policies: [allow("ecs:*")], action: "ecs:UpdateService", resource: svcB,
               session: allow("ecs:UpdateService", svcA), want: .implicit),
    PolicyCase(name: "session policy allows within the role", policies: [allow("ecs:*")], action: "ecs:UpdateService", resource: svcA,
               session: allow("ecs:UpdateService", svcA), want: .allow),
    PolicyCase(name: "session policy cannot widen the role", policies: [allow("ecs:Describe*")], action: "ecs:DeleteCluster", resource: prodCluster,
               session: allow("*"), want: .implicit),
    PolicyCase(name: "session policy deny wins", policies: [allow("ecs:*")], action: "ecs:DeleteCluster", resource: prodCluster,
               session: "{\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\"}, {\"Effect\": \"Deny\", \"Action\": \"ecs:Delete*\", \"Resource\": \"*\"}]}",
               want: .deny),
]

@Suite struct PolicyEvaluationTests {
    @Test func tableHasEnoughCases() { #expect(policyTable.count >= 60) }

    @Test(arguments: policyTable)
    func evaluates(_ row: PolicyCase) throws {
        let policies = try row.policies.map { try PolicyDocument.parse($0) }
        let session = try row.session.map { try PolicyDocument.parse($0) }
        let decision = PolicyEvaluator.decide(AccessRequest(action: row.action, resource: row.resource, keys: row.keys),
                                              identity: policies, session: session)
        switch row.want {
        case .allow: #expect(decision == .allowed, "\(row.name)")
        case .implicit: #expect(decision == .implicitlyDenied, "\(row.name)")
        case .deny:
            guard case .explicitlyDenied = decision else { Issue.record("\(row.name): \(decision)"); return }
        }
    }

    @Test func denyNamesItsStatement() throws {
        let policy = try PolicyDocument.parse(allow("ecs:DeleteCluster", effect: "Deny", sid: "NoDeletes"))
        #expect(PolicyEvaluator.decide(AccessRequest(action: "ecs:DeleteCluster", resource: prodCluster), policies: [policy])
                == .explicitlyDenied(sid: "NoDeletes"))
    }

    @Test func trustPoliciesNameWhoMayAssume() throws {
        let trust = try PolicyDocument.parse("""
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/ci"},
             "Action": "sts:AssumeRole"}]}
            """, kind: .trust)
        #expect(PolicyEvaluator.trusts(trust, principalArn: "arn:aws:iam::111122223333:user/ci", account: "111122223333") == .allowed)
        #expect(PolicyEvaluator.trusts(trust, principalArn: "arn:aws:iam::111122223333:user/eve", account: "111122223333") == .implicitlyDenied)
        let account = try PolicyDocument.parse("""
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "sts:AssumeRole"}]}
            """, kind: .trust)
        #expect(PolicyEvaluator.trusts(account, principalArn: "arn:aws:iam::111122223333:user/eve", account: "111122223333") == .allowed)
        #expect(PolicyEvaluator.trusts(account, principalArn: "arn:aws:iam::444455556666:user/eve", account: "444455556666") == .implicitlyDenied)
    }
}

@Suite struct PolicyValidationTests {
    /// Each malformed document and the line and words its message must carry.
    static let malformed: [(String, String)] = [
        ("{\"Version\": \"2012-10-17\",\n \"Statement\": [\n {\"Effect\": \"Allow\",\n \"Action\": \"ecs:*\",\n \"Resource\": \"*\",\n }]}", "line 6"),
        ("{\"Version\": \"2012-10-17\",\n \"Statement\": {\n  \"Effect\": \"Permit\", \"Action\": \"ecs:*\", \"Resource\": \"*\"}}", "Line 3: Effect"),
        ("{\"Version\": \"2012-10-17\",\n \"Statement\": {\"Effect\": \"Allow\",\n  \"Action\": \"ecs:*\",\n  \"Resource\": \"*\",\n  \"Condition\": {\"StringSortOf\": {\"ecs:cluster\": \"x\"}}}}", "Line 5: Unknown condition operator StringSortOf"),
        ("{\"Version\": \"2012-10-17\", \"Statement\": {\"Effect\": \"Allow\", \"Action\": \"ecs:*\"}}", "Missing required field Resource"),
        ("{\"Version\": \"2012-10-17\", \"Statement\": {\"Effect\": \"Allow\", \"Resource\": \"*\"}}", "Missing required field Action"),
        ("{\"Version\": \"2012-10-17\", \"Statement\": {\"Effect\": \"Allow\", \"Action\": \"ecs\", \"Resource\": \"*\"}}", "Action \"ecs\""),
        ("{\"Version\": \"2012-10-17\", \"Statement\": {\"Effect\": \"Allow\", \"Action\": \"ecs:*\", \"Resource\": \"*cluster*\"}}", "ARN format"),
        ("{\"Version\": \"2012-10-17\", \"Statement\": {\"Effect\": \"Allow\", \"Action\": \"ecs:*\", \"Resource\": \"arn:*:*:*:*:*\"}}", "only wildcards"),
        ("{\"Version\": \"2012-10-17\", \"Statement\": {\"Effect\": \"Allow\", \"Action\": \"ecs:*\", \"NotAction\": \"iam:*\", \"Resource\": \"*\"}}", "either Action or NotAction"),
        ("{\"Version\": \"2012-10-17\", \"Statement\": {\"Effect\": \"Allow\", \"Action\": \"ecs:*\", \"Resource\": \"*\", \"Principal\": \"*\"}}", "should not specify a principal"),
        ("{\"Version\": \"2012-10-17\", \"Statement\": {\"Effect\": \"Allow\", \"Action\": \"ecs:*\", \"Resource\": \"*\",\n \"Condition\": {\"IpAddress\": {\"aws:SourceIp\": \"10.0.0.300/8\"}}}}", "Line 2: IpAddress aws:SourceIp"),
        ("{\"Version\": \"2012-10-17\", \"Statement\": {\"Effect\": \"Allow\", \"Action\": \"ecs:*\", \"Resource\": \"*\",\n \"Condition\": {\"DateLessThan\": {\"aws:CurrentTime\": \"next tuesday\"}}}}", "is not a date"),
        ("{\"Version\": \"2012-10-17\", \"Statement\": {\"Effect\": \"Allow\", \"Action\": \"ecs:*\", \"Resource\": \"*\",\n \"Condition\": {\"NumericLessThan\": {\"ecs:count\": \"ten\"}}}}", "is not a number"),
        ("{\"Version\": \"2012-10-17\", \"Statement\": {\"Effect\": \"Allow\", \"Action\": \"ecs:*\", \"Resource\": \"*\",\n \"Condition\": {\"StringEquals\": {\"cluster\": \"x\"}}}}", "prefix:name"),
        ("{\"Version\": \"2012-10-17\", \"Statement\": [{\"Sid\": \"A\", \"Effect\": \"Allow\", \"Action\": \"ecs:*\", \"Resource\": \"*\"}, {\"Sid\": \"A\", \"Effect\": \"Deny\", \"Action\": \"iam:*\", \"Resource\": \"*\"}]}", "must be unique"),
        ("{\"Version\": \"2021-01-01\", \"Statement\": {\"Effect\": \"Allow\", \"Action\": \"ecs:*\", \"Resource\": \"*\"}}", "Version must be"),
        ("{\"Version\": \"2012-10-17\",\n\"Statement\": {\"Effect\": \"Allow\", \"Action\": \"ecs:*\", \"Resource\": \"*\"},\n\"Statement\": []}", "line 3"),
        ("[]", "JSON object"),
        ("{\"Version\": \"2012-10-17\"}", "Missing required field Statement"),
        ("{\"Version\": \"2012-10-17\", \"Statement\": {\"Effect\": \"Allow\", \"Action\": \"ecs:*\", \"Resource\": \"*\", \"Extra\": 1}}", "Unknown field Extra"),
    ]

    @Test func malformedDocumentsNameTheProblemAndLine() {
        for (text, expected) in Self.malformed {
            do {
                _ = try PolicyDocument.parse(text)
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.code == "MalformedPolicyDocument")
                #expect(error.message.contains(expected), "\(error.message) should contain \(expected)")
            }
        }
    }

    @Test func trustPoliciesRefuseResourcesAndNeedPrincipals() {
        #expect(throws: APIError.self) {
            try PolicyDocument.parse("{\"Version\": \"2012-10-17\", \"Statement\": {\"Effect\": \"Allow\", \"Action\": \"sts:AssumeRole\", \"Resource\": \"*\"}}", kind: .trust)
        }
        #expect(throws: APIError.self) {
            try PolicyDocument.parse("{\"Version\": \"2012-10-17\", \"Statement\": {\"Effect\": \"Allow\", \"Principal\": {\"AWS\": \"bob\"}, \"Action\": \"sts:AssumeRole\"}}", kind: .trust)
        }
    }

    @Test func oversizedPoliciesAreRefused() {
        let many = (0..<400).map { "\"ecs:Describe\($0)\"" }.joined(separator: ",")
        #expect(throws: APIError.self) {
            try PolicyDocument.parse("{\"Version\": \"2012-10-17\", \"Statement\": {\"Effect\": \"Allow\", \"Action\": [\(many)], \"Resource\": \"*\"}}")
        }
    }
}
