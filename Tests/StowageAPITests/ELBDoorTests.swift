import Foundation
import StowageModel
import Testing

/// The ELBv2 door at the wire: form-encoded requests signed for `elasticloadbalancing`, XML answers read as botocore
/// reads them. The safety net for declaring the query-protocol operations as data (issue 24); what needs a real
/// HAProxy stays in pytests/test_load_balancing.py.
@Suite struct ELBDoorTests {
    static let healthy = ["HealthCheckPath": "/health", "HealthCheckIntervalSeconds": "10", "HealthCheckTimeoutSeconds": "3"]

    /// The worked example of adding an operation (docs/ARCHITECTURE.md): its shapes, handler and declaration.
    @Test func accountLimitsAreTheOnesStowageEnforces() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let limits = try await api.elb("DescribeAccountLimits", as: h.a)
            #expect(limits.status == 200, "\(limits.errorCode ?? "")")
            let byName = Dictionary(uniqueKeysWithValues: limits.list("Limits").compactMap { limit -> (String, String)? in
                guard let name = limit.child("Name")?.text, let max = limit.child("Max")?.text else { return nil }
                return (name, max)
            })
            #expect(byName["application-load-balancers"] == String(ELB.defaultAddresses.count))
            #expect(byName["condition-values-per-alb-rule"] == String(ELB.maxConditionValues))
            #expect(byName["target-groups-per-action-on-application-load-balancer"] == String(ELB.maxTargetGroupsPerForward))
            let first = try await api.elb("DescribeAccountLimits", ["PageSize": "1"], as: h.a)
            #expect(first.list("Limits").count == 1 && first["NextMarker"] != nil)
            let unknown = try await api.elb("DescribeAccountLimits", ["Region": "mars-1"], as: h.a)
            #expect(unknown.status == 400 && unknown.errorCode == "ValidationError")
        }
    }

    @Test func loadBalancerLifecycleInTheXMLBotocoreReads() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let created = try await api.elb("CreateLoadBalancer", ["Name": "shop", "Tags.member.1.Key": "team", "Tags.member.1.Value": "web"], as: h.a)
            #expect(created.status == 200)
            #expect(created.root?.name == "CreateLoadBalancerResponse")
            #expect(created.headers[values: .contentType].first?.hasPrefix("text/xml") == true)
            #expect(created.root?.first("ResponseMetadata.RequestId")?.text == created.headers.first { $0.name.canonicalName == "x-amzn-requestid" }?.value)
            let lbs = created.list("LoadBalancers")
            #expect(lbs.count == 1)
            let arn = try #require(created["LoadBalancers.member.LoadBalancerArn"])
            #expect(arn.hasPrefix("arn:aws:elasticloadbalancing:us-east-1:\(h.a.account):loadbalancer/app/shop/"))
            #expect(created["LoadBalancers.member.Type"] == "application")
            #expect(created["LoadBalancers.member.Scheme"] == "internet-facing")
            #expect(["provisioning", "active"].contains(created["LoadBalancers.member.State.Code"] ?? ""))
            let address = try #require(created["LoadBalancers.member.DNSName"])
            #expect(ELB.defaultAddresses.contains(address), "the address comes from the installation's pool")
            #expect(lbs.first?.list("AvailabilityZones").first?.list("LoadBalancerAddresses").first?.child("IpAddress")?.text == address)

            let byName = try await api.elb("DescribeLoadBalancers", ["Names.member.1": "shop"], as: h.a)
            #expect(byName["LoadBalancers.member.LoadBalancerArn"] == arn)
            let byArn = try await api.elb("DescribeLoadBalancers", ["LoadBalancerArns.member.1": arn], as: h.a)
            #expect(byArn["LoadBalancers.member.LoadBalancerName"] == "shop")
            let attributes = try await api.elb("DescribeLoadBalancerAttributes", ["LoadBalancerArn": arn], as: h.a)
            #expect(attributes.list("Attributes").contains { $0.child("Key")?.text == "idle_timeout.timeout_seconds" && $0.child("Value")?.text == "60" })

            let duplicate = try await api.elb("CreateLoadBalancer", ["Name": "shop"], as: h.a)
            #expect(duplicate.status == 400 && duplicate.errorCode == "DuplicateLoadBalancerName")
            #expect(duplicate.root?.name == "ErrorResponse" && duplicate.root?.first("Error.Type")?.text == "Sender")

            let deleted = try await api.elb("DeleteLoadBalancer", ["LoadBalancerArn": arn], as: h.a)
            #expect(deleted.status == 200)
            #expect(deleted.result != nil, "ELBv2's empty answers still carry <DeleteLoadBalancerResult>, which botocore looks for")
            let gone = try await api.elb("DescribeLoadBalancers", ["Names.member.1": "shop"], as: h.a)
            #expect(gone.status == 400 && gone.errorCode == "LoadBalancerNotFound")
            #expect(gone.message == "One or more load balancers not found: 'shop'", "ELBv2's words, once")
            let goneByArn = try await api.elb("DescribeLoadBalancers", ["LoadBalancerArns.member.1": arn], as: h.a)
            #expect(goneByArn.errorCode == "LoadBalancerNotFound" && goneByArn.message.contains(arn))
            #expect(try await api.elb("DeleteLoadBalancer", ["LoadBalancerArn": arn], as: h.a).status == 200, "deleting what is gone succeeds, as in AWS")
        }
    }

    @Test func loadBalancerInputIsRefusedWithELBCodesAndNothingWritten() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let refusals: [([String: String], String)] = [
                (["Name": "-bad-"], "ValidationError"),
                (["Name": "internal-x"], "ValidationError"),
                (["Name": "net", "Type": "network"], "InvalidConfigurationRequest"),
                (["Name": "sub", "Subnets.member.1": "subnet-1"], "InvalidSubnet"),
                (["Name": "sg", "SecurityGroups.member.1": "sg-1"], "InvalidSecurityGroup"),
                (["Name": "inner", "Scheme": "internal"], "InvalidScheme"),
                (["Name": "tagged", "Tags.member.1.Key": "aws:owner", "Tags.member.1.Value": "x"], "ValidationError"),
            ]
            try await api.expectRefused("CreateLoadBalancer", refusals, as: h.a)
            // A member Stowage does not honour is refused by its name, not accepted and ignored.
            let pool = try await api.elb("CreateLoadBalancer", ["Name": "pool", "CustomerOwnedIpv4Pool": "ipv4pool-coip-1"], as: h.a)
            #expect(pool.status == 400 && pool.errorCode == "ValidationError")
            #expect(pool.message.contains("CustomerOwnedIpv4Pool"))
            let listed = try await api.elb("DescribeLoadBalancers", ["Bogus.member.1": "x"], as: h.a)
            #expect(listed.errorCode == "ValidationError" && listed.message.contains("Bogus[]"), "a list member is named without its index")
            #expect(try await api.elb("DescribeLoadBalancers", as: h.a).list("LoadBalancers").isEmpty, "nothing was written")

            let unknown = try await api.elb("DescribeNothing", as: h.a)
            #expect(unknown.status == 400 && unknown.errorCode == "InvalidAction")
            // The signature's scope picks the service: ELB's action signed for IAM is not ELB's.
            let misSigned = try await api.query(service: "iam", action: "CreateLoadBalancer", params: ["Name": "iam"], as: h.a)
            #expect(misSigned.errorCode == "InvalidAction" && misSigned.message.contains("IAM"))
            let otherService = try await api.query(service: "s3", action: "ListBuckets", as: h.a)
            #expect(otherService.status == 400 && otherService.errorCode == "UnknownOperationException")
            #expect(try await api.elb("DescribeLoadBalancers", as: h.a).list("LoadBalancers").isEmpty)
        }
    }

    @Test func describeLoadBalancersPagesByMarker() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            for name in ["p1", "p2", "p3"] { #expect(try await api.elb("CreateLoadBalancer", ["Name": name], as: h.a).status == 200) }
            let first = try await api.elb("DescribeLoadBalancers", ["PageSize": "2"], as: h.a)
            #expect(first.list("LoadBalancers").count == 2)
            let marker = try #require(first["NextMarker"])
            let second = try await api.elb("DescribeLoadBalancers", ["PageSize": "2", "Marker": marker], as: h.a)
            #expect(second.list("LoadBalancers").count == 1)
            #expect(second["NextMarker"] == nil)
            let names = (first.list("LoadBalancers") + second.list("LoadBalancers")).compactMap { $0.child("LoadBalancerName")?.text }
            #expect(Set(names) == ["p1", "p2", "p3"] && names.count == 3)
            for size in ["0", "401", "x"] {
                let bad = try await api.elb("DescribeLoadBalancers", ["PageSize": size], as: h.a)
                #expect(bad.status == 400 && bad.errorCode == "ValidationError", "PageSize \(size)")
            }
            let both = try await api.elb("DescribeLoadBalancers", ["Names.member.1": "p1", "LoadBalancerArns.member.1": "arn"], as: h.a)
            #expect(both.errorCode == "ValidationError")
        }
    }

    @Test func targetGroupHealthChecksAreEchoedAndCheckedAgainstEachOther() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let created = try await api.elb("CreateTargetGroup", [
                "Name": "api", "Protocol": "HTTP", "Port": "8080", "TargetType": "ip", "HealthCheckPath": "/h'ok$x",
                "HealthCheckIntervalSeconds": "10", "HealthCheckTimeoutSeconds": "3", "HealthyThresholdCount": "3",
                "UnhealthyThresholdCount": "4", "Matcher.HttpCode": "200-299", "HealthCheckPort": "9000",
            ], as: h.a)
            #expect(created.status == 200, "\(created.message)")
            let tg = try #require(created.list("TargetGroups").first)
            let arn = try #require(tg.child("TargetGroupArn")?.text)
            #expect(arn.hasPrefix("arn:aws:elasticloadbalancing:us-east-1:\(h.a.account):targetgroup/api/"))
            let echoed = ["Port": "8080", "TargetType": "ip", "Protocol": "HTTP", "HealthCheckPath": "/h'ok$x", "HealthCheckIntervalSeconds": "10",
                          "HealthCheckTimeoutSeconds": "3", "HealthyThresholdCount": "3", "UnhealthyThresholdCount": "4",
                          "HealthCheckPort": "9000", "HealthCheckEnabled": "true", "HealthCheckProtocol": "HTTP"]
            for (member, value) in echoed { #expect(tg.child(member)?.text == value, "\(member)") }
            #expect(tg.first("Matcher.HttpCode")?.text == "200-299")
            #expect(tg.list("LoadBalancerArns").isEmpty)

            let plain = try await api.elb("CreateTargetGroup", ["Name": "plain", "Protocol": "HTTP", "Port": "80"], as: h.a)
            let defaults = ["TargetType": "instance", "HealthCheckPath": "/", "HealthCheckIntervalSeconds": "30", "HealthCheckTimeoutSeconds": "5",
                            "HealthyThresholdCount": "5", "UnhealthyThresholdCount": "2", "HealthCheckPort": "traffic-port"]
            for (member, value) in defaults { #expect(plain.list("TargetGroups").first?.child(member)?.text == value, "default \(member)") }
            #expect(plain["TargetGroups.member.Matcher.HttpCode"] == "200")
            let again = try await api.elb("CreateTargetGroup", ["Name": "plain", "Protocol": "HTTP", "Port": "80"], as: h.a)
            #expect(again["TargetGroups.member.TargetGroupArn"] == plain["TargetGroups.member.TargetGroupArn"], "the same group again is answered with it")

            let refusals: [([String: String], String)] = [
                (["HealthCheckIntervalSeconds": "5", "HealthCheckTimeoutSeconds": "5"], "InvalidConfigurationRequest"),
                (["HealthCheckIntervalSeconds": "10", "HealthCheckTimeoutSeconds": "12"], "InvalidConfigurationRequest"),
                (["HealthCheckIntervalSeconds": "4"], "ValidationError"),
                (["HealthCheckPath": "/a\"b"], "ValidationError"),
                (["HealthCheckPath": "/a b"], "ValidationError"),
                (["HealthCheckPath": "health"], "ValidationError"),
                (["HealthCheckPort": "70000"], "ValidationError"),
                (["Matcher.HttpCode": "600"], "ValidationError"),
                (["Matcher.GrpcCode": "0"], "InvalidConfigurationRequest"),
                (["HealthyThresholdCount": "11"], "ValidationError"),
                (["Protocol": "HTTPS"], "UnsupportedProtocol"),
                (["VpcId": "vpc-1"], "InvalidConfigurationRequest"),
                (["TargetType": "lambda"], "InvalidConfigurationRequest"),
                (["Port": "81"], "DuplicateTargetGroupName"),
            ]
            try await api.expectRefused("CreateTargetGroup", refusals, over: ["Name": "plain", "Protocol": "HTTP", "Port": "80"], as: h.a)
            let groups = try await api.elb("DescribeTargetGroups", as: h.a)
            #expect(Set(groups.list("TargetGroups").compactMap { $0.child("TargetGroupName")?.text }) == ["api", "plain"])
            #expect(groups.list("TargetGroups").first { $0.child("TargetGroupName")?.text == "plain" }?.child("Port")?.text == "80")
        }
    }

    @Test func modifyTargetGroupAndItsAttributes() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let created = try await api.elb("CreateTargetGroup", ["Name": "mod", "Protocol": "HTTP", "Port": "80", "TargetType": "ip"], as: h.a)
            let arn = try #require(created["TargetGroups.member.TargetGroupArn"])
            let modified = try await api.elb("ModifyTargetGroup", ["TargetGroupArn": arn, "HealthCheckPath": "/ready",
                                                                   "HealthCheckIntervalSeconds": "15", "Matcher.HttpCode": "200,204"], as: h.a)
            #expect(modified["TargetGroups.member.HealthCheckPath"] == "/ready")
            #expect(modified["TargetGroups.member.HealthCheckIntervalSeconds"] == "15")
            #expect(modified["TargetGroups.member.HealthCheckTimeoutSeconds"] == "5", "members not given keep their values")
            #expect(modified["TargetGroups.member.Matcher.HttpCode"] == "200,204")

            let tooSlow = try await api.elb("ModifyTargetGroup", ["TargetGroupArn": arn, "HealthCheckTimeoutSeconds": "15"], as: h.a)
            #expect(tooSlow.errorCode == "InvalidConfigurationRequest" && tooSlow.message.contains("15"))
            let unread = try await api.elb("ModifyTargetGroup", ["TargetGroupArn": arn, "Port": "81"], as: h.a)
            #expect(unread.errorCode == "ValidationError" && unread.message.contains("Port"), "ModifyTargetGroup has no Port: refused by name")
            let described = try await api.elb("DescribeTargetGroups", ["TargetGroupArns.member.1": arn], as: h.a)
            #expect(described["TargetGroups.member.HealthCheckTimeoutSeconds"] == "5" && described["TargetGroups.member.Port"] == "80",
                    "a refused modification changed nothing")

            let attributes = try await api.elb("DescribeTargetGroupAttributes", ["TargetGroupArn": arn], as: h.a)
            #expect(attributes.attribute("deregistration_delay.timeout_seconds") == "300")
            let set = try await api.elb("ModifyTargetGroupAttributes", [
                "TargetGroupArn": arn, "Attributes.member.1.Key": "deregistration_delay.timeout_seconds", "Attributes.member.1.Value": "5",
                "Attributes.member.2.Key": "slow_start.duration_seconds", "Attributes.member.2.Value": "30",
            ], as: h.a)
            #expect(set.attribute("deregistration_delay.timeout_seconds") == "5")
            let after = try await api.elb("DescribeTargetGroupAttributes", ["TargetGroupArn": arn], as: h.a)
            #expect(after.attribute("deregistration_delay.timeout_seconds") == "5" && after.attribute("slow_start.duration_seconds") == "30")
            for (key, value) in [("stickiness.enabled", "true"), ("slow_start.duration_seconds", "10"), ("made.up", "1")] {
                let refused = try await api.elb("ModifyTargetGroupAttributes", ["TargetGroupArn": arn, "Attributes.member.1.Key": key,
                                                                                "Attributes.member.1.Value": value], as: h.a)
                #expect(refused.errorCode == "InvalidConfigurationRequest" && refused.message.contains(key), "\(key)=\(value)")
            }
            #expect(try await api.elb("DescribeTargetGroupAttributes", ["TargetGroupArn": arn], as: h.a).attribute("slow_start.duration_seconds") == "30")

            let missing = String(arn.dropLast(4)) + "0000"
            for action in ["ModifyTargetGroup", "DescribeTargetGroupAttributes", "DescribeTargetHealth"] {
                let answer = try await api.elb(action, ["TargetGroupArn": missing], as: h.a)
                #expect(answer.status == 400 && answer.errorCode == "TargetGroupNotFound", "\(action)")
            }
            let byName = try await api.elb("DescribeTargetGroups", ["Names.member.1": "ghost"], as: h.a)
            #expect(byName.errorCode == "TargetGroupNotFound")
            #expect(byName.message == "One or more target groups not found: 'ghost'", "ELBv2's words, once")
            #expect(try await api.elb("DeleteTargetGroup", ["TargetGroupArn": arn], as: h.a).status == 200)
            #expect(try await api.elb("DescribeTargetGroups", ["TargetGroupArns.member.1": arn], as: h.a).errorCode == "TargetGroupNotFound")
        }
    }

    @Test func listenersWithForwardAndFixedResponseActions() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let (lb, tg) = try await api.balancerAndGroup(as: h.a)
            let forward = try await api.elb("CreateListener", ["LoadBalancerArn": lb, "Protocol": "HTTP", "Port": "8080",
                                                               "DefaultActions.member.1.Type": "forward",
                                                               "DefaultActions.member.1.TargetGroupArn": tg], as: h.a)
            #expect(forward.status == 200, "\(forward.message)")
            let listener = try #require(forward["Listeners.member.ListenerArn"])
            #expect(listener.contains(":listener/app/shop/"))
            #expect(forward["Listeners.member.LoadBalancerArn"] == lb && forward["Listeners.member.Port"] == "8080")
            let action = try #require(forward.list("Listeners").first?.list("DefaultActions").first)
            #expect(action.child("Type")?.text == "forward" && action.child("TargetGroupArn")?.text == tg)
            #expect(action.list("ForwardConfig.TargetGroups").first?.child("TargetGroupArn")?.text == tg)
            #expect(action.list("ForwardConfig.TargetGroups").first?.child("Weight")?.text == "1")

            let fixed = try await api.elb("CreateListener", [
                "LoadBalancerArn": lb, "Protocol": "HTTP", "Port": "8081", "DefaultActions.member.1.Type": "fixed-response",
                "DefaultActions.member.1.FixedResponseConfig.StatusCode": "404", "DefaultActions.member.1.FixedResponseConfig.ContentType": "text/plain",
                "DefaultActions.member.1.FixedResponseConfig.MessageBody": "no <route> & none",
            ], as: h.a)
            let config = fixed.list("Listeners").first?.list("DefaultActions").first?.child("FixedResponseConfig")
            #expect(config?.child("StatusCode")?.text == "404" && config?.child("ContentType")?.text == "text/plain")
            #expect(config?.child("MessageBody")?.text == "no <route> & none", "text is escaped in the XML and read back whole")

            let listed = try await api.elb("DescribeListeners", ["LoadBalancerArn": lb], as: h.a)
            #expect(Set(listed.list("Listeners").compactMap { $0.child("Port")?.text }) == ["8080", "8081"])
            let groups = try await api.elb("DescribeTargetGroups", ["TargetGroupArns.member.1": tg], as: h.a)
            #expect(groups.result?.strings("TargetGroups.member.LoadBalancerArns") == [lb], "a group forwarded to names its load balancer")
            let byLoadBalancer = try await api.elb("DescribeTargetGroups", ["LoadBalancerArn": lb], as: h.a)
            #expect(byLoadBalancer["TargetGroups.member.TargetGroupArn"] == tg)

            let refusals: [([String: String], String)] = [
                (["Port": "8080", "DefaultActions.member.1.Type": "forward", "DefaultActions.member.1.TargetGroupArn": tg], "DuplicateListener"),
                (["Port": "443", "Protocol": "HTTPS", "DefaultActions.member.1.Type": "forward", "DefaultActions.member.1.TargetGroupArn": tg],
                 "UnsupportedProtocol"),
                (["Port": "82", "DefaultActions.member.1.Type": "redirect", "DefaultActions.member.1.RedirectConfig.StatusCode": "HTTP_301"],
                 "InvalidLoadBalancerAction"),
                (["Port": "83", "DefaultActions.member.1.Type": "forward", "DefaultActions.member.1.TargetGroupArn": String(tg.dropLast(4)) + "0000"],
                 "TargetGroupNotFound"),
                (["Port": "84"], "ValidationError"),
                (["Port": "85", "DefaultActions.member.1.Type": "forward", "DefaultActions.member.1.TargetGroupArn": tg,
                  "DefaultActions.member.2.Type": "fixed-response", "DefaultActions.member.2.FixedResponseConfig.StatusCode": "200"], "TooManyActions"),
                (["Port": "86", "DefaultActions.member.1.Type": "forward", "DefaultActions.member.1.TargetGroupArn": tg,
                  "Certificates.member.1.CertificateArn": "arn:aws:acm:us-east-1:1:certificate/x"], "ValidationError"),
            ]
            try await api.expectRefused("CreateListener", refusals, over: ["LoadBalancerArn": lb, "Protocol": "HTTP"], as: h.a)
            let missingLb = try await api.elb("CreateListener", ["LoadBalancerArn": lb + "0", "Port": "87", "DefaultActions.member.1.Type": "forward",
                                                                 "DefaultActions.member.1.TargetGroupArn": tg], as: h.a)
            #expect(missingLb.errorCode == "LoadBalancerNotFound")
            #expect(try await api.elb("DescribeListeners", ["LoadBalancerArn": lb], as: h.a).list("Listeners").count == 2, "nothing half-written")

            let inUse = try await api.elb("DeleteTargetGroup", ["TargetGroupArn": tg], as: h.a)
            #expect(inUse.errorCode == "ResourceInUse")
            #expect(try await api.elb("DeleteListener", ["ListenerArn": listener], as: h.a).status == 200)
            let gone = try await api.elb("DescribeListeners", ["ListenerArns.member.1": listener], as: h.a)
            #expect(gone.errorCode == "ListenerNotFound")
            #expect(try await api.elb("DeleteTargetGroup", ["TargetGroupArn": tg], as: h.a).status == 200, "no longer in use")
        }
    }

    @Test func rulesWithConditionsPrioritiesAndPaging() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let (lb, tg) = try await api.balancerAndGroup(as: h.a)
            let other = try #require(try await api.elb("CreateTargetGroup", ["Name": "web", "Protocol": "HTTP", "Port": "80", "TargetType": "ip"],
                                                       as: h.a)["TargetGroups.member.TargetGroupArn"])
            let listener = try #require(try await api.elb("CreateListener", [
                "LoadBalancerArn": lb, "Protocol": "HTTP", "Port": "8080", "DefaultActions.member.1.Type": "fixed-response",
                "DefaultActions.member.1.FixedResponseConfig.StatusCode": "404",
            ], as: h.a)["Listeners.member.ListenerArn"])

            let path = try await api.elb("CreateRule", [
                "ListenerArn": listener, "Priority": "10", "Conditions.member.1.Field": "path-pattern",
                "Conditions.member.1.Values.member.1": "/api/*", "Actions.member.1.Type": "forward", "Actions.member.1.TargetGroupArn": tg,
            ], as: h.a)
            #expect(path.status == 200, "\(path.message)")
            let pathRule = try #require(path["Rules.member.RuleArn"])
            #expect(pathRule.contains(":listener-rule/app/shop/"))
            #expect(path["Rules.member.Priority"] == "10" && path["Rules.member.IsDefault"] == "false")
            let condition = try #require(path.list("Rules").first?.list("Conditions").first)
            #expect(condition.child("Field")?.text == "path-pattern")
            #expect(condition.strings("Values") == ["/api/*"] && condition.strings("PathPatternConfig.Values") == ["/api/*"])

            let host = try await api.elb("CreateRule", [
                "ListenerArn": listener, "Priority": "20", "Conditions.member.1.Field": "host-header",
                "Conditions.member.1.HostHeaderConfig.Values.member.1": "shop.example.com",
                "Actions.member.1.Type": "forward", "Actions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn": tg,
                "Actions.member.1.ForwardConfig.TargetGroups.member.1.Weight": "3",
                "Actions.member.1.ForwardConfig.TargetGroups.member.2.TargetGroupArn": other,
                "Actions.member.1.ForwardConfig.TargetGroups.member.2.Weight": "1",
            ], as: h.a)
            let hostRule = try #require(host["Rules.member.RuleArn"])
            #expect(host.list("Rules").first?.list("Conditions").first?.strings("HostHeaderConfig.Values") == ["shop.example.com"])
            let weighted = host.list("Rules").first?.list("Actions").first?.list("ForwardConfig.TargetGroups") ?? []
            #expect(weighted.map { "\($0.child("TargetGroupArn")?.text ?? ""):\($0.child("Weight")?.text ?? "")" } == ["\(tg):3", "\(other):1"])
            #expect(host.list("Rules").first?.list("Actions").first?.child("TargetGroupArn") == nil, "a ForwardConfig answers without TargetGroupArn")

            let forwardTg = ["Actions.member.1.Type": "forward", "Actions.member.1.TargetGroupArn": tg]
            let refusals: [([String: String], String)] = [
                (["Priority": "10", "Conditions.member.1.Field": "path-pattern", "Conditions.member.1.Values.member.1": "/b"], "PriorityInUse"),
                (["Priority": "0", "Conditions.member.1.Field": "path-pattern", "Conditions.member.1.Values.member.1": "/b"], "ValidationError"),
                (["Priority": "50001", "Conditions.member.1.Field": "path-pattern", "Conditions.member.1.Values.member.1": "/b"], "ValidationError"),
                (["Priority": "30", "Conditions.member.1.Field": "cookie", "Conditions.member.1.Values.member.1": "/b"], "ValidationError"),
                (["Priority": "31", "Conditions.member.1.Field": "path-pattern", "Conditions.member.1.Values.member.1": "/b",
                  "Conditions.member.1.PathPatternConfig.Values.member.1": "/c"], "InvalidConfigurationRequest"),
                (["Priority": "32", "Conditions.member.1.Field": "path-pattern"]
                    .merging((1...6).map { ("Conditions.member.1.Values.member.\($0)", "/v\($0)") }) { $1 }, "InvalidConfigurationRequest"),
            ]
            try await api.expectRefused("CreateRule", refusals, over: ["ListenerArn": listener].merging(forwardTg) { $1 }, as: h.a)

            let described = try await api.elb("DescribeRules", ["ListenerArn": listener], as: h.a)
            #expect(described.list("Rules").compactMap { $0.child("Priority")?.text } == ["10", "20", "default"])
            #expect(described.list("Rules").last?.child("IsDefault")?.text == "true")
            let defaultRule = try #require(described.list("Rules").last?.child("RuleArn")?.text)
            #expect(described.list("Rules").last?.list("Actions").first?.child("Type")?.text == "fixed-response")

            let swapped = try await api.elb("SetRulePriorities", [
                "RulePriorities.member.1.RuleArn": pathRule, "RulePriorities.member.1.Priority": "30",
                "RulePriorities.member.2.RuleArn": hostRule, "RulePriorities.member.2.Priority": "10",
            ], as: h.a)
            #expect(swapped.status == 200, "\(swapped.message)")
            #expect(Set(swapped.list("Rules").compactMap { "\($0.child("RuleArn")?.text ?? "")=\($0.child("Priority")?.text ?? "")" })
                    == ["\(pathRule)=30", "\(hostRule)=10"])
            let reordered = try await api.elb("DescribeRules", ["ListenerArn": listener], as: h.a)
            #expect(reordered.list("Rules").compactMap { $0.child("RuleArn")?.text } == [hostRule, pathRule, defaultRule])
            let clash = try await api.elb("SetRulePriorities", ["RulePriorities.member.1.RuleArn": pathRule, "RulePriorities.member.1.Priority": "10"],
                                          as: h.a)
            #expect(clash.errorCode == "PriorityInUse")
            let ofDefault = try await api.elb("SetRulePriorities", ["RulePriorities.member.1.RuleArn": defaultRule,
                                                                    "RulePriorities.member.1.Priority": "5"], as: h.a)
            #expect(ofDefault.errorCode == "OperationNotPermitted")
            #expect(try await api.elb("DeleteRule", ["RuleArn": defaultRule], as: h.a).errorCode == "OperationNotPermitted")

            let one = try await api.elb("DescribeRules", ["RuleArns.member.1": pathRule], as: h.a)
            #expect(one.list("Rules").count == 1 && one["Rules.member.Priority"] == "30")
            let page = try await api.elb("DescribeRules", ["ListenerArn": listener, "PageSize": "2"], as: h.a)
            #expect(page.list("Rules").count == 2)
            let marker = try #require(page["NextMarker"])
            let rest = try await api.elb("DescribeRules", ["ListenerArn": listener, "PageSize": "2", "Marker": marker], as: h.a)
            #expect(rest.list("Rules").compactMap { $0.child("RuleArn")?.text } == [defaultRule] && rest["NextMarker"] == nil)

            #expect(try await api.elb("DeleteRule", ["RuleArn": pathRule], as: h.a).status == 200)
            let deleted = try await api.elb("DescribeRules", ["RuleArns.member.1": pathRule], as: h.a)
            #expect(deleted.status == 400 && deleted.errorCode == "RuleNotFound")
        }
    }

    @Test func ipTargetsPassTheTargetPolicyOrAreRefusedByName() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let (lb, tg) = try await api.balancerAndGroup(as: h.a)
            let registered = try await api.elb("RegisterTargets", ["TargetGroupArn": tg, "Targets.member.1.Id": "203.0.113.10",
                                                                   "Targets.member.1.Port": "8080", "Targets.member.2.Id": "203.0.113.11"], as: h.a)
            #expect(registered.status == 200 && registered.result != nil, "\(registered.message)")
            let unused = try await api.elb("DescribeTargetHealth", ["TargetGroupArn": tg], as: h.a)
            let targets = unused.list("TargetHealthDescriptions")
            #expect(Set(targets.map { "\($0.first("Target.Id")?.text ?? ""):\($0.first("Target.Port")?.text ?? "")" })
                    == ["203.0.113.10:8080", "203.0.113.11:80"], "a target without a port takes the group's")
            #expect(targets.allSatisfy { $0.first("TargetHealth.State")?.text == "unused" && $0.first("TargetHealth.Reason")?.text == "Target.NotInUse" })
            #expect(targets.first { $0.first("Target.Port")?.text == "8080" }?.child("HealthCheckPort")?.text == "8080")

            // The policy refuses the metadata address, private ranges and what is not an address; nothing is registered.
            for address in ["169.254.169.254", "10.0.0.5", "127.0.0.1", "not-an-ip", "203.0.113.0/24"] {
                let refused = try await api.elb("RegisterTargets", ["TargetGroupArn": tg, "Targets.member.1.Id": address], as: h.a)
                #expect(refused.status == 400 && refused.errorCode == "InvalidTarget" && refused.message.contains(address),
                        "\(address): \(refused.errorCode ?? "none") \(refused.message)")
            }
            let mixed = try await api.elb("RegisterTargets", ["TargetGroupArn": tg, "Targets.member.1.Id": "203.0.113.12",
                                                              "Targets.member.2.Id": "169.254.169.254"], as: h.a)
            #expect(mixed.errorCode == "InvalidTarget")
            #expect(try await api.elb("DescribeTargetHealth", ["TargetGroupArn": tg], as: h.a).list("TargetHealthDescriptions").count == 2,
                    "a refused request registers none of its targets")

            _ = try await api.elb("CreateListener", ["LoadBalancerArn": lb, "Port": "8080", "DefaultActions.member.1.Type": "forward",
                                                     "DefaultActions.member.1.TargetGroupArn": tg], as: h.a)
            let inUse = try await api.elb("DescribeTargetHealth", ["TargetGroupArn": tg, "Targets.member.1.Id": "203.0.113.10",
                                                                   "Targets.member.2.Id": "203.0.113.99"], as: h.a)
            let states = Dictionary(uniqueKeysWithValues: inUse.list("TargetHealthDescriptions").map {
                ($0.first("Target.Id")?.text ?? "", ($0.first("TargetHealth.State")?.text ?? "", $0.first("TargetHealth.Reason")?.text))
            })
            #expect(states["203.0.113.10"]?.0 == "initial", "a group behind a listener checks its targets")
            #expect(states["203.0.113.99"]?.0 == "unused" && states["203.0.113.99"]?.1 == "Target.NotRegistered")

            #expect(try await api.elb("DeregisterTargets", ["TargetGroupArn": tg, "Targets.member.1.Id": "203.0.113.10"], as: h.a).status == 200)
            let draining = try await api.elb("DescribeTargetHealth", ["TargetGroupArn": tg, "Targets.member.1.Id": "203.0.113.10"], as: h.a)
            #expect(draining["TargetHealthDescriptions.member.TargetHealth.State"] == "draining")
            let notThere = try await api.elb("DeregisterTargets", ["TargetGroupArn": tg, "Targets.member.1.Id": "203.0.113.77"], as: h.a)
            #expect(notThere.errorCode == "InvalidTarget")
            let anomaly = try await api.elb("DescribeTargetHealth", ["TargetGroupArn": tg, "Include.member.1": "AnomalyDetection"], as: h.a)
            #expect(anomaly.errorCode == "ValidationError" && anomaly.message.contains("Include"))
            let none = try await api.elb("RegisterTargets", ["TargetGroupArn": tg], as: h.a)
            #expect(none.errorCode == "ValidationError")
        }

        // An operator's --allow-target-cidr lets a private range through; the metadata address stays refused.
        var backend = h.backend
        backend.targetPolicy = TargetPolicy(outbound: OutboundPolicy(allowed: [try #require(CIDR("10.0.0.0/8"))]))
        let allowing = Harness(backend: backend, a: h.a, b: h.b)
        try await allowing.run { api in
            let tg = try #require(try await api.elb("CreateTargetGroup", ["Name": "private", "Protocol": "HTTP", "Port": "80", "TargetType": "ip"],
                                                    as: h.a)["TargetGroups.member.TargetGroupArn"])
            #expect(try await api.elb("RegisterTargets", ["TargetGroupArn": tg, "Targets.member.1.Id": "10.0.0.5"], as: h.a).status == 200)
            let metadata = try await api.elb("RegisterTargets", ["TargetGroupArn": tg, "Targets.member.1.Id": "169.254.169.254"], as: h.a)
            #expect(metadata.errorCode == "InvalidTarget")
            #expect(try await api.elb("DescribeTargetHealth", ["TargetGroupArn": tg], as: h.a).list("TargetHealthDescriptions").count == 1)
        }
    }

    @Test func tagsOnLoadBalancersAndTargetGroups() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let (lb, tg) = try await api.balancerAndGroup(as: h.a)
            let added = try await api.elb("AddTags", ["ResourceArns.member.1": lb, "ResourceArns.member.2": tg,
                                                      "Tags.member.1.Key": "team", "Tags.member.1.Value": "shop",
                                                      "Tags.member.2.Key": "env", "Tags.member.2.Value": "dev"], as: h.a)
            #expect(added.status == 200 && added.result != nil)
            _ = try await api.elb("AddTags", ["ResourceArns.member.1": lb, "Tags.member.1.Key": "team", "Tags.member.1.Value": "web"], as: h.a)
            _ = try await api.elb("RemoveTags", ["ResourceArns.member.1": tg, "TagKeys.member.1": "env"], as: h.a)
            let described = try await api.elb("DescribeTags", ["ResourceArns.member.1": lb, "ResourceArns.member.2": tg], as: h.a)
            let tags = Dictionary(uniqueKeysWithValues: described.list("TagDescriptions").map { d in
                (d.child("ResourceArn")?.text ?? "", d.list("Tags").map { "\($0.child("Key")?.text ?? "")=\($0.child("Value")?.text ?? "")" })
            })
            #expect(tags[lb] == ["env=dev", "team=web"], "a key added again takes the new value")
            #expect(tags[tg] == ["team=shop"])

            let reserved = try await api.elb("AddTags", ["ResourceArns.member.1": lb, "Tags.member.1.Key": "aws:x", "Tags.member.1.Value": "1"], as: h.a)
            #expect(reserved.errorCode == "ValidationError")
            let twice = try await api.elb("AddTags", ["ResourceArns.member.1": lb, "Tags.member.1.Key": "k", "Tags.member.1.Value": "1",
                                                      "Tags.member.2.Key": "k", "Tags.member.2.Value": "2"], as: h.a)
            #expect(twice.errorCode == "DuplicateTagKeys")
            let many = try await api.elb("AddTags", ["ResourceArns.member.1": lb].merging((1...51).flatMap {
                [("Tags.member.\($0).Key", "k\($0)"), ("Tags.member.\($0).Value", "v")]
            }) { $1 }, as: h.a)
            #expect(many.errorCode == "TooManyTags")
            let missing = try await api.elb("DescribeTags", ["ResourceArns.member.1": String(lb.dropLast(4)) + "0000"], as: h.a)
            #expect(missing.errorCode == "LoadBalancerNotFound")
            let none = try await api.elb("DescribeTags", as: h.a)
            #expect(none.errorCode == "ValidationError")
            let after = try await api.elb("DescribeTags", ["ResourceArns.member.1": lb], as: h.a)
            #expect(after.list("TagDescriptions").first?.list("Tags").count == 2, "refused tags changed nothing")
        }
    }

    @Test func anotherTenantCannotSeeOrTouchALoadBalancerByArn() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let (lb, tg) = try await api.balancerAndGroup(as: h.a)
            #expect(try await api.elb("DescribeLoadBalancers", as: h.b).list("LoadBalancers").isEmpty)
            #expect(try await api.elb("DescribeTargetGroups", as: h.b).list("TargetGroups").isEmpty)
            let described = try await api.elb("DescribeLoadBalancers", ["LoadBalancerArns.member.1": lb], as: h.b)
            #expect(described.status == 400 && described.errorCode == "LoadBalancerNotFound")
            // An ARN of another account is refused before it is looked up.
            let deleted = try await api.elb("DeleteLoadBalancer", ["LoadBalancerArn": lb], as: h.b)
            #expect(deleted.status == 400 && deleted.errorCode == "AccessDeniedException")
            let health = try await api.elb("DescribeTargetHealth", ["TargetGroupArn": tg], as: h.b)
            #expect(health.errorCode == "AccessDeniedException")
            let tagged = try await api.elb("AddTags", ["ResourceArns.member.1": lb, "Tags.member.1.Key": "owner", "Tags.member.1.Value": "b"], as: h.b)
            #expect(tagged.errorCode == "AccessDeniedException")
            let registered = try await api.elb("RegisterTargets", ["TargetGroupArn": tg, "Targets.member.1.Id": "203.0.113.5"], as: h.b)
            #expect(registered.errorCode == "AccessDeniedException")

            let still = try await api.elb("DescribeLoadBalancers", ["LoadBalancerArns.member.1": lb], as: h.a)
            #expect(still["LoadBalancers.member.LoadBalancerName"] == "shop", "still there")
            #expect(try await api.elb("DescribeTags", ["ResourceArns.member.1": lb], as: h.a).list("TagDescriptions").first?.list("Tags").isEmpty == true)
            #expect(try await api.elb("DescribeTargetHealth", ["TargetGroupArn": tg], as: h.a).list("TargetHealthDescriptions").isEmpty)
        }
    }
}

extension Harness.Client {
    func elb(_ action: String, _ params: [String: String] = [:], as tenant: Tenant) async throws -> QueryAnswer {
        try await query(service: "elasticloadbalancing", action: action, params: params, as: tenant)
    }

    /// Each request (its members over `base`) refused with its code and status 400; what was answered instead is said.
    func expectRefused(_ action: String, _ cases: [([String: String], String)], over base: [String: String] = [:], as tenant: Tenant)
        async throws
    {
        for (members, code) in cases {
            let answer = try await elb(action, base.merging(members) { $1 }, as: tenant)
            #expect(answer.status == 400 && answer.errorCode == code, "\(action) \(members): \(answer.errorCode ?? "none") \(answer.message)")
        }
    }

    /// A load balancer `shop` and an ip target group `api` on port 80: their ARNs.
    func balancerAndGroup(as tenant: Tenant) async throws -> (String, String) {
        let lb = try #require(try await elb("CreateLoadBalancer", ["Name": "shop"], as: tenant)["LoadBalancers.member.LoadBalancerArn"])
        let tg = try #require(try await elb("CreateTargetGroup", ["Name": "api", "Protocol": "HTTP", "Port": "80", "TargetType": "ip"]
                                                .merging(ELBDoorTests.healthy) { $1 }, as: tenant)["TargetGroups.member.TargetGroupArn"])
        return (lb, tg)
    }
}

extension QueryAnswer {
    /// The value of one attribute of an `Attributes` list.
    func attribute(_ key: String) -> String? {
        list("Attributes").first { $0.child("Key")?.text == key }?.child("Value")?.text
    }
}
