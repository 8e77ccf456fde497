import Foundation
@testable import StowageAPI
import StowageModel
import Testing

/// The operation declarations the router builds every door from, and the query protocol's Codable coder.
@Suite struct OperationTests {
    @Test func everyOperationIsDeclaredOnceAndReachableThroughItsDoor() {
        let actions = Operations.all.map(\.action)
        #expect(Set(actions).count == actions.count, "an operation is declared twice")
        for operation in Operations.all {
            switch operation.service.wire {
            case .json(let prefix, _):
                #expect(Operations.target(prefix + operation.name)?.action == operation.action)
            case .query, .restOnly:
                #expect(Operations.named(operation.service, operation.name)?.action == operation.action)
            }
        }
        // The rate bucket is declared, not guessed from the name: discovering instances reads.
        #expect(Operations.named(.servicediscovery, "DiscoverInstances")?.access == .read)
        #expect(Operations.named(.secretsmanager, "GetSecretValue")?.access == .read)
        #expect(Operations.named(.ecs, "RunTask")?.access == .write)
        #expect(Operations.target("AmazonEC2ContainerServiceV20141113.NoSuchThing") == nil)
    }

    @Test func everyRESTRouteServesAnOperationWithARateBucket() {
        for route in RESTAPI.routes where !route.path.contains("{action}") {
            #expect(route.access != nil, "\(route.method) \(route.path) names \(route.action) but no rate bucket")
        }
        // A route that serves a declared operation shares its bucket.
        let listTasks = RESTAPI.routes.first { $0.action == IAMAction(.ecs, "ListTasks") }
        #expect(listTasks?.access == .read)
    }

    @Test func formParametersDecodeIntoTypedInputsAndUnknownMembersAreRefusedByName() throws {
        let form = QueryRequest(params: [
            "Action": "CreateTargetGroup", "Version": "2015-12-01", "Name": "web", "Protocol": "HTTP", "Port": "8080",
            "HealthCheckPath": "/health", "HealthCheckIntervalSeconds": "10", "Matcher.HttpCode": "200-299",
            "Tags.member.1.Key": "env", "Tags.member.1.Value": "prod", "Tags.member.2.Key": "team", "Tags.member.2.Value": "",
        ])
        let input = try QueryDecoder.decode(ELBShapes.CreateTargetGroup.self, from: form, errorCode: "ValidationError")
        #expect(input.name == "web")
        #expect(input.port == 8080)
        #expect(input.healthCheck.healthCheckPath == "/health")
        #expect(input.healthCheck.healthCheckIntervalSeconds == 10)
        #expect(input.healthCheck.matcher?.httpCode == "200-299")
        #expect(input.tags?.map(\.key) == ["env", "team"])

        var unknown = form
        unknown.params["Tags.member.1.Colour"] = "blue"
        #expect(throws: APIError.self) { try QueryDecoder.decode(ELBShapes.CreateTargetGroup.self, from: unknown, errorCode: "ValidationError") }
        do {
            _ = try QueryDecoder.decode(ELBShapes.CreateTargetGroup.self, from: unknown, errorCode: "ValidationError")
        } catch let error as APIError {
            #expect(error.code == "ValidationError")
            #expect(error.message.contains("Tags[].Colour"), "\(error.message)")
        }

        var wrongType = form
        wrongType.params["Port"] = "eighty"
        do {
            _ = try QueryDecoder.decode(ELBShapes.CreateTargetGroup.self, from: wrongType, errorCode: "ValidationError")
            Issue.record("a port that is not a number was accepted")
        } catch let error as APIError {
            #expect(error.message == "Port must be an integer; got 'eighty'.")
        }

        var missing = form
        missing.params["Name"] = nil
        do {
            _ = try QueryDecoder.decode(ELBShapes.CreateTargetGroup.self, from: missing, errorCode: "ValidationError")
            Issue.record("a missing required member was accepted")
        } catch let error as APIError {
            #expect(error.message.contains("'name'"), "\(error.message)")
        }
    }

    @Test func aParameterNameDeeperOrLongerThanAnyMemberIsRefusedBeforeItIsIndexed() {
        // 200,000 segments would cost the prefix index tens of billions of character copies.
        let deep = QueryRequest(params: ["Action": "DescribeLoadBalancers", String(repeating: "a.", count: 200_000) + "a": "x"])
        #expect(throws: APIError.self) { try QueryDecoder.decode(ELBShapes.DescribeLoadBalancers.self, from: deep, errorCode: "ValidationError") }
        let long = QueryRequest(params: ["Action": "DescribeLoadBalancers", String(repeating: "n", count: 600): "x"])
        #expect(throws: APIError.self) { try QueryDecoder.decode(ELBShapes.DescribeLoadBalancers.self, from: long, errorCode: "ValidationError") }
        // The deepest modelled names (a query-string condition value) still decode.
        let modelled = QueryRequest(params: ["Action": "DescribeLoadBalancers", "Names.member.1": "web"])
        #expect((try? QueryDecoder.decode(ELBShapes.DescribeLoadBalancers.self, from: modelled, errorCode: "ValidationError"))?.names == ["web"])
    }

    @Test func nestedListsOfStructuresDecodeInOrder() throws {
        let form = QueryRequest(params: [
            "Action": "SetRulePriorities",
            "RulePriorities.member.1.RuleArn": "arn:a", "RulePriorities.member.1.Priority": "5",
            "RulePriorities.member.2.RuleArn": "arn:b", "RulePriorities.member.2.Priority": "7",
        ])
        let input = try QueryDecoder.decode(ELBShapes.SetRulePriorities.self, from: form, errorCode: "ValidationError")
        #expect(input.rulePriorities.map(\.ruleArn) == ["arn:a", "arn:b"])
        #expect(input.rulePriorities.map(\.priority) == [5, 7])
        // An empty list as botocore sends it (`Names=`) is read and absent.
        let empty = QueryRequest(params: ["Action": "DescribeLoadBalancers", "Names": ""])
        let describe = try QueryDecoder.decode(ELBShapes.DescribeLoadBalancers.self, from: empty, errorCode: "ValidationError")
        #expect(describe.names == nil)
    }

    @Test func outputsEncodeInDeclarationOrderWithAcronymsAndDates() throws {
        let lb = ELBShapes.LoadBalancer(loadBalancerArn: "arn:lb", dnsName: "127.0.10.1", createdTime: Date(timeIntervalSince1970: 0),
                                        loadBalancerName: "web", scheme: "internet-facing", state: .init(code: "active", reason: nil),
                                        availabilityZones: [.init(loadBalancerAddresses: [.init(ipAddress: "127.0.10.1")])], ipAddressType: "ipv4")
        let fields = try QueryValueEncoder.fields(ELBShapes.LoadBalancers(loadBalancers: [lb], nextMarker: nil))
        #expect(fields.map(\.0) == ["LoadBalancers"])
        var xml = ""
        QueryValue.object(fields).xml(into: &xml)
        #expect(xml.hasPrefix("<LoadBalancers><member><LoadBalancerArn>arn:lb</LoadBalancerArn><DNSName>127.0.10.1</DNSName>"), "\(xml)")
        #expect(xml.contains("<CreatedTime>1970-01-01T00:00:00"), "\(xml)")
        #expect(xml.contains("<State><Code>active</Code></State>"), "\(xml)")
        #expect(xml.contains("<SecurityGroups></SecurityGroups>"), "\(xml)")
        #expect(!xml.contains("NextMarker"))
    }
}

/// The JSON doors' member echo: what a request sent that its decoded input does not hold.
@Suite struct MemberEchoTests {
    func unread(_ request: String, _ echo: String) -> String? { MemberEcho.unread(request: Data(request.utf8), echo: Data(echo.utf8)) }

    @Test func aMemberTheInputDidNotReadIsNamedWithItsPath() {
        #expect(unread(#"{"Name":"a","Colour":"blue"}"#, #"{"Name":"a"}"#) == "Colour")
        #expect(unread(#"{"DnsConfig":{"DnsRecords":[{"Type":"A","TTL":10,"Weight":3}]}}"#,
                       #"{"DnsConfig":{"DnsRecords":[{"Type":"A","TTL":10}]}}"#) == "DnsConfig.DnsRecords[0].Weight")
        #expect(unread(#"{"Filters":[{"Name":"a"},{"Name":"b"}]}"#, #"{"Filters":[{"Name":"a"}]}"#) == "Filters[1]")
    }

    @Test func valuesThatAskForNothingAndEchoedMembersPass() {
        #expect(unread(#"{"Name":"a","Colour":null,"Tags":[],"Force":false,"Count":0,"Extra":{}}"#, #"{"Name":"a"}"#) == nil)
        #expect(unread(#"{"Name":"a","Tags":[{"Key":"k","Value":"v"}]}"#, #"{"Name":"a","Tags":[{"Key":"k","Value":"v"}],"Arn":"x"}"#) == nil)
        #expect(unread("", "{}") == nil)
    }
}
