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

    # CreateService retried with its CreatorRequestId gets the service it made; another request is a conflict.
    first = client.create_service(Name="retry", NamespaceId=ns_id, CreatorRequestId="retry-1",
                                  DnsConfig={"DnsRecords": [{"Type": "A", "TTL": 10}]})["Service"]
    again = client.create_service(Name="retry", NamespaceId=ns_id, CreatorRequestId="retry-1",
                                  DnsConfig={"DnsRecords": [{"Type": "A", "TTL": 10}]})["Service"]
    assert again["Id"] == first["Id"] and again["CreatorRequestId"] == "retry-1"
    assert code_of(lambda: client.create_service(Name="retry", NamespaceId=ns_id, CreatorRequestId="retry-2",
                                                 DnsConfig={"DnsRecords": [{"Type": "A", "TTL": 10}]})) == "ServiceAlreadyExists"
    client.delete_service(Id=first["Id"])

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


# Issue 15, item 4 end to end: an ECS service registers its tasks, and containers resolve it through the agent's DNS.
import random
import socket
import struct
import subprocess
import threading

from conftest import Agent, containers_of, docker, ecs_client, wait_for

WEB = ("mkdir -p /www && hostname > /www/id && exec httpd -f -p 8080 -h /www")


def dns_query(server_ip, name, qtype):
    """One UDP query; returns (rcode, [(type, rdata bytes)]) of the answer and additional sections."""
    qid = random.randint(0, 65535)
    packet = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    packet += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack(">HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        s.sendto(packet, (server_ip, 53))
        data = s.recv(4096)
    rid, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", data[:12])
    assert rid == qid
    i = 12
    while data[i] != 0:
        i += data[i] + 1
    i += 5
    out = []
    for _ in range(an + ar):
        while data[i] != 0 and data[i] < 0xC0:
            i += data[i] + 1
        i += 2 if data[i] >= 0xC0 else 1
        rtype, _, _, length = struct.unpack(">HHIH", data[i:i + 10])
        out.append((rtype, data[i + 10:i + 10 + length]))
        i += 10 + length
    return flags & 0xF, out


class HostResolver:
    """The host's resolver as the agent's resolver sees it: a UDP server answering every A query with 192.0.2.99 (other types: no records)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.asked = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            i = 12
            labels = []
            while data[i] != 0:
                labels.append(data[i + 1:i + 1 + data[i]].decode())
                i += data[i] + 1
            self.asked.append(".".join(labels))
            question = data[12:i + 5]
            is_a = struct.unpack(">H", data[i + 1:i + 3])[0] == 1
            answer = data[:2] + b"\x81\x80" + struct.pack(">HHHH", 1, 1 if is_a else 0, 0, 0) + question
            if is_a:
                answer += b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 30, 4) + bytes([192, 0, 2, 99])
            self.sock.sendto(answer, peer)


def bridge_gateway():
    network = docker("GET", "/networks/podman")
    return next(c["Gateway"] for c in network["IPAM"]["Config"] if ":" not in c["Gateway"])


def test_a_container_resolves_a_sibling_service_by_srv_and_calls_it(server, tenant, other_tenant, tmp_path, agents):
    gateway = bridge_gateway()
    ecs, client = ecs_client(server, tenant), sd(server, tenant)
    ecs.create_cluster(clusterName="sd")
    # With the server on loopback the agent's host address is the engine's bridge gateway, which containers reach,
    # and its resolver listens there (--dns-address auto, the default).
    upstream = HostResolver()
    agents.append(Agent(server, tenant, "sd", tmp_path / "agent", extra=("--dns-address", "auto", "--dns-upstream", f"127.0.0.1:{upstream.port}")))
    assert wait_for(lambda: ecs.list_container_instances(cluster="sd")["containerInstanceArns"])
    instance = ecs.describe_container_instances(cluster="sd", containerInstances=ecs.list_container_instances(cluster="sd")["containerInstanceArns"])
    attrs = {a["name"]: a.get("value") for a in instance["containerInstances"][0]["attributes"]}
    assert attrs.get("stowage.dns-resolver") == gateway, attrs

    ns_id = private_namespace(client, "svc.local")
    registry = client.create_service(Name="web", NamespaceId=ns_id, HealthCheckCustomConfig={"FailureThreshold": 1},
                                     DnsConfig={"DnsRecords": [{"Type": "SRV", "TTL": 5}, {"Type": "A", "TTL": 5}]})["Service"]
    ecs.register_task_definition(family="web", containerDefinitions=[{
        "name": "web", "image": "localhost/busybox:latest", "memory": 32, "command": ["sh", "-c", WEB],
        "portMappings": [{"containerPort": 8080, "hostPort": 0}],
        "healthCheck": {"command": ["CMD-SHELL", "wget -q -O- localhost:8080/id >/dev/null || exit 1"], "interval": 5, "timeout": 2, "retries": 2}}])
    # Bridge tasks share the host's address: a registry with only an A record is refused by name.
    a_only = client.create_service(Name="aonly", NamespaceId=ns_id, DnsConfig={"DnsRecords": [{"Type": "A", "TTL": 5}]})["Service"]
    with pytest.raises(ClientError) as refused:
        ecs.create_service(cluster="sd", serviceName="bad", taskDefinition="web", desiredCount=1,
                           serviceRegistries=[{"registryArn": a_only["Arn"], "containerName": "web", "containerPort": 8080}])
    assert "SRV record" in refused.value.response["Error"]["Message"]
    ecs.create_service(cluster="sd", serviceName="web", taskDefinition="web", desiredCount=2,
                       serviceRegistries=[{"registryArn": registry["Arn"], "containerName": "web", "containerPort": 8080}])
    described = ecs.describe_services(cluster="sd", services=["web"])["services"][0]
    assert described["serviceRegistries"] == [{"registryArn": registry["Arn"], "containerName": "web", "containerPort": 8080}]

    def healthy_instances():
        found = client.discover_instances(NamespaceName="svc.local", ServiceName="web", HealthStatus="HEALTHY")["Instances"]
        return found if len(found) == 2 else None
    instances = wait_for(healthy_instances, seconds=90)
    assert instances, client.list_instances(ServiceId=registry["Id"])
    tasks = {t["taskArn"].split("/")[-1]: t for t in ecs.describe_tasks(cluster="sd", tasks=ecs.list_tasks(cluster="sd", serviceName="web")["taskArns"])["tasks"]}
    for i in instances:
        task = tasks[i["InstanceId"]]
        port = task["containers"][0]["networkBindings"][0]["hostPort"]
        assert i["Attributes"]["AWS_INSTANCE_IPV4"] == gateway and i["Attributes"]["AWS_INSTANCE_PORT"] == str(port), i
        assert i["Attributes"]["ECS_SERVICE_NAME"] == "web" and i["Attributes"]["ECS_CLUSTER_NAME"] == "sd"

    # The resolver answers the SRV record with both tasks' ports, and other names go to the host's resolver.
    code, records = wait_for(lambda: (lambda r: r if len([x for x in r[1] if x[0] == 33]) == 2 else None)(dns_query(gateway, "web.svc.local", 33)), seconds=15)
    assert code == 0 and sorted(struct.unpack(">H", rd[4:6])[0] for t, rd in records if t == 33) == sorted(
        t["containers"][0]["networkBindings"][0]["hostPort"] for t in tasks.values())
    assert dns_query(gateway, "nothing.svc.local", 1)[0] == 3, "NXDOMAIN under the tenant's namespace"
    assert dns_query(gateway, "example.test", 1) == (0, [(1, bytes([192, 0, 2, 99]))]) and "example.test" in upstream.asked
    assert "nothing.svc.local" not in upstream.asked, "names under the tenant's namespaces are answered here, never relayed"

    # A container of the tenant looks the service up by SRV with busybox's nslookup and calls one task.
    script = ("nslookup -type=srv web.svc.local > /tmp/srv; cat /tmp/srv; "
              "port=$(awk '/service =/ {print $(NF-1)}' /tmp/srv | head -1); "
              "host=$(nslookup web.svc.local | awk '/^Address: / {print $2}' | grep -v ':53$' | head -1); "
              "echo CALL $host $port; echo BODY $(wget -q -O- http://$host:$port/id); "
              "echo OTHER $(nslookup example.test | awk '/^Address: / {print $2}' | grep -v ':53$')")
    ecs.register_task_definition(family="client", containerDefinitions=[{
        "name": "client", "image": "localhost/busybox:latest", "memory": 16, "command": ["sh", "-c", script],
        "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/sd", "awslogs-stream-prefix": "c"}}}])
    run = ecs.run_task(cluster="sd", taskDefinition="client")["tasks"][0]
    stream = f"c/client/{run['taskArn'].split('/')[-1]}"
    logs = boto3.client("logs", endpoint_url=server.endpoint, region_name=REGION,
                        aws_access_key_id=tenant.key_id, aws_secret_access_key=tenant.secret)

    def body():
        try:
            events = logs.get_log_events(logGroupName="/ecs/sd", logStreamName=stream, startFromHead=True)["events"]
        except logs.exceptions.ResourceNotFoundException:
            return None
        lines = [e["message"] for e in events]
        return lines if any(l.startswith("BODY ") for l in lines) else None
    lines = wait_for(body, seconds=60)
    assert lines, "the client task logged its lookup"
    hostnames = {docker("GET", f"/containers/{c['Id']}/json")["Config"]["Hostname"] for c in containers_of(agents[0].arn)
                 if c["Labels"].get("stowage.container") == "web"}
    answered = [l for l in lines if l.startswith("BODY ")][0].split(" ", 1)[1].strip()
    assert answered in hostnames, (lines, hostnames)
    assert "OTHER 192.0.2.99" in lines, "other names go to the host's resolver:\n" + "\n".join(lines)

    # Another tenant's agent answers its own names only: the same name is nothing there.
    their_ecs = ecs_client(server, other_tenant)
    their_ecs.create_cluster(clusterName="sd-other")
    subprocess.run(["ip", "addr", "add", "169.254.170.53/32", "dev", "lo"], capture_output=True)
    agents.append(Agent(server, other_tenant, "sd-other", tmp_path / "other", extra=("--dns-address", "169.254.170.53")))
    assert wait_for(lambda: their_ecs.list_container_instances(cluster="sd-other")["containerInstanceArns"])
    # A name that must NOT resolve: their resolver fetches names every 2 s, so one whole refresh (3 s on the clock)
    # passes before the answer is taken as final.
    time.sleep(3)
    theirs = dns_query("169.254.170.53", "web.svc.local", 33)
    assert not [x for x in theirs[1] if x[0] == 33], theirs
    assert code_of(lambda: sd(server, other_tenant).discover_instances(NamespaceName="svc.local", ServiceName="web")) == "NamespaceNotFound"

    # Scale-in: the stopped task leaves the registry (and the DNS answer) before it is gone.
    ecs.update_service(cluster="sd", service="web", desiredCount=1)
    assert wait_for(lambda: len(client.list_instances(ServiceId=registry["Id"])["Instances"]) == 1, seconds=60)
    assert wait_for(lambda: len([x for x in dns_query(gateway, "web.svc.local", 33)[1] if x[0] == 33]) == 1, seconds=15)
    ecs.update_service(cluster="sd", service="web", desiredCount=0)
    assert wait_for(lambda: not client.list_instances(ServiceId=registry["Id"])["Instances"], seconds=60)
    # Empty, but still the registry of an ECS service (which would fail its next scale-up): refused by name.
    with pytest.raises(ClientError) as in_use:
        client.delete_service(Id=registry["Id"])
    assert in_use.value.response["Error"]["Code"] == "ResourceInUse" and "sd/web" in in_use.value.response["Error"]["Message"]
    ecs.delete_service(cluster="sd", service="web")
    client.delete_service(Id=registry["Id"])


def test_a_narrow_policy_allows_reading_names_and_nothing_else(server, tenant):
    import json as _json
    mine = sd(server, tenant)
    ns_id = private_namespace(mine, "iam.internal")
    svc = mine.create_service(Name="api", NamespaceId=ns_id, DnsConfig={"DnsRecords": [{"Type": "A", "TTL": 5}]})["Service"]
    iam = boto3.client("iam", endpoint_url=server.endpoint, region_name=REGION,
                       aws_access_key_id=tenant.key_id, aws_secret_access_key=tenant.secret)
    iam.create_user(UserName="sd-reader")
    iam.put_user_policy(UserName="sd-reader", PolicyName="discover", PolicyDocument=_json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["servicediscovery:DiscoverInstances", "servicediscovery:Get*"], "Resource": "*"}]}))
    key = iam.create_access_key(UserName="sd-reader")["AccessKey"]
    reader = boto3.client("servicediscovery", endpoint_url=server.endpoint, region_name=REGION, config=Config(inject_host_prefix=False),
                          aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    assert reader.get_service(Id=svc["Id"])["Service"]["Name"] == "api"
    assert reader.discover_instances(NamespaceName="iam.internal", ServiceName="api")["Instances"] == []
    for call in (lambda: reader.register_instance(ServiceId=svc["Id"], InstanceId="x", Attributes={"AWS_INSTANCE_IPV4": "10.0.0.1"}),
                 lambda: reader.delete_service(Id=svc["Id"]),
                 lambda: reader.create_http_namespace(Name="nope"),
                 lambda: reader.list_namespaces()):
        assert code_of(call) == "AccessDeniedException"
    assert mine.list_instances(ServiceId=svc["Id"])["Instances"] == [] and [n["Name"] for n in mine.list_namespaces()["Namespaces"]] == ["iam.internal"]


def test_a_registry_gone_from_under_a_service_is_reported_not_fatal(server, tenant):
    """A Cloud Map service deleted behind an ECS service's back (by an older Stowage, which did not refuse it)
    is skipped with an event at the next scale-up: the reconcile pass does not fail over it again and again."""
    from conftest import ecs_client, psql, wait_for
    client = sd(server, tenant)
    ecs = ecs_client(server, tenant)
    ns_id = private_namespace(client, "gone.local")
    registry = client.create_service(Name="api", NamespaceId=ns_id, DnsConfig={"DnsRecords": [{"Type": "SRV", "TTL": 5}]})["Service"]
    ecs.create_cluster(clusterName="gone")
    ecs.register_container_instance(cluster="gone", totalResources=[
        {"name": "CPU", "type": "INTEGER", "integerValue": 1024}, {"name": "MEMORY", "type": "INTEGER", "integerValue": 1024}])
    ecs.register_task_definition(family="api", containerDefinitions=[
        {"name": "api", "image": "localhost/busybox:latest", "memory": 16, "portMappings": [{"containerPort": 80, "hostPort": 0}]}])
    ecs.create_service(cluster="gone", serviceName="api", taskDefinition="api", desiredCount=0,
                       serviceRegistries=[{"registryArn": registry["Arn"], "containerName": "api", "containerPort": 80}])
    assert code_of(lambda: client.delete_service(Id=registry["Id"])) == "ResourceInUse"
    psql(server, f"DELETE FROM sd_services WHERE account_id = '{tenant.account}' AND id = '{registry['Id']}'")
    ecs.update_service(cluster="gone", service="api", desiredCount=2)

    def said():
        events = ecs.describe_services(cluster="gone", services=["api"])["services"][0]["events"]
        return [e["message"] for e in events if "no longer exists" in e["message"]]
    assert wait_for(said, seconds=30), "the service says its registry is gone"
    placed = lambda: len(ecs.list_tasks(cluster="gone", serviceName="api")["taskArns"]) == 2
    assert wait_for(placed, seconds=30), "and its tasks are still placed"
