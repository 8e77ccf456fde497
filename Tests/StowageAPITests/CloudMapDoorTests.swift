import Foundation
import StowageModel
import Testing

/// The Cloud Map door at the wire (AWS JSON 1.1, `Route53AutoNaming_v20170314.*`, signed for `servicediscovery`):
/// namespaces, services, instances and discovery as boto3's servicediscovery client sends and reads them. What needs
/// ECS tasks or the DNS server stays in pytests/test_service_discovery.py.
@Suite struct CloudMapDoorTests {
    static var aRecord: [String: Any] { ["DnsRecords": [["Type": "A", "TTL": 10]]] }

    @Test func namespacesAreCreatedByOperations() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let created = try await api.cloudMap("CreatePrivateDnsNamespace", ["Name": "corp.internal", "Vpc": "vpc-stowage",
                                                                                "CreatorRequestId": "req-1", "Description": "corp"], as: h.a)
            #expect(created.status == 200, "\(created.json)")
            #expect(created.headers[values: .contentType].first == "application/x-amz-json-1.1")
            let op = try #require(created["OperationId"] as? String)
            let operation = try await api.cloudMap("GetOperation", ["OperationId": op], as: h.a).object("Operation")
            #expect(operation["Id"] as? String == op && operation["Status"] as? String == "SUCCESS" && operation["Type"] as? String == "CREATE_NAMESPACE")
            let id = try #require((operation["Targets"] as? [String: Any])?["NAMESPACE"] as? String)
            #expect(id.hasPrefix("ns-"))

            let namespace = try await api.cloudMap("GetNamespace", ["Id": id], as: h.a).object("Namespace")
            #expect(namespace["Name"] as? String == "corp.internal" && namespace["Type"] as? String == "DNS_PRIVATE")
            #expect(namespace["Arn"] as? String == "arn:aws:servicediscovery:us-east-1:\(h.a.account):namespace/\(id)")
            #expect(namespace["Description"] as? String == "corp" && namespace["ServiceCount"] as? Int == 0)
            let soa = ((namespace["Properties"] as? [String: Any])?["DnsProperties"] as? [String: Any])?["SOA"] as? [String: Any]
            #expect(soa?["TTL"] as? Int == 15)
            #expect(namespace["CreateDate"] is Double, "a timestamp as the JSON protocol sends it: epoch seconds")

            // The same CreatorRequestId answers the same operation; another request for the name is a conflict.
            let again = try await api.cloudMap("CreatePrivateDnsNamespace", ["Name": "corp.internal", "Vpc": "vpc-stowage",
                                                                              "CreatorRequestId": "req-1"], as: h.a)
            #expect(again["OperationId"] as? String == op)
            let clash = try await api.cloudMap("CreatePrivateDnsNamespace", ["Name": "corp.internal", "Vpc": "v"], as: h.a)
            #expect(clash.status == 400 && clash.errorType == "NamespaceAlreadyExists" && clash.message.contains("corp.internal"))

            let http = try await api.cloudMap("CreateHttpNamespace", ["Name": "corp-http"], as: h.a)
            let httpOp = try await api.cloudMap("GetOperation", ["OperationId": http["OperationId"] as? String ?? ""], as: h.a)
            let httpId = try #require((httpOp.object("Operation")["Targets"] as? [String: Any])?["NAMESPACE"] as? String)
            let onlyHttp = try await api.cloudMap("ListNamespaces", ["Filters": [["Name": "TYPE", "Values": ["HTTP"], "Condition": "EQ"]]], as: h.a)
            #expect(onlyHttp.array("Namespaces").compactMap { $0["Id"] as? String } == [httpId])
            let first = try await api.cloudMap("ListNamespaces", ["MaxResults": 1], as: h.a)
            #expect(first.array("Namespaces").count == 1)
            let token = try #require(first["NextToken"] as? String)
            let second = try await api.cloudMap("ListNamespaces", ["MaxResults": 1, "NextToken": token], as: h.a)
            #expect(second.array("Namespaces").count == 1 && second["NextToken"] == nil)
            #expect(Set((first.array("Namespaces") + second.array("Namespaces")).compactMap { $0["Id"] as? String }) == [id, httpId])

            let refusals: [(String, [String: Any], String)] = [
                ("CreatePrivateDnsNamespace", ["Name": "not a name", "Vpc": "v"], "InvalidInput"),
                ("CreatePrivateDnsNamespace", ["Name": "novpc.internal", "Vpc": ""], "InvalidInput"),
                ("ListNamespaces", ["Filters": [["Name": "TYPE", "Values": ["HTTP"], "Condition": "BETWEEN"]]], "InvalidInput"),
                ("ListNamespaces", ["MaxResults": 101], "InvalidInput"),
                ("ListNamespaces", ["NextToken": "garbage"], "InvalidInput"),
                ("GetNamespace", ["Id": "ns-doesnotexist000"], "NamespaceNotFound"),
                ("GetOperation", ["OperationId": "nope"], "OperationNotFound"),
                ("DeleteNamespace", ["Id": "ns-doesnotexist000"], "NamespaceNotFound"),
            ]
            for (action, body, code) in refusals {
                let answer = try await api.cloudMap(action, body, as: h.a)
                #expect(answer.status == 400 && answer.errorType == code, "\(action) \(body): \(answer.json)")
            }
            let noId = try await api.cloudMap("GetNamespace", as: h.a)
            #expect(noId.status == 400 && noId.message.lowercased().contains("id is required"), "a missing member is named: \(noId.json)")
            #expect(try await api.cloudMap("ListNamespaces", as: h.a).array("Namespaces").count == 2, "nothing more was written")

            let deleted = try await api.cloudMap("DeleteNamespace", ["Id": httpId], as: h.a)
            #expect(try await api.cloudMap("GetOperation", ["OperationId": deleted["OperationId"] as? String ?? ""], as: h.a)
                .object("Operation")["Type"] as? String == "DELETE_NAMESPACE")
            #expect(try await api.cloudMap("GetNamespace", ["Id": httpId], as: h.a).errorType == "NamespaceNotFound")
        }
    }

    @Test func servicesInDNSAndHTTPNamespaces() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let ns = try await api.namespace("svc.internal", as: h.a)
            let http = try await api.namespace("svc-http", http: true, as: h.a)
            let created = try await api.cloudMap("CreateService", ["Name": "api", "NamespaceId": ns, "CreatorRequestId": "svc-1",
                                                                   "DnsConfig": Self.aRecord, "Tags": [["Key": "team", "Value": "core"]]], as: h.a)
            #expect(created.status == 200, "\(created.json)")
            let service = created.object("Service")
            let id = try #require(service["Id"] as? String)
            #expect(id.hasPrefix("srv-") && service["Type"] as? String == "DNS_HTTP" && service["Name"] as? String == "api")
            #expect(service["Arn"] as? String == "arn:aws:servicediscovery:us-east-1:\(h.a.account):service/\(id)")
            let dns = service["DnsConfig"] as? [String: Any]
            #expect(dns?["NamespaceId"] as? String == ns && dns?["RoutingPolicy"] as? String == "MULTIVALUE")
            #expect((dns?["DnsRecords"] as? [[String: Any]])?.first?["TTL"] as? Int == 10)
            let tags = try await api.cloudMap("ListTagsForResource", ["ResourceARN": service["Arn"] as? String ?? ""], as: h.a)
            #expect(tags.array("Tags").map { "\($0["Key"] ?? "")=\($0["Value"] ?? "")" } == ["team=core"])

            let retried = try await api.cloudMap("CreateService", ["Name": "api", "NamespaceId": ns, "CreatorRequestId": "svc-1",
                                                                   "DnsConfig": Self.aRecord], as: h.a)
            #expect(retried.object("Service")["Id"] as? String == id, "a retry with its CreatorRequestId gets the service it made")
            let clash = try await api.cloudMap("CreateService", ["Name": "api", "NamespaceId": ns, "DnsConfig": Self.aRecord], as: h.a)
            #expect(clash.errorType == "ServiceAlreadyExists")

            let web = try await api.cloudMap("CreateService", ["Name": "web", "NamespaceId": http], as: h.a)
            #expect(web.object("Service")["Type"] as? String == "HTTP" && web.object("Service")["DnsConfig"] == nil)
            #expect(try await api.cloudMap("GetService", ["Id": id], as: h.a).object("Service")["Name"] as? String == "api")
            #expect(try await api.cloudMap("GetService", ["Id": service["Arn"] as? String ?? ""], as: h.a).object("Service")["Id"] as? String == id,
                    "a service is named by id or ARN")
            let inNamespace = try await api.cloudMap("ListServices", ["Filters": [["Name": "NAMESPACE_ID", "Values": [ns]]]], as: h.a)
            #expect(inNamespace.array("Services").compactMap { $0["Id"] as? String } == [id])
            #expect(try await api.cloudMap("ListServices", as: h.a).array("Services").count == 2)

            let refusals: [([String: Any], String)] = [
                (["Name": "x", "NamespaceId": http, "DnsConfig": Self.aRecord], "InvalidInput"),
                (["Name": "x", "NamespaceId": ns], "InvalidInput"),
                (["Name": "x", "NamespaceId": ns, "DnsConfig": ["DnsRecords": [["Type": "CNAME", "TTL": 5]]]], "InvalidInput"),
                (["Name": "x", "NamespaceId": ns, "DnsConfig": ["RoutingPolicy": "WEIGHTED", "DnsRecords": [["Type": "A", "TTL": 5]]]], "InvalidInput"),
                (["Name": "x", "NamespaceId": ns, "DnsConfig": Self.aRecord, "HealthCheckConfig": ["Type": "HTTP", "ResourcePath": "/"]], "InvalidInput"),
                (["Name": "x", "NamespaceId": ns, "DnsConfig": Self.aRecord, "HealthCheckCustomConfig": ["FailureThreshold": 11]], "InvalidInput"),
                (["Name": "bad name!", "NamespaceId": ns, "DnsConfig": Self.aRecord], "InvalidInput"),
                (["Name": "x", "NamespaceId": "ns-doesnotexist000", "DnsConfig": Self.aRecord], "NamespaceNotFound"),
                (["Name": "x"], "InvalidInput"),
            ]
            for (body, code) in refusals {
                let answer = try await api.cloudMap("CreateService", body, as: h.a)
                #expect(answer.status == 400 && answer.errorType == code, "\(body): \(answer.json)")
            }
            #expect(try await api.cloudMap("ListServices", as: h.a).array("Services").count == 2, "nothing was written")

            #expect(try await api.cloudMap("DeleteService", ["Id": id], as: h.a).status == 200)
            let gone = try await api.cloudMap("GetService", ["Id": id], as: h.a)
            #expect(gone.status == 400 && gone.errorType == "ServiceNotFound")
            #expect(try await api.cloudMap("DeleteService", ["Id": id], as: h.a).errorType == "ServiceNotFound")
        }
    }

    @Test func instancesAreDiscoveredByAttributesAndHealth() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let ns = try await api.namespace("find.internal", as: h.a)
            let created = try await api.cloudMap("CreateService", [
                "Name": "api", "NamespaceId": ns, "HealthCheckCustomConfig": ["FailureThreshold": 1],
                "DnsConfig": ["DnsRecords": [["Type": "A", "TTL": 10], ["Type": "SRV", "TTL": 10]]],
            ], as: h.a)
            let service = try #require(created.object("Service")["Id"] as? String)
            for (n, health, stage) in [("i-1", "HEALTHY", "prod"), ("i-2", "HEALTHY", "dev"), ("i-3", "UNHEALTHY", "prod")] {
                let registered = try await api.cloudMap("RegisterInstance", ["ServiceId": service, "InstanceId": n, "Attributes": [
                    "AWS_INSTANCE_IPV4": "10.1.0.\(n.suffix(1))", "AWS_INSTANCE_PORT": "8080", "AWS_INIT_HEALTH_STATUS": health, "stage": stage,
                ]], as: h.a)
                let op = try #require(registered["OperationId"] as? String, "\(registered.json)")
                let operation = try await api.cloudMap("GetOperation", ["OperationId": op], as: h.a).object("Operation")
                #expect(operation["Type"] as? String == "REGISTER_INSTANCE" && (operation["Targets"] as? [String: Any])?["INSTANCE"] as? String == n)
            }
            let listed = try await api.cloudMap("ListInstances", ["ServiceId": service], as: h.a)
            #expect(Set(listed.array("Instances").compactMap { $0["Id"] as? String }) == ["i-1", "i-2", "i-3"])
            #expect((listed.array("Instances").first { $0["Id"] as? String == "i-2" }?["Attributes"] as? [String: String])?["stage"] == "dev")
            let health = try await api.cloudMap("GetInstancesHealthStatus", ["ServiceId": service], as: h.a)
            #expect(health.object("Status") as? [String: String] == ["i-1": "HEALTHY", "i-2": "HEALTHY", "i-3": "UNHEALTHY"])

            func discover(_ extra: [String: Any]) async throws -> (ids: [String], revision: Int?) {
                let found = try await api.cloudMap("DiscoverInstances", ["NamespaceName": "find.internal", "ServiceName": "api"]
                                                    .merging(extra) { $1 }, as: h.a)
                #expect(found.status == 200, "\(found.json)")
                return (found.array("Instances").compactMap { $0["InstanceId"] as? String }.sorted(), found["InstancesRevision"] as? Int)
            }
            let healthy = try await discover(["HealthStatus": "HEALTHY"])
            #expect(healthy.ids == ["i-1", "i-2"])
            #expect(try await discover(["HealthStatus": "UNHEALTHY"]).ids == ["i-3"])
            #expect(try await discover([:]).ids == ["i-1", "i-2", "i-3"], "ALL by default")
            #expect(try await discover(["QueryParameters": ["stage": "prod"]]).ids == ["i-1", "i-3"])
            #expect(try await discover(["QueryParameters": ["stage": "prod"], "HealthStatus": "HEALTHY_OR_ELSE_ALL"]).ids == ["i-1"])
            #expect(try await discover(["OptionalParameters": ["stage": "test"]]).ids == ["i-1", "i-2", "i-3"], "optional parameters never empty it")
            let summary = try await api.cloudMap("DiscoverInstances", ["NamespaceName": "find.internal", "ServiceName": "api",
                                                                       "QueryParameters": ["stage": "dev"]], as: h.a).array("Instances").first
            #expect(summary?["NamespaceName"] as? String == "find.internal" && summary?["ServiceName"] as? String == "api")
            #expect(summary?["HealthStatus"] as? String == "HEALTHY" && (summary?["Attributes"] as? [String: String])?["AWS_INSTANCE_PORT"] == "8080")

            #expect(try await api.cloudMap("UpdateInstanceCustomHealthStatus", ["ServiceId": service, "InstanceId": "i-1", "Status": "UNHEALTHY"],
                                           as: h.a).status == 200)
            let after = try await discover(["HealthStatus": "HEALTHY"])
            #expect(after.ids == ["i-2"])
            #expect((after.revision ?? 0) > (healthy.revision ?? .max), "a change moves the revision on")

            let refusals: [(String, [String: Any], String)] = [
                ("RegisterInstance", ["ServiceId": service, "InstanceId": "i-4", "Attributes": ["AWS_INSTANCE_IPV4": "10.1.0.4"]], "InvalidInput"),
                ("RegisterInstance", ["ServiceId": service, "InstanceId": "i-4", "Attributes": ["AWS_INSTANCE_IPV4": "10.1.0.300",
                                                                                              "AWS_INSTANCE_PORT": "80"]], "InvalidInput"),
                ("RegisterInstance", ["ServiceId": service, "InstanceId": "bad id!", "Attributes": ["AWS_INSTANCE_IPV4": "10.1.0.4",
                                                                                                 "AWS_INSTANCE_PORT": "80"]], "InvalidInput"),
                ("RegisterInstance", ["ServiceId": "srv-doesnotexist00", "InstanceId": "i-4", "Attributes": [:]], "ServiceNotFound"),
                ("DiscoverInstances", ["NamespaceName": "find.internal", "ServiceName": "api", "HealthStatus": "SICK"], "InvalidInput"),
                ("DiscoverInstances", ["NamespaceName": "lost.internal", "ServiceName": "api"], "NamespaceNotFound"),
                ("DiscoverInstances", ["NamespaceName": "find.internal", "ServiceName": "lost"], "ServiceNotFound"),
                ("UpdateInstanceCustomHealthStatus", ["ServiceId": service, "InstanceId": "i-9", "Status": "HEALTHY"], "InstanceNotFound"),
                ("GetInstancesHealthStatus", ["ServiceId": service, "Instances": ["i-9"]], "InstanceNotFound"),
            ]
            for (action, body, code) in refusals {
                let answer = try await api.cloudMap(action, body, as: h.a)
                #expect(answer.status == 400 && answer.errorType == code, "\(action) \(body): \(answer.json)")
            }

            let inUse = try await api.cloudMap("DeleteService", ["Id": service], as: h.a)
            #expect(inUse.errorType == "ResourceInUse", "a service with instances is not deleted")
            #expect(try await api.cloudMap("DeleteNamespace", ["Id": ns], as: h.a).errorType == "ResourceInUse")
            for n in ["i-1", "i-2", "i-3"] {
                #expect(try await api.cloudMap("DeregisterInstance", ["ServiceId": service, "InstanceId": n], as: h.a).status == 200)
            }
            let twice = try await api.cloudMap("DeregisterInstance", ["ServiceId": service, "InstanceId": "i-1"], as: h.a)
            #expect(twice.status == 400 && twice.errorType == "InstanceNotFound")
            #expect(try await api.cloudMap("ListInstances", ["ServiceId": service], as: h.a).array("Instances").isEmpty)
            #expect(try await api.cloudMap("DeleteService", ["Id": service], as: h.a).status == 200)
        }
    }

    @Test func anotherTenantNeverSeesTheNames() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let ns = try await api.namespace("secret.internal", as: h.a)
            let created = try await api.cloudMap("CreateService", ["Name": "db", "NamespaceId": ns, "DnsConfig": Self.aRecord], as: h.a)
            let service = try #require(created.object("Service")["Id"] as? String)
            let arn = try #require(created.object("Service")["Arn"] as? String)
            _ = try await api.cloudMap("RegisterInstance", ["ServiceId": service, "InstanceId": "db-1", "Attributes": ["AWS_INSTANCE_IPV4": "10.9.9.9"]],
                                       as: h.a)

            #expect(try await api.cloudMap("ListNamespaces", as: h.b).array("Namespaces").isEmpty)
            #expect(try await api.cloudMap("ListServices", as: h.b).array("Services").isEmpty)
            let refusals: [(String, [String: Any], String)] = [
                ("GetNamespace", ["Id": ns], "NamespaceNotFound"),
                ("GetService", ["Id": arn], "ServiceNotFound"),
                ("ListInstances", ["ServiceId": service], "ServiceNotFound"),
                ("DiscoverInstances", ["NamespaceName": "secret.internal", "ServiceName": "db"], "NamespaceNotFound"),
                ("DiscoverInstances", ["NamespaceName": "secret.internal", "ServiceName": "db", "OwnerAccount": h.a.account], "NamespaceNotFound"),
                ("DeregisterInstance", ["ServiceId": service, "InstanceId": "db-1"], "ServiceNotFound"),
                ("DeleteService", ["Id": service], "ServiceNotFound"),
                ("DeleteNamespace", ["Id": ns], "NamespaceNotFound"),
                ("RegisterInstance", ["ServiceId": service, "InstanceId": "evil", "Attributes": ["AWS_INSTANCE_IPV4": "10.6.6.6"]], "ServiceNotFound"),
            ]
            for (action, body, code) in refusals {
                let answer = try await api.cloudMap(action, body, as: h.b)
                #expect(answer.errorType == code, "\(action): \(answer.json)")
            }
            let tagged = try await api.cloudMap("TagResource", ["ResourceARN": arn, "Tags": [["Key": "owner", "Value": "b"]]], as: h.b)
            #expect(tagged.errorType == "AccessDeniedException" || tagged.errorType == "ResourceNotFoundException", "\(tagged.json)")

            let still = try await api.cloudMap("DiscoverInstances", ["NamespaceName": "secret.internal", "ServiceName": "db"], as: h.a)
            #expect(still.array("Instances").compactMap { $0["InstanceId"] as? String } == ["db-1"], "nothing of a's changed")
            #expect(try await api.cloudMap("ListTagsForResource", ["ResourceARN": arn], as: h.a).array("Tags").isEmpty)
        }
    }

    @Test func anUnknownMemberIsRefusedByName() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            // A member no input type reads is refused by name (the JSON doors' member echo), and nothing is created.
            let answer = try await api.cloudMap("CreateHttpNamespace", ["Name": "extra", "Colour": "blue"], as: h.a)
            #expect(answer.status == 400 && answer.message.contains("Colour"), "\(answer.json)")
            let service = try await api.cloudMap("CreateService", ["Name": "x", "NamespaceId": "ns-x", "Type": "HTTP", "Port": 80], as: h.a)
            #expect(service.status == 400 && service.message.contains("Port"))
            // A missing member is Cloud Map's InvalidInput, named as on the wire ("Id").
            let noId = try await api.cloudMap("GetNamespace", as: h.a)
            #expect(noId.errorType == "InvalidInput" && noId.message.contains("Id"), "\(noId.json)")
            #expect(try await api.cloudMap("ListNamespaces", as: h.a).array("Namespaces").isEmpty, "nothing was written")
        }
    }
}

extension Harness.Client {
    /// A namespace made through CreatePrivateDnsNamespace (or CreateHttpNamespace), by its id from the operation.
    func namespace(_ name: String, http: Bool = false, as tenant: Tenant) async throws -> String {
        let created = http ? try await cloudMap("CreateHttpNamespace", ["Name": name], as: tenant)
            : try await cloudMap("CreatePrivateDnsNamespace", ["Name": name, "Vpc": "vpc-stowage"], as: tenant)
        let op = try #require(created["OperationId"] as? String, "\(created.json)")
        let operation = try await cloudMap("GetOperation", ["OperationId": op], as: tenant).object("Operation")
        return try #require((operation["Targets"] as? [String: Any])?["NAMESPACE"] as? String)
    }
}
