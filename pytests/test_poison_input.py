"""Poison input: NUL bytes, unpaired surrogates, numbers the shapes do not allow, deep nesting and duplicate keys
get a 400 naming the member from every door, never a 500, and never stop a pipeline (audit, logs) for others."""
import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import REGION, Agent, ecs_client, signed_request, wait_for

TARGET = "AmazonEC2ContainerServiceV20141113."


def raw(server, tenant, path, body, target=None, method="POST", service="ecs"):
    """A signed request with exactly these body bytes (botocore would refuse to send most of them)."""
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    if target:
        headers["X-Amz-Target"] = TARGET + target
    request = AWSRequest(method=method, url=server.endpoint + path, data=body, headers=headers)
    SigV4Auth(Credentials(tenant.key_id, tenant.secret), service, REGION).add_auth(request)
    prepared = urllib.request.Request(server.endpoint + path, data=body if method != "GET" else None,
                                      headers=dict(request.headers), method=method)
    try:
        with urllib.request.urlopen(prepared, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        text = error.read()
        try:
            return error.code, json.loads(text)
        except ValueError:
            return error.code, {"raw": text.decode(errors="replace")}


CASES = [
    ("CreateCluster", b'{"clusterName":"a\\u0000b"}', "clusterName", "NUL"),
    ("CreateCluster", b'{"clusterName":"ok","tags":[{"key":"k","value":"v\\u0000"}]}', "tags[0].value", "NUL"),
    ("CreateCluster", b'{"clusterName":"\\ud800x"}', "clusterName", "surrogate"),
    ("RegisterTaskDefinition", b'{"family":"f","containerDefinitions":[{"name":"a","image":"busybox\\u0000","memory":16}]}',
     "containerDefinitions[0].image", "NUL"),
    ("RegisterTaskDefinition", b'{"family":"f","containerDefinitions":[{"name":"a","image":"busybox","memory":16,'
                               b'"environment":[{"name":"A","value":"\\u0000"}]}]}', "environment[0].value", "NUL"),
    ("RegisterTaskDefinition", b'{"family":"f","containerDefinitions":[{"name":"a","image":"busybox","memory":2147483648}]}',
     "containerDefinitions[0].memory", "between"),
    ("RegisterTaskDefinition", b'{"family":"f","containerDefinitions":[{"name":"a","image":"busybox","memory":2147483647}]}',
     "memory", "1048576"),
    ("CreateService", b'{"serviceName":"s","taskDefinition":"f","desiredCount":1.5}', "desiredCount", "integer"),
    ("CreateService", b'{"serviceName":"s","taskDefinition":"f","desiredCount":1e400}', "desiredCount", "integer"),
    ("ListTasks", b'{"family":"web\\u0000"}', "family", "NUL"),
    ("DescribeTasks", b'{"tasks":["\\u0000"]}', "tasks[0]", "NUL"),
    ("ListClusters", b'{"maxResults":99999999999999999999}', "maxResults", "between"),
    ("CreateCluster", b'{"clusterName":"a","clusterName":"b"}', "clusterName", "more than once"),
    ("CreateCluster", b'{"clusterName":"a","x":' + b"[" * 200 + b"]" * 200 + b"}", "x", "nested deeper"),
]


def test_bad_bodies_get_a_400_naming_the_member_and_write_nothing(server, tenant):
    for action, body, member, words in CASES:
        status, answer = raw(server, tenant, "/", body, target=action)
        assert status == 400, (action, body, status, answer)
        message = answer.get("message", "")
        assert member in message and words in message, (action, body, answer)
    ecs = ecs_client(server, tenant)
    assert ecs.list_clusters()["clusterArns"] == []
    assert ecs.list_task_definitions()["taskDefinitionArns"] == []


def test_random_garbage_never_gets_a_server_error(server, tenant):
    """A bounded fuzz of the ECS door: mutated valid bodies, random bytes, odd numbers and strings."""
    rng = random.Random(11)
    seeds = [b'{"clusterName":"fz"}', b'{"family":"fz","containerDefinitions":[{"name":"a","image":"busybox","memory":16}]}',
             b'{"serviceName":"s","taskDefinition":"fz","desiredCount":2}', b'{"cluster":"fz","tasks":["x"]}']
    pieces = [b"\\u0000", b"\\ud800", b"\\udfff", b"1e999", b"-0", b"1.5", b"9223372036854775808", b'"', b"{", b"[", b"\x00",
              b"\xff", b"null", b"true", b"\\", b'"a":1,"a":2', b"[" * 50]
    actions = ["CreateCluster", "RegisterTaskDefinition", "CreateService", "DescribeTasks", "ListTasks", "UpdateService",
               "RunTask", "DescribeClusters", "TagResource"]
    statuses = {}
    for i in range(600):
        body = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(body) + 1)
            body[at:at + rng.randint(0, 4)] = rng.choice(pieces)
        status, answer = raw(server, tenant, "/", bytes(body), target=rng.choice(actions))
        statuses[status] = statuses.get(status, 0) + 1
        assert status < 500, (bytes(body), status, answer)
    assert set(statuses) <= {200, 400}, statuses
    print(f"\nFIGURE fuzz {json.dumps(statuses)}")


def test_nul_in_rest_paths_and_queries_is_a_400(server, tenant):
    status, answer = signed_request(server, tenant, "GET", "/v1/clusters/a%00b")
    assert status == 400 and "NUL" in answer["message"], answer
    status, answer = signed_request(server, tenant, "GET", "/v1/clusters?maxResults=5%00")
    assert status == 400, answer


def test_a_rejected_nul_does_not_stop_the_audit_trail(server, tenant, other_tenant):
    status, _ = raw(server, tenant, "/", b'{"clusterName":"x\\u0000"}', target="CreateCluster")
    assert status == 400
    ecs_client(server, other_tenant).create_cluster(clusterName="after-nul")
    ecs_client(server, tenant).list_clusters()

    def found(t, action):
        status, answer = signed_request(server, t, "GET", "/v1/audit/events?" + urllib.parse.urlencode({"action": action}))
        return status == 200 and answer.get("events")

    assert wait_for(lambda: found(other_tenant, "ecs:CreateCluster"), seconds=10), \
        signed_request(server, other_tenant, "GET", "/v1/audit/events")
    assert wait_for(lambda: found(tenant, "ecs:ListClusters"), seconds=10), "the caller's later calls are audited"
    with urllib.request.urlopen(f"{server.endpoint}/metrics") as r:
        text = r.read().decode()
    assert "stowage_audit_events_dropped_total 0" in text.replace(".0", ""), "nothing was dropped"


def test_a_nul_printed_by_a_container_does_not_freeze_its_logs(server, tenant, tmp_path, need_engine):
    ecs = ecs_client(server, tenant)
    ecs.create_cluster(clusterName="nul-logs")
    agent = Agent(server, tenant, "nul-logs", tmp_path / "agent")
    try:
        assert wait_for(lambda: ecs.list_container_instances(cluster="nul-logs")["containerInstanceArns"])
        talker = {"name": "talker", "image": "localhost/busybox:latest", "memory": 16,
                  "command": ["sh", "-c", "printf 'before\\n'; printf 'nul:\\000:end\\n'; i=0; "
                                          "while true; do echo \"after $i\"; i=$((i+1)); sleep 0.3; done"],
                  "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/nul", "awslogs-stream-prefix": "n"}}}
        ecs.register_task_definition(family="nul", containerDefinitions=[talker])
        task = ecs.run_task(cluster="nul-logs", taskDefinition="nul")["tasks"][0]
        stream = f"n/talker/{task['taskArn'].split('/')[-1]}"
        logs = boto3.client("logs", endpoint_url=server.endpoint, region_name=REGION,
                            aws_access_key_id=tenant.key_id, aws_secret_access_key=tenant.secret)

        def messages():
            try:
                return [e["message"] for e in logs.get_log_events(logGroupName="/ecs/nul", logStreamName=stream,
                                                                  startFromHead=True)["events"]]
            except logs.exceptions.ResourceNotFoundException:
                return []

        lines = wait_for(lambda: (lambda m: m if sum(x.startswith("after") for x in m) >= 5 else None)(messages()), seconds=60)
        assert lines, f"lines after the NUL keep arriving: {messages()}"
        assert "nul:\ufffd:end" in lines, lines
        ecs.stop_task(cluster="nul-logs", task=task["taskArn"])
        # The agent removes the container before it is stopped itself (a stopped agent leaves containers running).
        assert wait_for(lambda: ecs.describe_tasks(cluster="nul-logs", tasks=[task["taskArn"]])["tasks"][0]["lastStatus"] == "STOPPED",
                        seconds=60)
    finally:
        agent.stop()
