import Foundation
import StowageIAM
import StowageModel
import Testing

/// The IAM and STS doors at the wire: form-encoded requests signed for `iam` or `sts`, XML answers read as botocore
/// reads them (policy documents URL-encoded, as botocore decodes them). The safety net for declaring the
/// query-protocol operations as data (issue 24); pytests/test_iam_sts.py keeps what needs boto3 and real processes.
@Suite struct IAMDoorTests {
    static func policy(_ statements: [[String: Any]]) -> String { json(["Version": "2012-10-17", "Statement": statements]) }
    static let allowAll = policy([["Effect": "Allow", "Action": "*", "Resource": "*"]])

    @Test func userLifecycle() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let created = try await api.iam("CreateUser", ["UserName": "deployer", "Path": "/ci/", "Tags.member.1.Key": "team",
                                                           "Tags.member.1.Value": "web"], as: h.a)
            #expect(created.status == 200 && created.root?.name == "CreateUserResponse", "\(created.message)")
            #expect(created["User.Arn"] == "arn:aws:iam::\(h.a.account):user/ci/deployer")
            #expect(created["User.Path"] == "/ci/" && created["User.UserName"] == "deployer")
            #expect(created["User.UserId"]?.hasPrefix("AIDA") == true)
            #expect(created["User.CreateDate"].flatMap(UTCTime.parseRFC3339) != nil, "an ISO 8601 time botocore parses")

            let got = try await api.iam("GetUser", ["UserName": "deployer"], as: h.a)
            #expect(got["User.UserId"] == created["User.UserId"] && got["User.Arn"] == created["User.Arn"])
            let me = try await api.iam("GetUser", as: h.a)
            #expect(me["User.UserName"] == "admin", "without a name GetUser answers for the caller")
            let listed = try await api.iam("ListUsers", as: h.a)
            #expect(Set(listed.list("Users").compactMap { $0.child("UserName")?.text }) == ["admin", "deployer"])
            #expect(listed["IsTruncated"] == "false")

            let again = try await api.iam("CreateUser", ["UserName": "deployer"], as: h.a)
            #expect(again.status == 409 && again.errorCode == "EntityAlreadyExists")
            let badName = try await api.iam("CreateUser", ["UserName": "no spaces"], as: h.a)
            #expect(badName.status == 400 && badName.errorCode == "ValidationError")
            let badPath = try await api.iam("CreateUser", ["UserName": "pathless", "Path": "ci"], as: h.a)
            #expect(badPath.errorCode == "ValidationError")
            let noName = try await api.iam("CreateUser", as: h.a)
            #expect(noName.errorCode == "ValidationError" && noName.message.contains("userName"))

            let key = try await api.iam("CreateAccessKey", ["UserName": "deployer"], as: h.a)
            let conflict = try await api.iam("DeleteUser", ["UserName": "deployer"], as: h.a)
            #expect(conflict.status == 409 && conflict.errorCode == "DeleteConflict", "a user with keys is not deleted")
            _ = try await api.iam("DeleteAccessKey", ["UserName": "deployer", "AccessKeyId": key["AccessKey.AccessKeyId"] ?? ""], as: h.a)
            let deleted = try await api.iam("DeleteUser", ["UserName": "deployer"], as: h.a)
            #expect(deleted.status == 200 && deleted.root?.name == "DeleteUserResponse")
            let gone = try await api.iam("GetUser", ["UserName": "deployer"], as: h.a)
            #expect(gone.status == 404 && gone.errorCode == "NoSuchEntity" && gone.message.contains("deployer"))
            #expect(try await api.iam("DeleteUser", ["UserName": "deployer"], as: h.a).errorCode == "NoSuchEntity")
        }
    }

    @Test func roleWithTrustAndInlinePolicies() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let trust = Self.policy([["Effect": "Allow", "Principal": ["AWS": "arn:aws:iam::\(h.a.account):user/admin"], "Action": "sts:AssumeRole"]])
            let created = try await api.iam("CreateRole", ["RoleName": "deploy", "AssumeRolePolicyDocument": trust, "MaxSessionDuration": "7200",
                                                           "Description": "ships web"], as: h.a)
            #expect(created.status == 200, "\(created.message)")
            #expect(created["Role.Arn"] == "arn:aws:iam::\(h.a.account):role/deploy" && created["Role.RoleId"]?.hasPrefix("AROA") == true)
            #expect(created["Role.MaxSessionDuration"] == "7200" && created["Role.Description"] == "ships web")
            let encoded = try #require(created["Role.AssumeRolePolicyDocument"])
            #expect(!encoded.contains("{"), "IAM answers documents URL-encoded")
            #expect(Self.decoded(encoded) == Self.decoded(trust), "and botocore decodes them back to the document sent")
            #expect(try await api.iam("GetRole", ["RoleName": "deploy"], as: h.a)["Role.Arn"] == created["Role.Arn"])

            let inline = Self.policy([["Effect": "Allow", "Action": "ecs:UpdateService", "Resource": "*"]])
            let put = try await api.iam("PutRolePolicy", ["RoleName": "deploy", "PolicyName": "update", "PolicyDocument": inline], as: h.a)
            #expect(put.status == 200 && put.result == nil, "IAM's empty answers have no result element")
            let got = try await api.iam("GetRolePolicy", ["RoleName": "deploy", "PolicyName": "update"], as: h.a)
            #expect(got["RoleName"] == "deploy" && got["PolicyName"] == "update")
            #expect(Self.decoded(got["PolicyDocument"] ?? "") == Self.decoded(inline))
            #expect(try await api.iam("ListRolePolicies", ["RoleName": "deploy"], as: h.a).result?.strings("PolicyNames") == ["update"])
            let conflict = try await api.iam("DeleteRole", ["RoleName": "deploy"], as: h.a)
            #expect(conflict.status == 409 && conflict.errorCode == "DeleteConflict")

            #expect(try await api.iam("DeleteRolePolicy", ["RoleName": "deploy", "PolicyName": "update"], as: h.a).status == 200)
            #expect(try await api.iam("ListRolePolicies", ["RoleName": "deploy"], as: h.a).result?.strings("PolicyNames") == [])
            let again = try await api.iam("DeleteRolePolicy", ["RoleName": "deploy", "PolicyName": "update"], as: h.a)
            #expect(again.status == 404 && again.errorCode == "NoSuchEntity")
            let noRole = try await api.iam("PutRolePolicy", ["RoleName": "ghost", "PolicyName": "p", "PolicyDocument": inline], as: h.a)
            #expect(noRole.errorCode == "NoSuchEntity")
            #expect(try await api.iam("GetRolePolicy", ["RoleName": "deploy", "PolicyName": "update"], as: h.a).errorCode == "NoSuchEntity")

            let duplicate = try await api.iam("CreateRole", ["RoleName": "deploy", "AssumeRolePolicyDocument": trust], as: h.a)
            #expect(duplicate.status == 409 && duplicate.errorCode == "EntityAlreadyExists")
            let short = try await api.iam("CreateRole", ["RoleName": "short", "AssumeRolePolicyDocument": trust, "MaxSessionDuration": "60"], as: h.a)
            #expect(short.errorCode == "ValidationError")
            #expect(try await api.iam("DeleteRole", ["RoleName": "deploy"], as: h.a).status == 200)
            #expect(try await api.iam("GetRole", ["RoleName": "deploy"], as: h.a).errorCode == "NoSuchEntity")
            #expect(try await api.iam("ListRoles", as: h.a).list("Roles").isEmpty)
        }
    }

    @Test func managedPoliciesAttachAndDetach() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let trust = Self.policy([["Effect": "Allow", "Principal": ["Service": "ecs-tasks.amazonaws.com"], "Action": "sts:AssumeRole"]])
            _ = try await api.iam("CreateRole", ["RoleName": "task", "AssumeRolePolicyDocument": trust], as: h.a)
            let read = Self.policy([["Sid": "Read", "Effect": "Allow", "Action": ["ecs:Describe*", "ecs:List*"], "Resource": "*"]])
            let created = try await api.iam("CreatePolicy", ["PolicyName": "ecs-read", "PolicyDocument": read, "Description": "reads"], as: h.a)
            let arn = try #require(created["Policy.Arn"])
            #expect(arn == "arn:aws:iam::\(h.a.account):policy/ecs-read")
            #expect(created["Policy.DefaultVersionId"] == "v1" && created["Policy.AttachmentCount"] == "0" && created["Policy.IsAttachable"] == "true")
            let duplicate = try await api.iam("CreatePolicy", ["PolicyName": "ecs-read", "PolicyDocument": read], as: h.a)
            #expect(duplicate.status == 409 && duplicate.errorCode == "EntityAlreadyExists")

            #expect(try await api.iam("AttachRolePolicy", ["RoleName": "task", "PolicyArn": arn], as: h.a).status == 200)
            let builtIn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
            #expect(try await api.iam("AttachRolePolicy", ["RoleName": "task", "PolicyArn": builtIn], as: h.a).status == 200)
            let attached = try await api.iam("ListAttachedRolePolicies", ["RoleName": "task"], as: h.a)
            #expect(Set(attached.list("AttachedPolicies").compactMap { $0.child("PolicyArn")?.text }) == [arn, builtIn])
            #expect(attached.list("AttachedPolicies").contains { $0.child("PolicyName")?.text == "ecs-read" })
            #expect(attached["IsTruncated"] == "false")
            #expect(try await api.iam("GetPolicy", ["PolicyArn": arn], as: h.a)["Policy.AttachmentCount"] == "1")
            #expect(try await api.iam("GetPolicy", ["PolicyArn": builtIn], as: h.a)["Policy.PolicyName"] == "ReadOnlyAccess")
            let inUse = try await api.iam("DeletePolicy", ["PolicyArn": arn], as: h.a)
            #expect(inUse.status == 409 && inUse.errorCode == "DeleteConflict")

            let refusals: [([String: String], String, Int)] = [
                (["RoleName": "task", "PolicyArn": "arn:aws:iam::aws:policy/NoSuchThing"], "NoSuchEntity", 404),
                (["RoleName": "task", "PolicyArn": "arn:aws:iam::\(h.a.account):policy/ghost"], "NoSuchEntity", 404),
                (["RoleName": "task", "PolicyArn": "not-an-arn"], "InvalidInput", 400),
                (["RoleName": "ghost", "PolicyArn": arn], "NoSuchEntity", 404),
            ]
            for (params, code, status) in refusals {
                let answer = try await api.iam("AttachRolePolicy", params, as: h.a)
                #expect(answer.status == status && answer.errorCode == code, "\(params): \(answer.errorCode ?? "none") \(answer.message)")
            }

            #expect(try await api.iam("DetachRolePolicy", ["RoleName": "task", "PolicyArn": arn], as: h.a).status == 200)
            let detachedTwice = try await api.iam("DetachRolePolicy", ["RoleName": "task", "PolicyArn": arn], as: h.a)
            #expect(detachedTwice.status == 404 && detachedTwice.errorCode == "NoSuchEntity")
            #expect(try await api.iam("ListAttachedRolePolicies", ["RoleName": "task"], as: h.a).list("AttachedPolicies").count == 1)
            let local = try await api.iam("ListPolicies", ["Scope": "Local"], as: h.a)
            #expect(local.list("Policies").compactMap { $0.child("PolicyName")?.text } == ["ecs-read"])
            let version = try await api.iam("GetPolicyVersion", ["PolicyArn": arn, "VersionId": "v1"], as: h.a)
            #expect(Self.decoded(version["PolicyVersion.Document"] ?? "") == Self.decoded(read) && version["PolicyVersion.IsDefaultVersion"] == "true")
            #expect(try await api.iam("DeletePolicy", ["PolicyArn": arn], as: h.a).status == 200)
            #expect(try await api.iam("GetPolicy", ["PolicyArn": arn], as: h.a).errorCode == "NoSuchEntity")

            // Another account sees none of it.
            #expect(try await api.iam("ListPolicies", ["Scope": "Local"], as: h.b).list("Policies").isEmpty)
            let theirs = try await api.iam("ListAttachedRolePolicies", ["RoleName": "task"], as: h.b)
            #expect(theirs.errorCode == "NoSuchEntity")
        }
    }

    @Test func malformedPolicyDocumentsSayWhereAndWriteNothing() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            _ = try await api.iam("CreateUser", ["UserName": "u"], as: h.a)
            let badCondition = "{\"Version\": \"2012-10-17\",\n \"Statement\": [{\"Effect\": \"Allow\",\n  \"Action\": \"ecs:*\",\n  \"Resource\": \"*\",\n"
                + "  \"Condition\": {\"StringSortOf\": {\"ecs:cluster\": \"x\"}}}]}"
            let documents = ["{not json", badCondition, Self.policy([["Effect": "Allow", "Action": "ecs:*", "Resource": "*cluster*"]]),
                             Self.policy([["Effect": "Maybe", "Action": "ecs:*", "Resource": "*"]]), json(["Version": "2012-10-17"])]
            for document in documents {
                let created = try await api.iam("CreatePolicy", ["PolicyName": "bad", "PolicyDocument": document], as: h.a)
                #expect(created.status == 400 && created.errorCode == "MalformedPolicyDocument", "\(document): \(created.message)")
                let put = try await api.iam("PutUserPolicy", ["UserName": "u", "PolicyName": "bad", "PolicyDocument": document], as: h.a)
                #expect(put.errorCode == "MalformedPolicyDocument")
            }
            let located = try await api.iam("CreatePolicy", ["PolicyName": "bad", "PolicyDocument": badCondition], as: h.a)
            #expect(located.message.contains("Line 5"), "\(located.message)")
            // A trust policy has a principal and no resource; an identity policy the reverse.
            let trustWithResource = Self.policy([["Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"]])
            #expect(try await api.iam("CreateRole", ["RoleName": "r", "AssumeRolePolicyDocument": trustWithResource], as: h.a).errorCode
                    == "MalformedPolicyDocument")
            let big = Self.policy((1...200).map { ["Sid": "S\($0)", "Effect": "Allow", "Action": "ecs:DescribeClusters", "Resource": "*"] })
            #expect(try await api.iam("PutUserPolicy", ["UserName": "u", "PolicyName": "big", "PolicyDocument": big], as: h.a).errorCode
                    == "MalformedPolicyDocument", "an inline policy over 10,240 characters")

            #expect(try await api.iam("ListPolicies", ["Scope": "Local"], as: h.a).list("Policies").isEmpty)
            #expect(try await api.iam("ListUserPolicies", ["UserName": "u"], as: h.a).result?.strings("PolicyNames") == [])
            #expect(try await api.iam("GetRole", ["RoleName": "r"], as: h.a).errorCode == "NoSuchEntity")
        }
    }

    @Test func accessKeysWorkUntilDeleted() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            _ = try await api.iam("CreateUser", ["UserName": "ci"], as: h.a)
            let created = try await api.iam("CreateAccessKey", ["UserName": "ci"], as: h.a)
            let ci = try Self.tenant(created, account: h.a.account)
            #expect(created["AccessKey.UserName"] == "ci" && created["AccessKey.Status"] == "Active")
            let identity = try await api.query(service: "sts", action: "GetCallerIdentity", as: ci)
            #expect(identity["Arn"] == "arn:aws:iam::\(h.a.account):user/ci", "the new key works at once")

            let listed = try await api.iam("ListAccessKeys", ["UserName": "ci"], as: h.a)
            #expect(listed.list("AccessKeyMetadata").compactMap { $0.child("AccessKeyId")?.text } == [ci.key.accessKeyId])
            #expect(listed.list("AccessKeyMetadata").first?.child("SecretAccessKey") == nil, "a secret is shown once, when created")
            _ = try await api.iam("CreateAccessKey", ["UserName": "ci"], as: h.a)
            let third = try await api.iam("CreateAccessKey", ["UserName": "ci"], as: h.a)
            #expect(third.status == 409 && third.errorCode == "LimitExceeded")
            #expect(try await api.iam("CreateAccessKey", ["UserName": "ghost"], as: h.a).errorCode == "NoSuchEntity")

            let inactive = try await api.iam("UpdateAccessKey", ["UserName": "ci", "AccessKeyId": ci.key.accessKeyId, "Status": "Inactive"], as: h.a)
            #expect(inactive.status == 200)
            #expect(try await api.query(service: "sts", action: "GetCallerIdentity", as: ci).status == 403)
            #expect(try await api.iam("ListAccessKeys", ["UserName": "ci"], as: h.a).list("AccessKeyMetadata").contains {
                $0.child("AccessKeyId")?.text == ci.key.accessKeyId && $0.child("Status")?.text == "Inactive"
            })
            #expect(try await api.iam("DeleteAccessKey", ["UserName": "ci", "AccessKeyId": ci.key.accessKeyId], as: h.a).status == 200)
            #expect(try await api.query(service: "sts", action: "GetCallerIdentity", as: ci).status == 403)
            let twice = try await api.iam("DeleteAccessKey", ["UserName": "ci", "AccessKeyId": ci.key.accessKeyId], as: h.a)
            #expect(twice.status == 404 && twice.errorCode == "NoSuchEntity")
            #expect(try await api.iam("ListAccessKeys", ["UserName": "ci"], as: h.a).list("AccessKeyMetadata").count == 1)
        }
    }

    @Test func anExplicitDenyWinsOverAdministratorAccess() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            _ = try await api.iam("CreateUser", ["UserName": "operator"], as: h.a)
            _ = try await api.iam("AttachUserPolicy", ["UserName": "operator", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"], as: h.a)
            let deny = Self.policy([["Effect": "Deny", "Action": ["iam:CreateUser", "elasticloadbalancing:CreateLoadBalancer"], "Resource": "*"]])
            #expect(try await api.iam("PutUserPolicy", ["UserName": "operator", "PolicyName": "no-new", "PolicyDocument": deny], as: h.a).status == 200)
            let op = try Self.tenant(try await api.iam("CreateAccessKey", ["UserName": "operator"], as: h.a), account: h.a.account)

            #expect(try await api.iam("ListUsers", as: op).status == 200, "what is not denied is allowed")
            let user = try await api.iam("CreateUser", ["UserName": "sneaky"], as: op)
            #expect(user.status == 400 && user.errorCode == "AccessDeniedException")
            #expect(user.message.contains("iam:CreateUser") && user.message.contains("user/operator"))
            let lb = try await api.elb("CreateLoadBalancer", ["Name": "sneaky"], as: op)
            #expect(lb.errorCode == "AccessDeniedException" && lb.message.contains("elasticloadbalancing:CreateLoadBalancer"))
            #expect(lb.root?.name == "ErrorResponse", "refused in the door's own XML")
            #expect(try await api.iam("GetUser", ["UserName": "sneaky"], as: h.a).errorCode == "NoSuchEntity", "nothing was written")
            #expect(try await api.elb("DescribeLoadBalancers", as: h.a).list("LoadBalancers").isEmpty)

            // Without any policy a user may do nothing, but STS still says who it is.
            _ = try await api.iam("CreateUser", ["UserName": "bare"], as: h.a)
            let bare = try Self.tenant(try await api.iam("CreateAccessKey", ["UserName": "bare"], as: h.a), account: h.a.account)
            #expect(try await api.iam("ListUsers", as: bare).errorCode == "AccessDeniedException")
            #expect(try await api.query(service: "sts", action: "GetCallerIdentity", as: bare)["Account"] == h.a.account)
        }
    }

    @Test func stsIdentityAndAssumeRoleThroughTheQueryDoor() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let me = try await api.query(service: "sts", action: "GetCallerIdentity", as: h.a)
            #expect(me.status == 200 && me.root?.name == "GetCallerIdentityResponse")
            #expect(me["Account"] == h.a.account && me["Arn"] == "arn:aws:iam::\(h.a.account):user/admin" && me["UserId"] == h.a.key.accessKeyId)
            // The scope says which door: STS's action signed for IAM is not found there.
            #expect(try await api.iam("GetCallerIdentity", as: h.a).errorCode == "InvalidAction")

            _ = try await api.iam("CreateUser", ["UserName": "ci"], as: h.a)
            let ci = try Self.tenant(try await api.iam("CreateAccessKey", ["UserName": "ci"], as: h.a), account: h.a.account)
            let trust = Self.policy([["Effect": "Allow", "Principal": ["AWS": "arn:aws:iam::\(h.a.account):user/ci"], "Action": "sts:AssumeRole"]])
            let roleArn = try #require(try await api.iam("CreateRole", ["RoleName": "deploy", "AssumeRolePolicyDocument": trust], as: h.a)["Role.Arn"])
            _ = try await api.iam("PutRolePolicy", ["RoleName": "deploy", "PolicyName": "all", "PolicyDocument": Self.allowAll], as: h.a)

            let assumed = try await api.query(service: "sts", action: "AssumeRole",
                                              params: ["RoleArn": roleArn, "RoleSessionName": "run-42", "DurationSeconds": "900"], as: ci)
            #expect(assumed.status == 200, "\(assumed.message)")
            let id = try #require(assumed["Credentials.AccessKeyId"])
            let secret = try #require(assumed["Credentials.SecretAccessKey"])
            let token = try #require(assumed["Credentials.SessionToken"])
            #expect(id.hasPrefix("ASIA"))
            #expect(assumed["AssumedRoleUser.Arn"] == "arn:aws:sts::\(h.a.account):assumed-role/deploy/run-42")
            let expiration = try #require(assumed["Credentials.Expiration"].flatMap(UTCTime.parseRFC3339).map(UTCTime.date(nanos:)))
            #expect(abs(expiration.timeIntervalSinceNow - 900) < 60)

            let session = Tenant(account: h.a.account, key: NewAccessKey(accountId: h.a.account, userName: "", accessKeyId: id, secretAccessKey: secret))
            let who = try await api.query(service: "sts", action: "GetCallerIdentity", as: session, token: token)
            #expect(who["Arn"] == "arn:aws:sts::\(h.a.account):assumed-role/deploy/run-42")
            #expect(try await api.iam("ListRoles", as: session, token: token).status == 200, "the role's policy applies")
            #expect(try await api.query(service: "sts", action: "GetCallerIdentity", as: session).status == 403, "not without its token")
            #expect(try await api.query(service: "sts", action: "GetCallerIdentity", as: session, token: token + "x").status == 403)

            let refusals: [(Tenant, [String: String], String)] = [
                (h.a, ["RoleArn": roleArn, "RoleSessionName": "admin-run"], "AccessDeniedException"),
                (ci, ["RoleArn": roleArn, "RoleSessionName": "long", "DurationSeconds": "7200"], "ValidationError"),
                (ci, ["RoleArn": roleArn, "RoleSessionName": "x"], "ValidationError"),
                (ci, ["RoleArn": "arn:aws:iam::\(h.a.account):role/ghost", "RoleSessionName": "ghost"], "AccessDeniedException"),
                (ci, ["RoleArn": "deploy", "RoleSessionName": "byname"], "ValidationError"),
                (h.b, ["RoleArn": roleArn, "RoleSessionName": "other"], "AccessDeniedException"),
            ]
            for (caller, params, code) in refusals {
                let answer = try await api.query(service: "sts", action: "AssumeRole", params: params, as: caller)
                #expect(answer.errorCode == code, "\(params): \(answer.errorCode ?? "none") \(answer.message)")
                #expect(answer.status == 400 || answer.status == 403)
            }
        }
    }

    @Test func tagsAreWrittenToExistingPrincipalsOnly() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            _ = try await api.iam("CreateUser", ["UserName": "tagged", "Tags.member.1.Key": "team", "Tags.member.1.Value": "web"], as: h.a)
            #expect(try await api.iam("TagUser", ["UserName": "tagged", "Tags.member.1.Key": "env", "Tags.member.1.Value": "dev"], as: h.a).status == 200)
            let missing = try await api.iam("TagUser", ["UserName": "ghost", "Tags.member.1.Key": "env", "Tags.member.1.Value": "dev"], as: h.a)
            #expect(missing.status == 404 && missing.errorCode == "NoSuchEntity")
            let many = (1...50).reduce(into: ["UserName": "tagged"]) { params, n in
                params["Tags.member.\(n).Key"] = "k\(n)"
                params["Tags.member.\(n).Value"] = "v"
            }
            let tooMany = try await api.iam("TagUser", many, as: h.a)
            #expect(tooMany.status == 409 && tooMany.errorCode == "LimitExceeded", "two tags held and fifty more is over fifty")
            #expect(try await api.iam("TagRole", ["RoleName": "ghost", "Tags.member.1.Key": "k", "Tags.member.1.Value": "v"], as: h.a).errorCode
                    == "NoSuchEntity")
        }
    }

    @Test func listsSayTheyAreWhole() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            for name in ["u1", "u2", "u3"] { _ = try await api.iam("CreateUser", ["UserName": name], as: h.a) }
            let all = try await api.iam("ListUsers", as: h.a)
            #expect(all.list("Users").count == 4 && all["IsTruncated"] == "false" && all["Marker"] == nil)
            for action in ["ListRoles", "ListGroups", "ListPolicies"] {
                #expect(try await api.iam(action, as: h.a)["IsTruncated"] == "false", "\(action)")
            }
        }
    }

    @Test func listUsersPagesByMarker() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            for name in ["u1", "u2", "u3"] { _ = try await api.iam("CreateUser", ["UserName": name], as: h.a) }
            let first = try await api.iam("ListUsers", ["MaxItems": "2"], as: h.a)
            #expect(first.list("Users").count == 2 && first["IsTruncated"] == "true")
            let marker = try #require(first["Marker"])
            // The first page's last user is deleted before the next page is read: the marker still says where to go on.
            #expect(try await api.iam("DeleteUser", ["UserName": "u1"], as: h.a).status == 200)
            let rest = try await api.iam("ListUsers", ["MaxItems": "2", "Marker": marker], as: h.a)
            #expect(rest.list("Users").count == 2 && rest["IsTruncated"] == "false" && rest["Marker"] == nil)
            let names = (first.list("Users") + rest.list("Users")).compactMap { $0.child("UserName")?.text }
            #expect(names == ["admin", "u1", "u2", "u3"], "each user once, in name order")
            for bad in [["MaxItems": "0"], ["MaxItems": "1001"], ["MaxItems": "many"], ["Marker": "not-a-marker"]] {
                let refused = try await api.iam("ListUsers", bad, as: h.a)
                #expect(refused.status == 400 && refused.errorCode == "ValidationError", "\(bad): \(refused.message)")
            }

            // A group's users page the same way.
            _ = try await api.iam("CreateGroup", ["GroupName": "ops"], as: h.a)
            for name in ["u2", "u3"] { _ = try await api.iam("AddUserToGroup", ["GroupName": "ops", "UserName": name], as: h.a) }
            let members = try await api.iam("GetGroup", ["GroupName": "ops", "MaxItems": "1"], as: h.a)
            #expect(members["Group.GroupName"] == "ops" && members["IsTruncated"] == "true")
            #expect(members.list("Users").compactMap { $0.child("UserName")?.text } == ["u2"])
            let more = try await api.iam("GetGroup", ["GroupName": "ops", "Marker": members["Marker"] ?? ""], as: h.a)
            #expect(more.list("Users").compactMap { $0.child("UserName")?.text } == ["u3"] && more["IsTruncated"] == "false")

            // Policy versions, newest first.
            let document = Self.policy([["Effect": "Allow", "Action": "ecs:List*", "Resource": "*"]])
            let arn = try #require(try await api.iam("CreatePolicy", ["PolicyName": "p", "PolicyDocument": document], as: h.a)["Policy.Arn"])
            _ = try await api.iam("CreatePolicyVersion", ["PolicyArn": arn, "PolicyDocument": document], as: h.a)
            let newest = try await api.iam("ListPolicyVersions", ["PolicyArn": arn, "MaxItems": "1"], as: h.a)
            #expect(newest.list("Versions").compactMap { $0.child("VersionId")?.text } == ["v2"] && newest["IsTruncated"] == "true")
            let oldest = try await api.iam("ListPolicyVersions", ["PolicyArn": arn, "MaxItems": "1", "Marker": newest["Marker"] ?? ""], as: h.a)
            #expect(oldest.list("Versions").compactMap { $0.child("VersionId")?.text } == ["v1"] && oldest["IsTruncated"] == "false")

            // The built-in and own policies together, across pages, each once.
            var seen: [String] = []
            var next: String?
            for _ in 0..<20 {
                let page = try await api.iam("ListPolicies", ["MaxItems": "3"].merging(next.map { ["Marker": $0] } ?? [:]) { a, _ in a }, as: h.a)
                seen += page.list("Policies").compactMap { $0.child("Arn")?.text }
                next = page["Marker"]
                if page["IsTruncated"] != "true" { break }
            }
            let whole = try await api.iam("ListPolicies", as: h.a).list("Policies").compactMap { $0.child("Arn")?.text }
            #expect(seen == whole && whole.contains(arn) && Set(whole).count == whole.count && whole.count > 3)
        }
    }

    @Test func anUnknownMemberIsRefusedByName() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            // Members botocore models and Stowage does not honour, and made-up ones, are refused, never ignored.
            let boundary = try await api.iam("CreateUser", ["UserName": "bounded", "PermissionsBoundary": "arn:aws:iam::aws:policy/ReadOnlyAccess"],
                                             as: h.a)
            #expect(boundary.status == 400 && boundary.errorCode == "ValidationError" && boundary.message.contains("PermissionsBoundary"))
            let madeUp = try await api.iam("CreateUser", ["UserName": "madeup", "Colour": "blue"], as: h.a)
            #expect(madeUp.status == 400 && madeUp.errorCode == "ValidationError" && madeUp.message.contains("Colour"))
            #expect(try await api.iam("ListUsers", as: h.a).list("Users").count == 1, "nothing was written")

            let document = Self.policy([["Effect": "Allow", "Action": "ecs:List*", "Resource": "*"]])
            let tagged = try await api.iam("CreatePolicy", ["PolicyName": "tagged", "PolicyDocument": document, "Tags.member.1.Key": "team",
                                                            "Tags.member.1.Value": "web"], as: h.a)
            #expect(tagged.errorCode == "ValidationError" && tagged.message.contains("Tags[].Key"), "\(tagged.message)")
            #expect(try await api.iam("GetPolicy", ["PolicyArn": "arn:aws:iam::\(h.a.account):policy/tagged"], as: h.a).errorCode == "NoSuchEntity")
            let usage = try await api.iam("ListPolicies", ["PolicyUsageFilter": "PermissionsBoundary"], as: h.a)
            #expect(usage.errorCode == "ValidationError" && usage.message.contains("PolicyUsageFilter"))
            // Each kind's operation reads its own kind's name only.
            let crossed = try await api.iam("PutUserPolicy", ["UserName": "admin", "RoleName": "admin", "PolicyName": "p", "PolicyDocument": document],
                                            as: h.a)
            #expect(crossed.errorCode == "ValidationError" && crossed.message.contains("RoleName"))
            #expect(try await api.iam("ListUserPolicies", ["UserName": "admin"], as: h.a).result?.strings("PolicyNames") == [])
            let roleless = try await api.iam("GetRolePolicy", ["UserName": "admin", "PolicyName": "p"], as: h.a)
            #expect(roleless.errorCode == "ValidationError" && roleless.message.contains("roleName"), "\(roleless.message)")

            // PathPrefix is honoured.
            _ = try await api.iam("CreateUser", ["UserName": "deployer", "Path": "/ci/"], as: h.a)
            let ci = try await api.iam("ListUsers", ["PathPrefix": "/ci/"], as: h.a)
            #expect(ci.list("Users").compactMap { $0.child("UserName")?.text } == ["deployer"])
            #expect(try await api.iam("ListUsers", ["PathPrefix": "ci"], as: h.a).errorCode == "ValidationError")
        }
    }

    /// A policy document as JSON, whatever its spacing: an encoded one (as IAM answers) is decoded first.
    static func decoded(_ text: String) -> NSDictionary? {
        let plain = text.contains("{") ? text : (text.removingPercentEncoding ?? text)
        return (try? JSONSerialization.jsonObject(with: Data(plain.utf8))) as? NSDictionary
    }

    /// The caller a CreateAccessKey answer gives.
    static func tenant(_ created: QueryAnswer, account: String) throws -> Tenant {
        let id = try #require(created["AccessKey.AccessKeyId"], "\(created.message)")
        let secret = try #require(created["AccessKey.SecretAccessKey"])
        return Tenant(account: account, key: NewAccessKey(accountId: account, userName: created["AccessKey.UserName"] ?? "", accessKeyId: id,
                                                          secretAccessKey: secret))
    }
}

extension Harness.Client {
    func iam(_ action: String, _ params: [String: String] = [:], as tenant: Tenant, token: String? = nil) async throws -> QueryAnswer {
        try await query(service: "iam", action: action, params: params, as: tenant, token: token)
    }
}
