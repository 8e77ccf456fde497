"""Issue 15, item 4: the Cloud Map door (boto3's servicediscovery client): namespaces, services, instances,
DiscoverInstances with health filters, operations, custom health, AWS's error codes with nothing written,
and one tenant never seeing another's names."""
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import REGION, aws_cli


def sd(server, tenant):
    # DiscoverInstances is modelled on a `data-` host prefix, which an endpoint on an address cannot take: the
    # documented client setting turns it off (docs/service-discovery.md).
    return boto3.client("servicediscovery", endpoint_url=server.endpoint, region_name=REGION,
                        aws_access_key_id=tenant.key_id, aws_secret_access_key=tenant.secret,
                        config=Config(inject_host_prefix=False))


def code_of(call):
    with pytest.raises(ClientError) as e:
        call()
    return e.value.response["Error"]["Code"]


def private_namespace(client, name):
    op = client.create_private_dns_namespace(Name=name, Vpc="vpc-stowage", CreatorRequestId=f"req-{name}")["OperationId"]
    operation = client.get_operation(OperationId=op)["Operation"]
    assert operation["Status"] == "SUCCESS" and operation["Type"] == "CREATE_NAMESPACE", operation
    return operation["Targets"]["NAMESPACE"]


def test_namespaces_services_instances_and_discovery(server, tenant):
    client = sd(server, tenant)
    ns_id = private_namespace(client, "corp.internal")
    ns = client.get_namespace(Id=ns_id)["Namespace"]
    assert ns["Name"] == "corp.internal" and ns["Type"] == "DNS_PRIVATE" and ns["Arn"].endswith(f":namespace/{ns_id}")
    assert ns["Properties"]["DnsProperties"]["SOA"]["TTL"] == 15
    # A repeated request with the same CreatorRequestId answers the same operation; another one is a conflict.
    again = client.create_private_dns_namespace(Name="corp.internal", Vpc="vpc-stowage", CreatorRequestId="req-corp.internal")
    assert client.get_operation(OperationId=again["OperationId"])["Operation"]["Targets"]["NAMESPACE"] == ns_id
    assert code_of(lambda: client.create_private_dns_namespace(Name="corp.internal", Vpc="v")) == "NamespaceAlreadyExists"
    http_op = client.create_http_namespace(Name="corp-http")["OperationId"]
    http_id = client.get_operation(OperationId=http_op)["Operation"]["Targets"]["NAMESPACE"]
    listed = client.list_namespaces(Filters=[{"Name": "TYPE", "Values": ["HTTP"], "Condition": "EQ"}])["Namespaces"]
    assert [n["Id"] for n in listed] == [http_id]

    svc = client.create_service(Name="api", NamespaceId=ns_id, HealthCheckCustomConfig={"FailureThreshold": 1},
                                DnsConfig={"RoutingPolicy": "MULTIVALUE", "DnsRecords": [{"Type": "A", "TTL": 10}, {"Type": "SRV", "TTL": 10}]},
                                Tags=[{"Key": "team", "Value": "core"}])["Service"]
    assert svc["Type"] == "DNS_HTTP" and svc["DnsConfig"]["NamespaceId"] == ns_id and svc["Arn"].endswith(f":service/{svc['Id']}")
    assert client.list_tags_for_resource(ResourceARN=svc["Arn"])["Tags"] == [{"Key": "team", "Value": "core"}]
    assert [s["Id"] for s in client.list_services(Filters=[{"Name": "NAMESPACE_ID", "Values": [ns_id]}])["Services"]] == [svc["Id"]]

    for n, health in (("i-1", "HEALTHY"), ("i-2", "HEALTHY"), ("i-3", "UNHEALTHY")):
        op = client.register_instance(ServiceId=svc["Id"], InstanceId=n, Attributes={
            "AWS_INSTANCE_IPV4": f"10.1.0.{n[-1]}", "AWS_INSTANCE_PORT": "8080", "AWS_INIT_HEALTH_STATUS": health, "stage": "prod" if n != "i-2" else "dev"})
        assert client.get_operation(OperationId=op["OperationId"])["Operation"]["Type"] == "REGISTER_INSTANCE"
    assert {i["Id"] for i in client.list_instances(ServiceId=svc["Id"])["Instances"]} == {"i-1", "i-2", "i-3"}
    assert client.get_instances_health_status(ServiceId=svc["Id"])["Status"] == {"i-1": "HEALTHY", "i-2": "HEALTHY", "i-3": "UNHEALTHY"}

    found = client.discover_instances(NamespaceName="corp.internal", ServiceName="api", HealthStatus="HEALTHY")
    assert sorted(i["InstanceId"] for i in found["Instances"]) == ["i-1", "i-2"]
    revision = found["InstancesRevision"]
    prod = client.discover_instances(NamespaceName="corp.internal", ServiceName="api", QueryParameters={"stage": "prod"})["Instances"]
    assert sorted(i["InstanceId"] for i in prod) == ["i-1", "i-3"]
    client.update_instance_custom_health_status(ServiceId=svc["Id"], InstanceId="i-1", Status="UNHEALTHY")
    healthy = client.discover_instances(NamespaceName="corp.internal", ServiceName="api", HealthStatus="HEALTHY")
    assert [i["InstanceId"] for i in healthy["Instances"]] == ["i-2"]
    assert healthy["InstancesRevision"] > revision
    assert client.discover_instances_revision(NamespaceName="corp.internal", ServiceName="api")["InstancesRevision"] == healthy["InstancesRevision"]

    # A namespace or service in use cannot be deleted; once emptied both go, and their operations are listed.
    assert code_of(lambda: client.delete_service(Id=svc["Id"])) == "ResourceInUse"
    assert code_of(lambda: client.delete_namespace(Id=ns_id)) == "ResourceInUse"
    for n in ("i-1", "i-2", "i-3"):
        client.deregister_instance(ServiceId=svc["Id"], InstanceId=n)
    assert code_of(lambda: client.deregister_instance(ServiceId=svc["Id"], InstanceId="i-1")) == "InstanceNotFound"
    client.delete_service(Id=svc["Id"])
    assert client.get_operation(OperationId=client.delete_namespace(Id=ns_id)["OperationId"])["Operation"]["Status"] == "SUCCESS"
    assert code_of(lambda: client.get_namespace(Id=ns_id)) == "NamespaceNotFound"
    types = {o["Id"]: o["Status"] for o in client.list_operations(Filters=[{"Name": "TYPE", "Values": ["DEREGISTER_INSTANCE"], "Condition": "IN"}])["Operations"]}
    assert len(types) == 3 and set(types.values()) == {"SUCCESS"}
    # The AWS CLI takes the same door.
    code, out = aws_cli(server, tenant, "servicediscovery", "list-namespaces")
    assert code == 0 and [n["Name"] for n in out["Namespaces"]] == ["corp-http"], out


def test_bad_input_gets_aws_codes_and_writes_nothing(server, tenant):
    client = sd(server, tenant)
    ns_id = private_namespace(client, "bad.internal")
    cases = [
        (lambda: client.create_private_dns_namespace(Name="not a name", Vpc="v"), "InvalidInput"),
        (lambda: client.create_service(Name="x", NamespaceId=ns_id, DnsConfig={"DnsRecords": [{"Type": "CNAME", "TTL": 5}]}), "InvalidInput"),
        (lambda: client.create_service(Name="x", NamespaceId=ns_id, DnsConfig={"RoutingPolicy": "WEIGHTED", "DnsRecords": [{"Type": "A", "TTL": 5}]}),
         "InvalidInput"),
        (lambda: client.create_service(Name="x", NamespaceId=ns_id, HealthCheckConfig={"Type": "HTTP", "ResourcePath": "/"},
                                       DnsConfig={"DnsRecords": [{"Type": "A", "TTL": 5}]}), "InvalidInput"),
        (lambda: client.create_service(Name="x", NamespaceId="ns-doesnotexist000", DnsConfig={"DnsRecords": [{"Type": "A", "TTL": 5}]}),
         "NamespaceNotFound"),
        (lambda: client.create_service(Name="bad name!", NamespaceId=ns_id, DnsConfig={"DnsRecords": [{"Type": "A", "TTL": 5}]}), "InvalidInput"),
        (lambda: client.get_service(Id="srv-doesnotexist00"), "ServiceNotFound"),
        (lambda: client.get_operation(OperationId="nope"), "OperationNotFound"),
        (lambda: client.list_namespaces(Filters=[{"Name": "TYPE", "Values": ["HTTP"], "Condition": "BETWEEN"}]), "InvalidInput"),
    ]
    for call, code in cases:
        assert code_of(call) == code
    assert client.list_services()["Services"] == []
    svc = client.create_service(Name="web", NamespaceId=ns_id, DnsConfig={"DnsRecords": [{"Type": "SRV", "TTL": 5}]})["Service"]
    # An SRV service needs an address and a port; a custom health status needs a custom health check.
    assert code_of(lambda: client.register_instance(ServiceId=svc["Id"], InstanceId="a", Attributes={"AWS_INSTANCE_IPV4": "10.0.0.1"})) == "InvalidInput"
    assert code_of(lambda: client.register_instance(ServiceId=svc["Id"], InstanceId="a", Attributes={"AWS_INSTANCE_IPV4": "10.0.0.300",
                                                                                                      "AWS_INSTANCE_PORT": "80"})) == "InvalidInput"
    client.register_instance(ServiceId=svc["Id"], InstanceId="a", Attributes={"AWS_INSTANCE_IPV4": "10.0.0.1", "AWS_INSTANCE_PORT": "80"})
    assert code_of(lambda: client.update_instance_custom_health_status(ServiceId=svc["Id"], InstanceId="a", Status="UNHEALTHY")) == "CustomHealthNotFound"
    assert [i["Id"] for i in client.list_instances(ServiceId=svc["Id"])["Instances"]] == ["a"]


def test_a_tenant_never_sees_another_tenants_names(server, tenant, other_tenant):
    mine, theirs = sd(server, tenant), sd(server, other_tenant)
    ns_id = private_namespace(mine, "secret.internal")
    svc = mine.create_service(Name="db", NamespaceId=ns_id, DnsConfig={"DnsRecords": [{"Type": "A", "TTL": 5}]})["Service"]
    mine.register_instance(ServiceId=svc["Id"], InstanceId="db-1", Attributes={"AWS_INSTANCE_IPV4": "10.9.9.9"})
    assert theirs.list_namespaces()["Namespaces"] == [] and theirs.list_services()["Services"] == []
    assert code_of(lambda: theirs.get_namespace(Id=ns_id)) == "NamespaceNotFound"
    assert code_of(lambda: theirs.get_service(Id=svc["Arn"])) == "ServiceNotFound"
    assert code_of(lambda: theirs.list_instances(ServiceId=svc["Id"])) == "ServiceNotFound"
    assert code_of(lambda: theirs.discover_instances(NamespaceName="secret.internal", ServiceName="db")) == "NamespaceNotFound"
    assert code_of(lambda: theirs.register_instance(ServiceId=svc["Id"], InstanceId="evil", Attributes={"AWS_INSTANCE_IPV4": "10.6.6.6"})) == "ServiceNotFound"
    assert code_of(lambda: theirs.tag_resource(ResourceARN=svc["Arn"], Tags=[{"Key": "k", "Value": "v"}])) in ("ResourceNotFoundException", "AccessDeniedException")
    # The other tenant may use the same names in its own account.
    private_namespace(theirs, "secret.internal")
    assert [i["InstanceId"] for i in mine.discover_instances(NamespaceName="secret.internal", ServiceName="db")["Instances"]] == ["db-1"]
