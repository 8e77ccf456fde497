"""Issue 23: the attacks an account with one tenant's keys (or one compromised agent host) can try on the shared
planes, performed against the real processes (server, worker, agent, `stowage lb` with HAProxy). Each test shows
the attack refused, that nothing changed, and where it matters that another tenant's traffic is unaffected.
docs/SECURITY.md maps each numbered item of the threat model to the test below that performs it."""
import json
import os
import time

import boto3
import pytest

from conftest import REGION, ecs_client, make_tenant, psql, signed_request, tenant_clients, wait_for



# ---------------------------------------------------------------------------------------------------------------
# Item 9: operator switches for what a host gives away. One agent runs with every --forbid-* switch and host paths
# allowed only under one directory. Tasks needing a forbidden setting are refused by the scheduler by name (RunTask
# and StartTask failures, a service's events) with nothing started; those that reach the agent anyway (an attribute
# added with PutAttributes, a symbolic link out of the allowed directory, the agent's own state directory) are
# stopped by the agent, naming the setting, before any container exists. The agent's private files are 0700/0600.
# ---------------------------------------------------------------------------------------------------------------
import stat as item9_stat
import uuid as item9_uuid

from conftest import cluster_with_agent as item9_cluster_with_agent, containers_of as item9_containers_of

ITEM9_PRIVILEGED = "com.amazonaws.ecs.capability.privileged-container"
ITEM9_BASE = {"name": "c", "image": "localhost/busybox:latest", "memory": 16, "command": ["sleep", "300"]}


def item9_attributes(ecs, cluster):
    instance = ecs.describe_container_instances(
        cluster=cluster, containerInstances=ecs.list_container_instances(cluster=cluster)["containerInstanceArns"])["containerInstances"][0]
    return instance["containerInstanceArn"], {a["name"]: a.get("value") for a in instance["attributes"]}


def item9_task_containers(instance, task_arn):
    return [c for c in item9_containers_of(instance) if c["Labels"].get("stowage.task") == task_arn]


def item9_stopped(ecs, cluster, task_arn):
    task = ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"][0]
    return task if task["lastStatus"] == "STOPPED" else None


def test_item9_forbidden_host_settings_are_never_placed_or_started(server, tenant, tmp_path, agents, need_engine):
    shared = tmp_path / "shared"
    (shared / "app").mkdir(parents=True)
    (shared / "escape").symlink_to("/etc")
    files = f"/dev/shm/stowage-item9-{item9_uuid.uuid4().hex[:8]}"
    # tmp_path is the allowed prefix; it also holds the agent's state directory (tmp_path/locked), which no switch allows.
    ecs = item9_cluster_with_agent(server, tenant, tmp_path, agents, "locked", extra=[
        "--forbid-host-access", "--host-path-prefix", str(tmp_path), "--allow-capability", "NET_BIND_SERVICE",
        "--config-files-dir", files])
    try:
        instance, attributes = item9_attributes(ecs, "locked")
        # What the instance allows, as attributes: ECS's privileged capability absent, the allow-list listed.
        assert ITEM9_PRIVILEGED not in attributes
        assert attributes["stowage.capability.host-settings"] == "advertised"
        assert attributes["stowage.capability.host-paths"] == "listed"
        assert attributes["stowage.capability.host-path.1"] == str(tmp_path)
        assert attributes["stowage.capability.linux-capabilities"] == "listed"
        assert "stowage.capability.linux-capability.NET_BIND_SERVICE" in attributes
        for name in ("devices", "host-pid-namespace", "host-ipc-namespace", "system-controls", "security-options"):
            assert f"stowage.capability.{name}" not in attributes

        mount = {"mountPoints": [{"sourceVolume": "h", "containerPath": "/h"}]}
        refused = {
            "privileged": ({"privileged": True}, {}, "privileged containers"),
            "devices": ({"linuxParameters": {"devices": [{"hostPath": "/dev/null"}]}}, {}, "devices"),
            "capability": ({"linuxParameters": {"capabilities": {"add": ["SYS_ADMIN"]}}}, {}, "added capability SYS_ADMIN"),
            "pid": ({}, {"pidMode": "host"}, "PID namespace"),
            "ipc": ({}, {"ipcMode": "host"}, "IPC namespace"),
            "sysctl": ({"systemControls": [{"namespace": "kernel.msgmax", "value": "65536"}]}, {}, "systemControls"),
            "seccomp": ({"dockerSecurityOptions": ["seccomp=unconfined"]}, {}, "dockerSecurityOptions"),
            "etc": (mount, {"volumes": [{"name": "h", "host": {"sourcePath": "/etc"}}]}, "host path /etc"),
            # `..` out of the allowed prefix, through a local volume over a host directory.
            "dotdot": (mount, {"volumes": [{"name": "h", "dockerVolumeConfiguration": {"scope": "task", "driver": "local",
                       "driverOpts": {"type": "none", "o": "bind", "device": f"{tmp_path}/../../etc"}}}]}, "host path"),
        }
        for family, (container, definition, words) in refused.items():
            ecs.register_task_definition(family=f"item9-{family}", containerDefinitions=[{**ITEM9_BASE, **container}], **definition)
            answer = ecs.run_task(cluster="locked", taskDefinition=f"item9-{family}")
            assert answer["tasks"] == [], family
            reason = answer["failures"][0]["reason"]
            assert reason.startswith("ATTRIBUTE: no container instance allows ") and words in reason, (family, reason)
        answer = ecs.start_task(cluster="locked", taskDefinition="item9-privileged", containerInstances=[instance])
        assert answer["tasks"] == [] and answer["failures"][0]["arn"] == instance
        assert answer["failures"][0]["reason"] == f"ATTRIBUTE: the container instance does not allow privileged containers ({ITEM9_PRIVILEGED})"
        # Nothing was started: no task row left behind, no container made.
        for status in ("RUNNING", "STOPPED"):
            assert ecs.list_tasks(cluster="locked", desiredStatus=status)["taskArns"] == []
        assert item9_containers_of(instance) == []

        # A service's events name the setting.
        ecs.create_service(cluster="locked", serviceName="priv", taskDefinition="item9-privileged", desiredCount=1)
        wanted = f"(service priv) was unable to place a task because no container instance allows privileged containers ({ITEM9_PRIVILEGED})."
        assert wait_for(lambda: any(e["message"] == wanted for e in
                                    ecs.describe_services(cluster="locked", services=["priv"])["services"][0]["events"]), seconds=20)
        ecs.update_service(cluster="locked", service="priv", desiredCount=0)

        # What the switches allow still runs here: an allowed host path, an allowed capability, a configuration file.
        ecs.register_task_definition(family="item9-allowed", containerDefinitions=[{
            **ITEM9_BASE, **mount, "mountPoints": mount["mountPoints"] + [{"sourceVolume": "conf", "containerPath": "/conf"}],
            "linuxParameters": {"capabilities": {"add": ["NET_BIND_SERVICE"]}}}],
            volumes=[{"name": "h", "host": {"sourcePath": str(shared / "app")}},
                     {"name": "conf", "dockerVolumeConfiguration": {"scope": "task", "driver": "stowage",
                                                                    "driverOpts": {"file:app.conf": "text:port=80"}}}])
        allowed = ecs.run_task(cluster="locked", taskDefinition="item9-allowed")["tasks"][0]
        assert wait_for(lambda: ecs.describe_tasks(cluster="locked", tasks=[allowed["taskArn"]])["tasks"][0]["lastStatus"] == "RUNNING", seconds=30)
        assert len(item9_task_containers(instance, allowed["taskArn"])) == 1

        # Past the scheduler, the agent judges again. A link out of the allowed directory, the agent's own state
        # directory, and privileged mode after a tenant adds ECS's attribute with PutAttributes: each is stopped
        # with the setting named, and gets no container.
        ecs.put_attributes(cluster="locked", attributes=[{"name": ITEM9_PRIVILEGED, "targetType": "container-instance", "targetId": instance}])
        past = {
            "item9-privileged": ("privileged containers (--forbid-privileged)", None),
            "item9-link": ("resolves to /etc through a symbolic link", str(shared / "escape")),
            "item9-own": ("the agent's own files", str(tmp_path / "locked")),
        }
        launched = {}
        for family, (words, path) in past.items():
            if path:
                ecs.register_task_definition(family=family, containerDefinitions=[{**ITEM9_BASE, **mount}],
                                             volumes=[{"name": "h", "host": {"sourcePath": path}}])
            answer = ecs.run_task(cluster="locked", taskDefinition=family)
            assert answer["failures"] == [], (family, answer["failures"])
            launched[family] = answer["tasks"][0]["taskArn"]
        for family, arn in launched.items():
            task = wait_for(lambda: item9_stopped(ecs, "locked", arn), seconds=20)
            assert task, family
            assert task["stoppedReason"].startswith("CannotStartContainerError: this container instance does not allow"), task["stoppedReason"]
            assert past[family][0] in task["stoppedReason"], (family, task["stoppedReason"])
            assert task["stopCode"] == "TaskFailedToStart"
            assert item9_task_containers(instance, arn) == [], family

        # Secrets on the host: the agent's state and the tmpfs tree of configuration files are its own alone.
        def mode(path):
            return item9_stat.S_IMODE(os.stat(path).st_mode)
        assert mode(tmp_path / "locked") == 0o700
        assert mode(tmp_path / "locked" / "agent-state.json") == 0o600
        task_dir = f"{files}/{allowed['taskArn'].rsplit('/', 1)[1]}"
        assert mode(files) == 0o700 and mode(task_dir) == 0o700
        assert open(f"{task_dir}/conf/app.conf").read() == "port=80"

        # A restarted agent states its host settings again: the attribute the tenant added does not survive it.
        agents[0].stop()
        agents[0].start()
        assert wait_for(lambda: ITEM9_PRIVILEGED not in item9_attributes(ecs, "locked")[1], seconds=20)
    finally:
        import shutil as item9_shutil
        item9_shutil.rmtree(files, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------------------
# Item 6: SigV4 edges. A presigned URL dated beyond the skew window or asking for more than seven days is refused;
# the header form refuses x-amz-content-sha256: UNSIGNED-PAYLOAD (its body would be unsigned); an unknown access
# key is refused every time but looked up once a minute (negative cache), and a key made valid again works at once.
# ---------------------------------------------------------------------------------------------------------------
import base64 as item6_base64
import datetime as item6_datetime
import hashlib as item6_hashlib
import hmac as item6_hmac
import urllib.error as item6_urlerror
import urllib.parse as item6_urlparse
import urllib.request as item6_urlrequest
import uuid as item6_uuid

from botocore.exceptions import ClientError as Item6ClientError


def item6_key(secret, date, service="ecs"):
    key = ("AWS4" + secret).encode()
    for part in (date, REGION, service, "aws4_request"):
        key = item6_hmac.new(key, part.encode(), item6_hashlib.sha256).digest()
    return key


def item6_quote(text):
    return item6_urlparse.quote(text, safe="-_.~")


def item6_presigned_url(server, tenant, path, signed_at, expires):
    """A presigned GET built by hand (botocore always signs at the present), as SigV4's query form defines it."""
    amz_date = signed_at.strftime("%Y%m%dT%H%M%SZ")
    scope = f"{amz_date[:8]}/{REGION}/ecs/aws4_request"
    params = {"X-Amz-Algorithm": "AWS4-HMAC-SHA256", "X-Amz-Credential": f"{tenant.key_id}/{scope}", "X-Amz-Date": amz_date,
              "X-Amz-Expires": str(expires), "X-Amz-SignedHeaders": "host"}
    query = "&".join(f"{item6_quote(k)}={item6_quote(v)}" for k, v in sorted(params.items()))
    host = server.endpoint.split("://", 1)[1]
    canonical = "\n".join(["GET", path, query, f"host:{host}\n", "host", "UNSIGNED-PAYLOAD"])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, item6_hashlib.sha256(canonical.encode()).hexdigest()])
    signature = item6_hmac.new(item6_key(tenant.secret, amz_date[:8]), to_sign.encode(), item6_hashlib.sha256).hexdigest()
    return f"{server.endpoint}{path}?{query}&X-Amz-Signature={signature}"


def item6_get(url, headers=None):
    try:
        with item6_urlrequest.urlopen(item6_urlrequest.Request(url, headers=headers or {}), timeout=10) as r:
            return r.status, r.read().decode()
    except item6_urlerror.HTTPError as error:
        return error.code, error.read().decode()


def item6_header_signed(server, tenant, target, body, payload_hash):
    """An ECS JSON call signed in the header form over `payload_hash` (the body's SHA-256, or what an attacker claims)."""
    now = item6_datetime.datetime.now(item6_datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    scope = f"{amz_date[:8]}/{REGION}/ecs/aws4_request"
    host = server.endpoint.split("://", 1)[1]
    headers = {"content-type": "application/x-amz-json-1.1", "host": host, "x-amz-content-sha256": payload_hash,
               "x-amz-date": amz_date, "x-amz-target": f"AmazonEC2ContainerServiceV20141113.{target}"}
    signed = ";".join(sorted(headers))
    canonical = "\n".join(["POST", "/", "", "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)), signed, payload_hash])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, item6_hashlib.sha256(canonical.encode()).hexdigest()])
    signature = item6_hmac.new(item6_key(tenant.secret, amz_date[:8]), to_sign.encode(), item6_hashlib.sha256).hexdigest()
    headers["authorization"] = f"AWS4-HMAC-SHA256 Credential={tenant.key_id}/{scope}, SignedHeaders={signed}, Signature={signature}"
    del headers["host"]
    request = item6_urlrequest.Request(server.endpoint + "/", data=body, headers=headers, method="POST")
    try:
        with item6_urlrequest.urlopen(request, timeout=10) as r:
            return r.status, json.loads(r.read() or b"{}")
    except item6_urlerror.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def item6_metric(text, series):
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return 0.0


def test_item6_presigned_urls_dated_ahead_or_living_past_seven_days_are_refused(server, tenant):
    now = item6_datetime.datetime.now(item6_datetime.timezone.utc)
    # The builder is right: signed now for a minute, the presigned GET lists the clusters.
    status, body = item6_get(item6_presigned_url(server, tenant, "/v1/clusters", now, 60))
    assert status == 200, body
    # Dated eight days ahead with seven days of life, it would live fifteen: refused as not yet current.
    status, body = item6_get(item6_presigned_url(server, tenant, "/v1/clusters", now + item6_datetime.timedelta(days=8), 604800))
    assert status == 403 and json.loads(body)["__type"] == "InvalidSignatureException" and "not yet current" in body, body
    # Sixteen minutes ahead is past the skew window too; fourteen is within it.
    status, body = item6_get(item6_presigned_url(server, tenant, "/v1/clusters", now + item6_datetime.timedelta(minutes=16), 60))
    assert status == 403, body
    status, body = item6_get(item6_presigned_url(server, tenant, "/v1/clusters", now + item6_datetime.timedelta(minutes=14), 60))
    assert status == 200, body
    # Eight days of life: refused by name (AWS's cap is 604800 seconds).
    status, body = item6_get(item6_presigned_url(server, tenant, "/v1/clusters", now, 8 * 86400))
    assert status == 403 and json.loads(body)["__type"] == "IncompleteSignatureException" and "604800" in body, body


def test_item6_a_header_signed_request_with_an_unsigned_payload_is_refused_and_does_nothing(server, tenant):
    ecs = ecs_client(server, tenant)
    name = f"item6-{item6_uuid.uuid4().hex[:8]}"
    body = json.dumps({"clusterName": name}).encode()
    # A signature that is right for UNSIGNED-PAYLOAD: whoever holds it could send any body under it.
    status, answer = item6_header_signed(server, tenant, "CreateCluster", body, "UNSIGNED-PAYLOAD")
    assert status == 403 and answer["__type"] == "InvalidSignatureException" and "UNSIGNED-PAYLOAD" in answer["message"], answer
    described = ecs.describe_clusters(clusters=[name])
    assert described["clusters"] == [] and described["failures"][0]["reason"] == "MISSING", "nothing was created"
    # The same request signed over its body's hash is taken (the signer above is right).
    status, answer = item6_header_signed(server, tenant, "CreateCluster", body, item6_hashlib.sha256(body).hexdigest())
    assert status == 200 and answer["cluster"]["clusterName"] == name, answer
    ecs.delete_cluster(cluster=name)


def test_item6_an_unknown_key_is_refused_every_time_and_looked_up_once(server, tenant):
    # An id of the tenant's account (so the lookup would reach its rows) that no key has.
    raw = int(tenant.account).to_bytes(5, "big") + os.urandom(5)
    unknown = "AKIA" + item6_base64.b32encode(raw).decode()
    series = 'stowage_credential_lookups_total{outcome="unknown"}'
    before = item6_metric(item6_get(f"{server.endpoint}/metrics")[1], series)
    stranger = ecs_client(server, tenant, key_id=unknown, secret="x" * 40)
    for _ in range(20):
        with pytest.raises(Item6ClientError) as refused:
            stranger.list_clusters()
        assert refused.value.response["Error"]["Code"] == "UnrecognizedClientException"
    after = item6_metric(item6_get(f"{server.endpoint}/metrics")[1], series)
    assert after - before == 1, f"20 refusals, {after - before} database lookups"

    # A key set Inactive is refused (and remembered as unknown); set Active again, it works at once on this server.
    iam = boto3.client("iam", endpoint_url=server.endpoint, region_name=REGION,
                       aws_access_key_id=tenant.key_id, aws_secret_access_key=tenant.secret)
    user = f"item6-{item6_uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="list", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecs:ListClusters", "Resource": "*"}]}))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    client = ecs_client(server, tenant, key_id=key["AccessKeyId"], secret=key["SecretAccessKey"])
    client.list_clusters()
    iam.update_access_key(UserName=user, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    with pytest.raises(Item6ClientError) as inactive:
        client.list_clusters()
    assert inactive.value.response["Error"]["Code"] == "UnrecognizedClientException"
    iam.update_access_key(UserName=user, AccessKeyId=key["AccessKeyId"], Status="Active")
    assert "clusterArns" in client.list_clusters(), "reactivated here, so not left in the unknown-key cache"


# ---------------------------------------------------------------------------------------------------------------
# Item 10: smaller items. Alarm webhook URLs naming a forbidden address (any spelling) are refused when written;
# /metrics names tenants only to the operator's bearer token; the built-in agent policy lets an agent read its
# account's service names; RunTask's overrides.taskRoleArn is served to the task (iam:PassRole checked). The DNS
# resolver's source checks and the registry client's rules are performed with real sockets in the Swift tests
# (DiscoveryResolverTests, RegistryClientTests); test_service_discovery.py and test_images.py run them end to end.
# ---------------------------------------------------------------------------------------------------------------
import subprocess as item10_subprocess
import urllib.error as item10_urlerror
import urllib.parse as item10_urlparse
import urllib.request as item10_urlrequest
import uuid as item10_uuid

from botocore.config import Config as Item10Config
from botocore.exceptions import ClientError as Item10ClientError

from conftest import BIN as ITEM10_BIN, ECS_TASKS_TRUST as ITEM10_TRUST, Agent as Item10Agent

# Loopback in several spellings (dotted, one decimal number, hex and short, IPv6, IPv4-mapped IPv6), link-local with
# the metadata service, a private range. The tests' servers allow 127.0.0.1/32 (as an operator may), so 127.0.0.2 is
# what stays refused: 2130706434 and 0x7f.2 are it.
ITEM10_FORBIDDEN = [
    ("http://127.0.0.2/x", "127.0.0.0/8"),
    ("http://169.254.169.254/latest", "169.254.0.0/16"),
    ("http://[::1]/", "0:0:0:0:0:0:0:1/128"),
    ("http://2130706434/", "127.0.0.0/8"),
    ("https://0x7f.2/hook", "127.0.0.0/8"),
    ("http://[::ffff:127.0.0.2]:8080/", "127.0.0.0/8"),
    ("http://10.1.2.3/", "10.0.0.0/8"),
]


def item10_alarm(cloudwatch, name, url):
    cloudwatch.put_metric_alarm(AlarmName=name, Namespace="Item10", MetricName="Load", Statistic="Average", Period=60,
                                EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold", AlarmActions=[url])


def test_item10_alarm_webhooks_to_forbidden_addresses_are_refused_when_written(server, tenant):
    (cloudwatch,) = tenant_clients(server, tenant, "cloudwatch")
    prefix = f"item10-{item10_uuid.uuid4().hex[:6]}"
    for i, (url, cidr) in enumerate(ITEM10_FORBIDDEN):
        with pytest.raises(Item10ClientError) as refused:
            item10_alarm(cloudwatch, f"{prefix}-{i}", url)
        error = refused.value.response["Error"]
        assert error["Code"] == "InvalidParameterValue" and url in error["Message"] and cidr in error["Message"], (url, error)
    assert cloudwatch.describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"] == [], "no alarm was created"
    # What the operator allowed (127.0.0.1/32 for these tests, on the server as on the worker) is taken in any spelling,
    # and so is a name: what a name resolves to is judged when it is called.
    taken = [f"{prefix}-allowed", f"{prefix}-decimal", f"{prefix}-name"]
    for name, url in zip(taken, ["http://127.0.0.1:9/hook", "http://2130706433:9/hook", "https://hooks.example.invalid/x"]):
        item10_alarm(cloudwatch, name, url)
    assert len(cloudwatch.describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"]) == 3
    cloudwatch.delete_alarms(AlarmNames=taken)


def item10_scrape(url, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with item10_urlrequest.urlopen(item10_urlrequest.Request(url, headers=headers), timeout=10) as r:
            return r.status, r.read().decode()
    except item10_urlerror.HTTPError as error:
        return error.code, error.read().decode()


def test_item10_metrics_name_tenants_only_to_the_operator_token(server, tenant, other_tenant):
    for t in (tenant, other_tenant):
        ecs_client(server, t).list_clusters()
    token = server.env["STOWAGE_METRICS_TOKEN"]
    status, open_text = item10_scrape(f"{server.endpoint}/metrics")
    assert status == 200 and "stowage_api_requests_total" in open_text, "the operational series stay public"
    for t in (tenant, other_tenant):
        assert t.account not in open_text, "no tenant's account id without the token"
    assert 'account="' not in open_text and 'cluster="' not in open_text
    status, whole = item10_scrape(f"{server.endpoint}/metrics", token)
    assert status == 200
    for t in (tenant, other_tenant):
        assert f'stowage_api_account_requests_total{{account="{t.account}"}}' in whole, "the operator sees each tenant's calls"
    status, _ = item10_scrape(f"{server.endpoint}/metrics", "not-the-token")
    assert status == 401, "a wrong token is refused, so a misconfigured scraper notices"
    status, worker_text = item10_scrape(server.worker_metrics)
    assert status == 200 and all(t.account not in worker_text for t in (tenant, other_tenant))
    assert item10_scrape(server.worker_metrics, "not-the-token")[0] == 401


def test_item10_the_agent_policy_lets_an_agent_read_its_service_names(server, tenant):
    (iam,) = tenant_clients(server, tenant, "iam")
    arn = "arn:aws:iam::aws:policy/StowageAgentPolicy"
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    document = json.loads(item10_urlparse.unquote(document)) if isinstance(document, str) else document
    actions = [a for s in document["Statement"] if s["Effect"] == "Allow"
               for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])]
    assert "servicediscovery:DiscoverInstances" in actions, document
    # An agent identity's own key gets past authorization to the lookup (a namespace it has not is NamespaceNotFound,
    # where a key without the permission gets AccessDeniedException).
    cluster = f"item10-{item10_uuid.uuid4().hex[:6]}"
    created = item10_subprocess.run([ITEM10_BIN, "admin", "create-agent", "--account", tenant.account, "--cluster", cluster],
                             env=server.env, check=True, capture_output=True, text=True).stdout
    key = dict(line.split(" = ", 1) for line in created.splitlines() if " = " in line)
    agent_sd = boto3.client("servicediscovery", endpoint_url=server.endpoint, region_name=REGION, config=Item10Config(inject_host_prefix=False),
                            aws_access_key_id=key["aws_access_key_id"], aws_secret_access_key=key["aws_secret_access_key"])
    with pytest.raises(Item10ClientError) as looked_up:
        agent_sd.discover_instances(NamespaceName=f"{cluster}.internal", ServiceName="web")
    assert looked_up.value.response["Error"]["Code"] == "NamespaceNotFound", looked_up.value.response


def test_item10_run_task_role_override_is_served_to_the_task(server, tenant, tmp_path, agents, need_engine):
    ecs = ecs_client(server, tenant)
    iam, logs = tenant_clients(server, tenant, "iam", "logs")
    suffix = item10_uuid.uuid4().hex[:6]
    defined = iam.create_role(RoleName=f"item10-defined-{suffix}", AssumeRolePolicyDocument=json.dumps(ITEM10_TRUST))["Role"]
    override = iam.create_role(RoleName=f"item10-override-{suffix}", AssumeRolePolicyDocument=json.dumps(ITEM10_TRUST))["Role"]
    cluster = f"item10-{suffix}"
    ecs.create_cluster(clusterName=cluster)
    script = ('wget -q -O - --header "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" "$AWS_CONTAINER_CREDENTIALS_FULL_URI"; '
              'echo; sleep 600')
    app = {"name": "app", "image": "localhost/busybox:latest", "memory": 16, "command": ["sh", "-c", script],
           "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": f"/item10/{suffix}", "awslogs-stream-prefix": "app",
                                                                     "awslogs-create-group": "true"}}}
    ecs.register_task_definition(family=f"item10-{suffix}", taskRoleArn=defined["Arn"], networkMode="host", containerDefinitions=[app])

    # Passing a role is a permission of its own: a user allowed RunTask but not iam:PassRole is refused, nothing runs.
    user = f"item10-runner-{suffix}"
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="run", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["ecs:RunTask", "ecs:ListTasks"], "Resource": "*"}]}))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    runner = ecs_client(server, tenant, key_id=key["AccessKeyId"], secret=key["SecretAccessKey"])
    with pytest.raises(Item10ClientError) as refused:
        runner.run_task(cluster=cluster, taskDefinition=f"item10-{suffix}", overrides={"taskRoleArn": override["Arn"]})
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException" and "iam:PassRole" in refused.value.response["Error"]["Message"]
    assert ecs.list_tasks(cluster=cluster, desiredStatus="RUNNING")["taskArns"] == [] and \
        ecs.list_tasks(cluster=cluster, desiredStatus="STOPPED")["taskArns"] == []

    # The administrator may pass it (by name, as ECS takes it): the task's containers get the override's credentials.
    agents.append(Item10Agent(server, tenant, cluster, tmp_path / "agent"))
    assert wait_for(lambda: ecs.list_container_instances(cluster=cluster)["containerInstanceArns"])
    task = ecs.run_task(cluster=cluster, taskDefinition=f"item10-{suffix}", overrides={"taskRoleArn": override["RoleName"]})["tasks"][0]
    assert task["overrides"]["taskRoleArn"] == override["Arn"], task["overrides"]

    def printed():
        groups = logs.describe_log_groups(logGroupNamePrefix=f"/item10/{suffix}")["logGroups"]
        lines = [e["message"] for e in logs.filter_log_events(logGroupName=f"/item10/{suffix}")["events"]] if groups else []
        return next((json.loads(line) for line in lines if line.startswith("{")), None)
    credentials = wait_for(printed, seconds=60)
    assert credentials, "the container printed what its credentials endpoint answered"
    assert credentials["RoleArn"] == override["Arn"] and credentials["AccessKeyId"].startswith("ASIA"), credentials
    sts = boto3.client("sts", endpoint_url=server.endpoint, region_name=REGION, aws_access_key_id=credentials["AccessKeyId"],
                       aws_secret_access_key=credentials["SecretAccessKey"], aws_session_token=credentials["Token"])
    assert f":assumed-role/{override['RoleName']}/" in sts.get_caller_identity()["Arn"]
    ecs.stop_task(cluster=cluster, task=task["taskArn"])
