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
# Item 7: no tenant regex can take the API's threads. SSM AllowedPattern runs on BoundedRegex (a Pike VM, cost
# within instructions x text length), not on ICU's backtracking engine, where `^(a|a)*$` against thirty `a`s and
# a `!` took seconds of one of the server's few cooperative-pool threads per call.
# ---------------------------------------------------------------------------------------------------------------
import concurrent.futures as item7_futures
import threading as item7_threading
import urllib.error as item7_urlerror
import urllib.request as item7_urlrequest
import uuid as item7_uuid

from botocore.auth import SigV4Auth as Item7SigV4Auth
from botocore.awsrequest import AWSRequest as Item7AWSRequest
from botocore.credentials import Credentials as Item7Credentials
from botocore.exceptions import ClientError as Item7ClientError

# Catastrophic for a backtracking engine; none matches its value, so each put is refused as a mismatch.
ITEM7_ATTACKS = [
    ("^(a|a)*$", "a" * 30 + "!"),
    ("(a*)*b", "a" * 30),
    ("^(x+x+)+y$", "x" * 30),
    ("^(\\w+\\s?)*$", "word " * 8 + "!"),
]


def _item7_error(call):
    try:
        call()
    except Item7ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"].get("Message", "")
    return None, ""


def _item7_p95(samples):
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * 0.95) - 1)]


def _item7_signed_put(server, tenant, name, value, pattern):
    """A PutParameter signed ahead of time, so that firing eight at once costs this process almost nothing."""
    return _item7_signed(server, tenant, {"Name": name, "Value": value, "Type": "String", "AllowedPattern": pattern})


def _item7_signed(server, tenant, fields):
    body = json.dumps(fields)
    request = Item7AWSRequest(method="POST", url=server.endpoint + "/", data=body,
                              headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonSSM.PutParameter"})
    Item7SigV4Auth(Item7Credentials(tenant.key_id, tenant.secret), "ssm", REGION).add_auth(request)
    return item7_urlrequest.Request(server.endpoint + "/", data=body.encode(), headers=dict(request.headers), method="POST")


def _item7_send(request):
    """(seconds, error name or None)."""
    start = time.perf_counter()
    try:
        with item7_urlrequest.urlopen(request, timeout=30) as response:
            json.load(response)
            code = None
    except item7_urlerror.HTTPError as e:
        code = json.load(e).get("__type")
    return time.perf_counter() - start, code


def _item7_b_latencies(ecs_b, cluster, run_phases):
    """Tenant B calls DescribeClusters 40 times idle, then back to back while `run_phases(phases)` runs, which appends
    (kind, start, end) for each phase it runs; each sample belongs to the phase it started in. Returns the idle p95
    and a function giving the p95 during a kind's phases."""
    def describe():
        start = time.perf_counter()
        ecs_b.describe_clusters(clusters=[cluster])
        return start, time.perf_counter() - start

    for _ in range(5):
        describe()  # warm the connection and the caller's cached keys
    idle = [describe()[1] for _ in range(40)]
    samples, phases, stop = [], [], item7_threading.Event()

    def measure():
        while not stop.is_set():
            samples.append(describe())

    measurer = item7_threading.Thread(target=measure)
    measurer.start()
    try:
        run_phases(phases)
    finally:
        stop.set()
        measurer.join(timeout=60)

    def p95_during(kind):
        during = [latency for started, latency in samples if any(k == kind and a <= started < b for k, a, b in phases)]
        assert len(during) >= 8, f"only {len(during)} DescribeClusters calls started during the {kind} puts"
        return _item7_p95(during)
    return _item7_p95(idle), p95_during


def test_item7_catastrophic_allowed_patterns_cannot_slow_another_tenant(server, tenant, other_tenant):
    (ecs_b,) = tenant_clients(server, other_tenant, "ecs")
    ecs_b.create_cluster(clusterName="item7")
    run = item7_uuid.uuid4().hex[:8]

    # Phases alternate: batches of eight concurrent puts with a harmless pattern (the cost of any eight writes on this
    # machine), then with catastrophic ones, four rounds each, so drift and warm-up fall on both alike.
    answers = {"harmless": [], "catastrophic": []}

    def run_phases(phases):
        with item7_futures.ThreadPoolExecutor(max_workers=8) as pool:
            for round_ in range(4):
                for kind in ("harmless", "catastrophic"):
                    batches = [[_item7_signed_put(server, tenant, f"/item7/{run}/{kind}/r{round_}/b{batch}/p{i}",
                                                  *(("b", "^a$") if kind == "harmless" else ITEM7_ATTACKS[(i + batch) % 4][::-1]))
                                for i in range(8)] for batch in range(4)]
                    start = time.perf_counter()
                    for puts in batches:
                        answers[kind] += list(pool.map(_item7_send, puts))
                    phases.append((kind, start, time.perf_counter()))

    idle_p95, p95_during = _item7_b_latencies(ecs_b, "item7", run_phases)
    for kind, results in answers.items():
        assert len(results) == 128
        for seconds, code in results:
            assert code == "ParameterPatternMismatchException", (kind, code)
            assert seconds < 1.0, f"a {kind} put took {seconds:.2f} s"

    harmless_p95, attack_p95 = p95_during("harmless"), p95_during("catastrophic")
    summary = f"DescribeClusters p95: idle {idle_p95 * 1000:.1f} ms, under harmless puts {harmless_p95 * 1000:.1f} ms, " \
              f"under catastrophic puts {attack_p95 * 1000:.1f} ms"
    print(summary)
    # "Under 2x idle", where idle is the same eight concurrent writes with a harmless pattern: on two cores any eight
    # writes already double a 7 ms call, and what this item forbids is the pattern's own cost (ICU took B from 7 ms
    # to 1.7 s). At a few milliseconds a scheduler tick is most of that, so 15 ms of timer noise are allowed.
    assert attack_p95 < max(2 * harmless_p95, harmless_p95 + 0.015), summary
    assert attack_p95 < idle_p95 + 0.25, summary  # and nowhere near the seconds a pool thread held by ICU costs

    # Nothing was written for a refused put.
    (ssm_a,) = tenant_clients(server, tenant, "ssm")
    for name in [f"/item7/{run}/catastrophic/r0/b0/p0", f"/item7/{run}/catastrophic/r3/b3/p7"]:
        assert _item7_error(lambda: ssm_a.get_parameter(Name=name))[0] == "ParameterNotFound"
    assert ssm_a.get_parameters_by_path(Path=f"/item7/{run}", Recursive=True)["Parameters"] == []

    # The same pattern still answers with the match result when the value matches.
    start = time.perf_counter()
    ssm_a.put_parameter(Name=f"/item7/{run}/ok", Value="a" * 30, Type="String", AllowedPattern="^(a|a)*$")
    assert time.perf_counter() - start < 1.0
    assert ssm_a.get_parameter(Name=f"/item7/{run}/ok")["Parameter"]["Value"] == "a" * 30


# Item 7, the stored pattern (found in review of the fix above). A stored AllowedPattern whose program is large keeps
# hundreds of matcher states alive at every position: `.{0,600}.{0,600}z` over an 8,000-character value spent the
# whole step budget (1.5-2.3 s of a thread in a debug build) on each PutParameter with Overwrite, checked on the API's
# threads inside the transaction; eight such loops took B's DescribeClusters p95 from 11 ms to 29 s. Now the budget is
# 20x lower and every check runs on PatternChecks' own low-priority threads, one at a time per account, a check
# that cannot start within 0.5 s refused with ThrottlingException, before the transaction.
ITEM7_STORED = ".{0,600}.{0,600}z"


def _item7_loop(server, tenant, fields, until, answers):
    """PutParameter in a loop until `until` (at most 200 calls), each answer's (seconds, error name) appended."""
    for _ in range(200):
        if time.perf_counter() >= until:
            return
        answers.append(_item7_send(_item7_signed(server, tenant, fields)))


def test_item7_a_costly_stored_pattern_in_eight_loops_cannot_slow_another_tenant(server, tenant, other_tenant):
    (ssm_a,) = tenant_clients(server, tenant, "ssm")
    (ecs_b,) = tenant_clients(server, other_tenant, "ecs")
    ecs_b.create_cluster(clusterName="item7-stored")
    run = item7_uuid.uuid4().hex[:8]
    costly = f"/item7/{run}/costly"
    ssm_a.put_parameter(Name=costly, Value="z", Type="String", Tier="Advanced", AllowedPattern=ITEM7_STORED)
    # Harmless: the same eight loops of 8,000-character overwrites, each on a parameter of its own with a cheap pattern.
    for i in range(8):
        ssm_a.put_parameter(Name=f"/item7/{run}/cheap{i}", Value="a", Type="String", Tier="Advanced", AllowedPattern="^a+$")
    value = "a" * 8000

    def fields(kind, i):
        return {"Name": costly if kind == "costly" else f"/item7/{run}/cheap{i}", "Value": value, "Type": "String", "Overwrite": True}

    answers = {"harmless": [], "costly": []}

    def run_phases(phases):
        with item7_futures.ThreadPoolExecutor(max_workers=8) as pool:
            for _ in range(2):
                for kind in ("harmless", "costly"):
                    start = time.perf_counter()
                    until = start + 1.0
                    list(pool.map(lambda i: _item7_loop(server, tenant, fields(kind, i), until, answers[kind]), range(8)))
                    phases.append((kind, start, time.perf_counter()))

    idle_p95, p95_during = _item7_b_latencies(ecs_b, "item7-stored", run_phases)
    for kind, results in answers.items():
        slowest = max(seconds for seconds, _ in results)
        assert slowest < 1.0, f"a {kind} put took {slowest:.2f} s"
    assert {code for _, code in answers["harmless"]} == {None}, answers["harmless"]
    codes = [code for _, code in answers["costly"]]
    # Each costly put is refused: the check ran out of steps, or could not start while A's other check ran.
    assert set(codes) <= {"ValidationException", "ThrottlingException"}, set(codes)
    assert codes.count("ValidationException") >= 4, codes

    harmless_p95, attack_p95 = p95_during("harmless"), p95_during("costly")
    summary = f"DescribeClusters p95: idle {idle_p95 * 1000:.1f} ms, under harmless overwrites {harmless_p95 * 1000:.1f} ms, " \
              f"under costly ones {attack_p95 * 1000:.1f} ms ({len(answers['costly'])} costly puts, " \
              f"{codes.count('ThrottlingException')} throttled)"
    print(summary)
    # The bound of the test above: within 2x the same eight loops with a harmless pattern (15 ms of timer noise).
    assert attack_p95 < max(2 * harmless_p95, harmless_p95 + 0.015), summary
    assert attack_p95 < idle_p95 + 0.25, summary

    # Nothing was written for a refused put.
    assert ssm_a.get_parameter(Name=costly)["Parameter"]["Value"] == "z"
    assert [p["Version"] for p in ssm_a.get_parameter_history(Name=costly)["Parameters"]] == [1]


def test_item7_patterns_that_cannot_run_in_linear_time_are_refused_by_name(server, tenant):
    (ssm,) = tenant_clients(server, tenant, "ssm")
    for pattern, says in [("^(a)\\1$", "backreference \\1 at column 5"), ("^(?=a)a$", "lookahead (?= at column 2"),
                          ("^(?>a+)$", "atomic group"), ("^a++$", "possessive quantifier"),
                          ("^(a{1000}){1000}$", "too complex")]:
        name = f"/item7/refused/{item7_uuid.uuid4().hex[:8]}"
        code, message = _item7_error(lambda: ssm.put_parameter(Name=name, Value="a", Type="String", AllowedPattern=pattern))
        assert code == "InvalidAllowedPatternException" and says in message, (pattern, code, message)
        assert _item7_error(lambda: ssm.get_parameter(Name=name))[0] == "ParameterNotFound"


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
        for name in ("devices", "host-network", "host-pid-namespace", "host-ipc-namespace", "system-controls", "security-options"):
            assert f"stowage.capability.{name}" not in attributes

        mount = {"mountPoints": [{"sourceVolume": "h", "containerPath": "/h"}]}
        refused = {
            "privileged": ({"privileged": True}, {}, "privileged containers"),
            "devices": ({"linuxParameters": {"devices": [{"hostPath": "/dev/null"}]}}, {}, "devices"),
            "capability": ({"linuxParameters": {"capabilities": {"add": ["SYS_ADMIN"]}}}, {}, "added capability SYS_ADMIN"),
            "pid": ({}, {"pidMode": "host"}, "PID namespace"),
            # The host's network reaches its loopback: the agent's endpoints, on one machine the control plane.
            "network": ({}, {"networkMode": "host"}, "the host's network (networkMode host)"),
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
        # directory, privileged mode and the host's network after a tenant adds their attributes with PutAttributes:
        # each is stopped with the setting named, and gets no container.
        ecs.put_attributes(cluster="locked", attributes=[{"name": name, "targetType": "container-instance", "targetId": instance}
                                                         for name in (ITEM9_PRIVILEGED, "stowage.capability.host-network")])
        past = {
            "item9-privileged": ("privileged containers (--forbid-privileged)", None),
            "item9-network": ("the host's network (networkMode host) (--forbid-host-network)", None),
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
# Review: bad input from a host. Agent telemetry with a log event or metric sample timed where PostgreSQL cannot go
# (-4611686018427387904) answered 500 ("timestamp out of range") and lost the whole shipment. Times outside what
# PutLogEvents accepts (14 days back, 2 hours ahead: the Logs door's rule) are now set aside and counted, the rest
# stored. (A host's bad image digests: Swift ServiceTests.reportedImageDigestsMustBeSha256.)
# ---------------------------------------------------------------------------------------------------------------
from conftest import register_instance as review_register


def test_review_agent_telemetry_with_impossible_times_keeps_the_rest(server, tenant):
    ecs, logs = tenant_clients(server, tenant, "ecs", "logs")
    ecs.create_cluster(clusterName="review-times")
    instance, key = review_register(server, tenant, "review-times")
    ecs.register_task_definition(family="review-times", containerDefinitions=[{
        "name": "app", "image": "busybox", "memory": 32,
        "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/review/times", "awslogs-stream-prefix": "app"}}}])
    task = ecs.start_task(cluster="review-times", taskDefinition="review-times",
                          containerInstances=[instance["containerInstanceArn"]])["tasks"][0]
    task_id, instance_id = task["taskArn"].rsplit("/", 1)[1], instance["containerInstanceArn"].rsplit("/", 1)[1]
    now = int(time.time() * 1000)
    bad = [-4611686018427387904, 9223372036854775807, now + 3 * 3_600_000, now - 15 * 86_400_000]
    events = [{"timestamp": t, "message": f"bad {t}"} for t in bad[:2]] + [{"timestamp": now, "message": "kept"}] + \
             [{"timestamp": t, "message": f"bad {t}"} for t in bad[2:]]
    metrics = [{"taskArn": task["taskArn"], "containerName": "app", "timestamp": t, "memoryBytes": 1000 + i}
               for i, t in enumerate([now] + bad)]
    stream = f"app/app/{task_id}"
    status, answer = signed_request(server, key, "POST", f"/agent/v1/clusters/review-times/container-instances/{instance_id}/telemetry", {
        "metrics": metrics, "droppedLogLines": 0,
        "logs": [{"taskArn": task["taskArn"], "logGroupName": "/review/times", "logStreamName": stream, "events": events}]})
    assert status == 200, answer
    assert answer == {"metrics": 1, "logEvents": 1, "outOfRangeMetrics": 4, "outOfRangeLogEvents": 4}, answer
    got = logs.get_log_events(logGroupName="/review/times", logStreamName=stream, startFromHead=True)["events"]
    assert [e["message"] for e in got] == ["kept"]
    status, stored = signed_request(server, tenant, "GET", f"/v1/clusters/review-times/tasks/{task_id}/metrics")
    assert status == 200 and [d.get("memoryBytes") for d in stored["datapoints"]] == [1000], stored


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


# ---------------------------------------------------------------------------------------------------------------
# Items 1-3: the shared load balancer. Every value reaches HAProxy through HAProxyText (rebuilt or strong-quoted,
# else refused); host addresses are IP literals wherever they are accepted; a load balancer HAProxy refuses is left
# out alone; targets and checks never point into the control plane's network.
# ---------------------------------------------------------------------------------------------------------------
import socket as lb_socket
import subprocess as lb_subprocess

from botocore.exceptions import ClientError as LBClientError
from test_load_balancing import Backend as LBBackend, elbv2, get as lb_get, health_check as lb_health, states as lb_states

LB_HOSTILE_ADDRESS = "127.0.0.1;disable server tg_x/t_y\nbackend evil"


def lb_error(call, **kwargs):
    with pytest.raises(LBClientError) as e:
        call(**kwargs)
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


def lb_haproxy(lb, command):
    """One runtime API command on `stowage lb`'s HAProxy."""
    with lb_socket.socket(lb_socket.AF_UNIX) as s:
        s.connect(str(lb / "haproxy" / "admin.sock"))
        s.sendall(command.encode() + b"\n")
        return s.makefile(errors="replace").read()


def lb_servers(lb):
    """(backend, server, address, port, operational state) of every server HAProxy holds."""
    out = []
    for line in lb_haproxy(lb, "show servers state").splitlines():
        words = line.split(" ")
        if len(words) > 18 and words[1].startswith("tg_"):
            out.append((words[1], words[3], words[4], words[18], words[5]))
    return out


def lb_balancer(elb, name, port, default):
    arn = elb.create_load_balancer(Name=name)["LoadBalancers"][0]["LoadBalancerArn"]
    listener = elb.create_listener(LoadBalancerArn=arn, Protocol="HTTP", Port=port, DefaultActions=default)["Listeners"][0]["ListenerArn"]
    return arn, listener


def lb_group(elb, name, targets, **health):
    tg = elb.create_target_group(Name=name, Protocol="HTTP", Port=80, TargetType="ip", **lb_health(**health))["TargetGroups"][0]["TargetGroupArn"]
    elb.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "0"}])
    if targets:
        elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": b.port} for b in targets])
    return tg


def lb_healthy(elb, tg, count):
    return wait_for(lambda: len(lb_states(elb, tg)) == count and all(h["State"] == "healthy" for h in lb_states(elb, tg).values()) or None,
                    seconds=60)


def lb_answers(url, count=12):
    return {lb_get(url)[1].split(" ")[0] for _ in range(count)}


def test_item1_tenant_text_never_reaches_haproxy(server, lb, tenant, other_tenant):
    """Item 1. Host addresses that are not IP literals are refused where an instance is registered or its attributes
    are put; a health-check path outside URI characters is refused; and rows written around the API (as an older
    Stowage could have) never reach HAProxy's configuration or runtime socket: the lb leaves them out and says why,
    while the other tenant keeps being served. HAProxy runs with an empty environment."""
    ecs = ecs_client(server, tenant)
    ecs.create_cluster(clusterName="lb-attack")
    resources = [{"name": "CPU", "type": "INTEGER", "integerValue": 1024}, {"name": "MEMORY", "type": "INTEGER", "integerValue": 1024}]
    for hostile in [LB_HOSTILE_ADDRESS, "10.0.0.1:80", "evil.example.com", "[::1]", "10.0.0.0/8", "${STOWAGE_SERVER_KEY}"]:
        with pytest.raises(LBClientError) as e:
            ecs.register_container_instance(cluster="lb-attack", totalResources=resources,
                                            attributes=[{"name": "stowage.host-address", "value": hostile}])
        assert e.value.response["Error"]["Code"] == "InvalidParameterException" and "stowage.host-address" in e.value.response["Error"]["Message"]
    assert ecs.list_container_instances(cluster="lb-attack")["containerInstanceArns"] == [], "nothing was registered"
    instance = ecs.register_container_instance(cluster="lb-attack", totalResources=resources,
                                               attributes=[{"name": "stowage.host-address", "value": "127.0.0.1"}])["containerInstance"]
    with pytest.raises(LBClientError) as e:
        ecs.put_attributes(cluster="lb-attack", attributes=[{"name": "stowage.host-address", "value": LB_HOSTILE_ADDRESS,
                                                            "targetId": instance["containerInstanceArn"]}])
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    described = ecs.describe_container_instances(cluster="lb-attack", containerInstances=[instance["containerInstanceArn"]])["containerInstances"][0]
    assert {a["name"]: a.get("value") for a in described["attributes"]}["stowage.host-address"] == "127.0.0.1", "unchanged"

    elb, victim_elb = elbv2(server, tenant), elbv2(server, other_tenant)
    assert lb_error(elb.create_target_group, Name="env", Protocol="HTTP", Port=80, TargetType="ip",
                    HealthCheckPath='/"${STOWAGE_SERVER_KEY}"')[0] == "ValidationError"
    assert not [g for g in elb.describe_target_groups()["TargetGroups"] if g["TargetGroupName"] == "env"], "nothing was created"

    # The other tenant's load balancer, serving.
    theirs = LBBackend("victim")
    mine = [LBBackend("attacker-0"), LBBackend("attacker-1")]
    try:
        victim_tg = lb_group(victim_elb, "victim", [theirs])
        victim_arn, _ = lb_balancer(victim_elb, "victim", 18101, [{"Type": "forward", "TargetGroupArn": victim_tg}])
        victim_address = victim_elb.describe_load_balancers(LoadBalancerArns=[victim_arn])["LoadBalancers"][0]["DNSName"]
        assert lb_healthy(victim_elb, victim_tg, 1)
        assert wait_for(lambda: lb_answers(f"http://{victim_address}:18101/") == {"victim"} or None, seconds=20)
        victim_server = next(s for s in lb_servers(lb) if s[3] == str(theirs.port))

        # The attacker's: a group whose rows are then rewritten around the API.
        tg = lb_group(elb, "attacker", mine)
        arn, _ = lb_balancer(elb, "attacker", 18102, [{"Type": "forward", "TargetGroupArn": tg}])
        assert lb_healthy(elb, tg, 2)
        group_id = tg.rsplit("/", 1)[1]
        # A target address carrying runtime commands aimed at the victim's server, and a line break for the config.
        psql(server, f"UPDATE targets SET address = E'127.0.0.1;disable server {victim_server[0]}/{victim_server[1]}\\nbackend evil' "
                     f"WHERE target_group_id = '{group_id}' AND port = {mine[1].port}")
        assert wait_for(lambda: lb_states(elb, tg)[("127.0.0.1", mine[1].port)]["State"] == "unused" or None, seconds=20), lb_states(elb, tg)
        refused = lb_states(elb, tg)[("127.0.0.1", mine[1].port)]
        assert refused["Reason"] == "Target.IpUnusable" and "not an IPv4 or IPv6 address" in refused["Description"]
        assert not any(s[3] == str(mine[1].port) for s in lb_servers(lb)), "the refused target was taken out of HAProxy"
        # A health-check path that would have HAProxy expand the lb's environment, and a forced reload.
        psql(server, "UPDATE target_groups SET health = jsonb_set(health, '{path}', to_jsonb('/\"${STOWAGE_SERVER_KEY}\"'::text)) "
                     f"WHERE id = '{group_id}'")
        victim_elb.create_listener(LoadBalancerArn=victim_arn, Protocol="HTTP", Port=18103,
                                   DefaultActions=[{"Type": "forward", "TargetGroupArn": victim_tg}])

        def failed():
            state = elb.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]["State"]
            return state if state["Code"] == "failed" else None
        state = wait_for(failed, seconds=20)
        assert state and "health check path" in state.get("Reason", ""), state
        assert wait_for(lambda: lb_answers(f"http://{victim_address}:18103/") == {"victim"} or None, seconds=20), \
            "the victim's new listener serves: the reload went through without the attacker's load balancer"
        assert lb_answers(f"http://{victim_address}:18101/") == {"victim"}
        config = (lb / "haproxy" / "haproxy.cfg").read_text()
        assert "STOWAGE_SERVER_KEY" not in config and "backend evil" not in config and "disable server" not in config
        assert server.env["STOWAGE_SERVER_KEY"] not in config
        assert any(s[1] == victim_server[1] and s[4] == "2" for s in lb_servers(lb)), "the victim's server is still up (op state 2)"
        for pid in (lb / "haproxy" / "haproxy.pid").read_text().split():
            if os.path.exists(f"/proc/{pid}/environ"):
                assert open(f"/proc/{pid}/environ", "rb").read() == b"", "HAProxy runs with an empty environment"
    finally:
        for b in mine + [theirs]:
            b.close()


def test_review_item2_elb_input_haproxy_or_botocore_cannot_take_is_refused_by_name(server, lb, tenant):
    """Review of items 1-2. A fixed response of 204 with a body was accepted, then refused by HAProxy ("No body
    expected for 204 responses"), so the load balancer went failed; condition values with control characters were
    stored, then every DescribeRules answer carried them raw and boto3 could not parse it. Both are refused by name
    with nothing stored. A row written around the API (as before these checks) fails its load balancer with HAProxy's
    own reason (haproxy -c without -q), and the configuration HAProxy reads is 0600."""
    elb = elbv2(server, tenant)
    ok = {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200", "ContentType": "text/plain", "MessageBody": "ok"}}
    arn, listener = lb_balancer(elb, "review2", 18121, [ok])
    no_body = {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "204", "ContentType": "text/plain", "MessageBody": "x"}}
    path = [{"Field": "path-pattern", "Values": ["/x"]}]
    for call, kwargs in [(elb.create_listener, {"LoadBalancerArn": arn, "Protocol": "HTTP", "Port": 18122, "DefaultActions": [no_body]}),
                         (elb.create_rule, {"ListenerArn": listener, "Priority": 1, "Conditions": path, "Actions": [no_body]}),
                         (elb.modify_listener, {"ListenerArn": listener, "DefaultActions": [no_body]})]:
        code, message = lb_error(call, **kwargs)
        assert code == "ValidationError" and "204 carries no message body" in message, (code, message)
    bodiless = {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "204"}}
    elb.create_rule(ListenerArn=listener, Priority=2, Conditions=path, Actions=[bodiless])  # 204 without a body is fine

    for conditions in [[{"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Env", "Values": ["a\x01b"]}}],
                       [{"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": "k\x01", "Value": "v"}]}}],
                       [{"Field": "query-string", "QueryStringConfig": {"Values": [{"Value": "v\x1b[0m"}]}}],
                       [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/a\x7fb"]}}],
                       [{"Field": "host-header", "HostHeaderConfig": {"Values": ["a\x01.example.com"]}}]]:
        code, message = lb_error(elb.create_rule, ListenerArn=listener, Priority=3, Conditions=conditions, Actions=[ok])
        assert code == "ValidationError" and "\\u{00" in message, (conditions, code, message)
    # Nothing was stored, and the listener's rules still parse: its default and the bodiless 204.
    rules = elb.describe_rules(ListenerArn=listener)["Rules"]
    assert sorted(r["Priority"] for r in rules) == ["2", "default"], rules
    assert elb.describe_listeners(ListenerArns=[listener])["Listeners"][0]["DefaultActions"][0]["FixedResponseConfig"]["StatusCode"] == "200"

    # Written around the API: the load balancer goes failed, and says why in HAProxy's words.
    listener_id = listener.rsplit("/", 1)[1]
    psql(server, "UPDATE listeners SET default_actions = jsonb_set(default_actions, '{0,fixedResponse,statusCode}', '\"204\"') "
                 f"WHERE id = '{listener_id}'")

    def failed():
        state = elb.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]["State"]
        return state if state["Code"] == "failed" else None
    state = wait_for(failed, seconds=20)
    assert state and "No body expected for 204 responses" in state.get("Reason", ""), state
    config = lb / "haproxy" / "haproxy.cfg"
    assert os.stat(config).st_mode & 0o777 == 0o600
    assert listener_id not in config.read_text(), "the refused load balancer was left out"
    elb.delete_load_balancer(LoadBalancerArn=arn)


def test_item2_one_tenant_cannot_freeze_or_misroute_another(server, lb, tenant, other_tenant):
    """Item 2. Two tenants, three target groups, one IP:port in two of them (one each tenant's): after a forced reload
    each tenant's requests still reach only its own targets. Then one tenant's listener that HAProxy cannot bind
    leaves that load balancer out (failed, with HAProxy's reason) while the other's target changes keep applying."""
    a, b = elbv2(server, tenant), elbv2(server, other_tenant)
    a1, shared, b1, a2 = LBBackend("a1"), LBBackend("shared"), LBBackend("b1"), LBBackend("a2")
    blocker = lb_socket.socket()
    try:
        tg_a = lb_group(a, "mine", [a1, shared])
        tg_b1, tg_b2 = lb_group(b, "theirs", [b1]), lb_group(b, "shared", [shared])
        arn_a, listener_a = lb_balancer(a, "tenant-a", 18111, [{"Type": "forward", "TargetGroupArn": tg_a}])
        arn_b, listener_b = lb_balancer(b, "tenant-b", 18112, [{"Type": "forward", "TargetGroupArn": tg_b1}])
        b.create_rule(ListenerArn=listener_b, Priority=1, Conditions=[{"Field": "path-pattern", "Values": ["/two/*"]}],
                      Actions=[{"Type": "forward", "TargetGroupArn": tg_b2}])
        address_a = a.describe_load_balancers(LoadBalancerArns=[arn_a])["LoadBalancers"][0]["DNSName"]
        address_b = b.describe_load_balancers(LoadBalancerArns=[arn_b])["LoadBalancers"][0]["DNSName"]
        assert lb_healthy(a, tg_a, 2) and lb_healthy(b, tg_b1, 1) and lb_healthy(b, tg_b2, 1)
        assert wait_for(lambda: lb_answers(f"http://{address_a}:18111/") == {"a1", "shared"} or None, seconds=20)

        # A forced reload: a new listener changes the structure; every serving server is rendered into the new
        # configuration, each inside its own group's backend.
        pids = (lb / "haproxy" / "haproxy.pid").read_text().split()
        a.create_listener(LoadBalancerArn=arn_a, Protocol="HTTP", Port=18113, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_a}])
        assert wait_for(lambda: (lb / "haproxy" / "haproxy.pid").read_text().split() != pids or None, seconds=20), "HAProxy reloaded"
        assert wait_for(lambda: lb_answers(f"http://{address_a}:18113/") == {"a1", "shared"} or None, seconds=20)
        assert lb_answers(f"http://{address_a}:18111/", 20) == {"a1", "shared"}, "tenant A reaches only its own targets"
        assert lb_answers(f"http://{address_b}:18112/", 20) == {"b1"}, "tenant B's default group only"
        assert lb_answers(f"http://{address_b}:18112/two/x", 20) == {"shared"}, "tenant B's rule group only"
        config = (lb / "haproxy" / "haproxy.cfg").read_text()
        sections = {s.split("\n", 1)[0]: s for s in config.split("\nbackend ")[1:]}
        for tg, names in ((tg_a, {a1.port, shared.port}), (tg_b1, {b1.port}), (tg_b2, {shared.port})):
            section = sections["tg_" + tg.rsplit("/", 1)[1]]
            assert {int(line.split(":")[-1].split(" ")[0]) for line in section.splitlines() if line.strip().startswith("server ")} == names

        # Tenant B asks for a port HAProxy cannot bind on its address (something else holds the port on every address).
        blocker.bind(("0.0.0.0", 0))
        blocker.listen()
        busy = blocker.getsockname()[1]
        b.create_listener(LoadBalancerArn=arn_b, Protocol="HTTP", Port=busy, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_b1}])

        def failed():
            state = b.describe_load_balancers(LoadBalancerArns=[arn_b])["LoadBalancers"][0]["State"]
            return state if state["Code"] == "failed" else None
        state = wait_for(failed, seconds=30)
        assert state and "haproxy refused it" in state.get("Reason", ""), state
        assert a.describe_load_balancers(LoadBalancerArns=[arn_a])["LoadBalancers"][0]["State"]["Code"] == "active"
        # Tenant A's changes still apply and its health checks still run: a new target is checked, enabled and served.
        a.register_targets(TargetGroupArn=tg_a, Targets=[{"Id": "127.0.0.1", "Port": a2.port}])
        assert lb_healthy(a, tg_a, 3), lb_states(a, tg_a)
        assert wait_for(lambda: lb_answers(f"http://{address_a}:18111/", 20) == {"a1", "shared", "a2"} or None, seconds=20)
        # Tenant B removes what it broke and is served again.
        bad = [l for l in b.describe_listeners(LoadBalancerArn=arn_b)["Listeners"] if l["Port"] == busy][0]
        b.delete_listener(ListenerArn=bad["ListenerArn"])
        assert wait_for(lambda: b.describe_load_balancers(LoadBalancerArns=[arn_b])["LoadBalancers"][0]["State"]["Code"] == "active" or None,
                        seconds=30)
        assert wait_for(lambda: lb_answers(f"http://{address_b}:18112/") == {"b1"} or None, seconds=30)
    finally:
        blocker.close()
        for x in (a1, shared, b1, a2):
            x.close()


def test_item3_targets_cannot_point_into_the_control_plane(server, lb, tenant):
    """Item 3. ip targets pass the outbound policy (loopback, link-local with the metadata address, private ranges;
    the tests' operator allows 127.0.0.1 alone), and no target's traffic or health-check port may be one of the
    control plane's own endpoints (its API, its database). `stowage lb` checks again: a row written around the API
    is reported unused and never given to HAProxy."""
    elb = elbv2(server, tenant)
    tg = elb.create_target_group(Name="ssrf", Protocol="HTTP", Port=80, TargetType="ip", **lb_health())["TargetGroups"][0]["TargetGroupArn"]
    api_port = server.port
    for target, why in [({"Id": "169.254.169.254", "Port": 80}, "169.254.0.0/16"), ({"Id": "127.0.0.2", "Port": 80}, "127.0.0.0/8"),
                        ({"Id": "10.1.2.3", "Port": 80}, "10.0.0.0/8"), ({"Id": "192.168.0.1", "Port": 80}, "192.168.0.0/16"),
                        ({"Id": "127.0.0.1", "Port": api_port}, "the control plane's API")]:
        code, message = lb_error(elb.register_targets, TargetGroupArn=tg, Targets=[target])
        assert code == "InvalidTarget" and target["Id"] in message and why in message, message
    # A health check aimed at the control plane's API, for a target that is otherwise fine.
    checked = elb.create_target_group(Name="ssrf-check", Protocol="HTTP", Port=80, TargetType="ip",
                                      **lb_health(HealthCheckPort=str(api_port)))["TargetGroups"][0]["TargetGroupArn"]
    code, message = lb_error(elb.register_targets, TargetGroupArn=checked, Targets=[{"Id": "127.0.0.1", "Port": 18999}])
    assert code == "InvalidTarget" and "the control plane's API" in message, message
    elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": 18998}])
    code, message = lb_error(elb.modify_target_group, TargetGroupArn=tg, HealthCheckPort=str(api_port))
    assert code == "InvalidTarget" and "the control plane's API" in message, message
    assert [(t["Target"]["Id"], t["Target"]["Port"]) for t in elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]] == \
        [("127.0.0.1", 18998)], "nothing else was registered"
    assert elb.describe_target_groups(TargetGroupArns=[tg])["TargetGroups"][0]["HealthCheckPort"] == "traffic-port", "the check port is unchanged"

    # Around the API: a metadata-service target in a group a listener serves.
    arn, _ = lb_balancer(elb, "ssrf", 18121, [{"Type": "forward", "TargetGroupArn": tg}])
    group_id = tg.rsplit("/", 1)[1]
    psql(server, "INSERT INTO targets (account_id, target_group_id, target_id, port, address, state, registered_at) "
                 f"VALUES ('{tenant.account}', '{group_id}', '169.254.169.254', 80, '169.254.169.254', 'initial', now())")
    assert wait_for(lambda: lb_states(elb, tg).get(("169.254.169.254", 80), {}).get("State") == "unused" or None, seconds=20), lb_states(elb, tg)
    assert "169.254.0.0/16" in lb_states(elb, tg)[("169.254.169.254", 80)]["Description"]
    assert wait_for(lambda: any(s[3] == "18998" for s in lb_servers(lb)) or None, seconds=20), "the allowed target is served"
    assert not any(s[2] == "169.254.169.254" for s in lb_servers(lb)), "HAProxy never heard of the refused one"

    # Instance targets: a host address is the tenant's word too (it registered the instance, or its agent reported it).
    ecs = ecs_client(server, tenant)
    ecs.create_cluster(clusterName="ssrf-hosts")
    resources = [{"name": "CPU", "type": "INTEGER", "integerValue": 1024}, {"name": "MEMORY", "type": "INTEGER", "integerValue": 1024}]
    instance_tg = elb.create_target_group(Name="ssrf-instances", Protocol="HTTP", Port=80, TargetType="instance",
                                          **lb_health())["TargetGroups"][0]["TargetGroupArn"]
    for n, (address, port, why) in enumerate([("169.254.169.254", 80, "169.254.0.0/16"), ("0.0.0.0", api_port, "0.0.0.0/8"),
                                              ("127.0.0.2", 8080, "127.0.0.0/8"), ("127.0.0.1", api_port, "the control plane's API")]):
        host = ecs.register_container_instance(cluster="ssrf-hosts", totalResources=resources,
                                               instanceIdentityDocument=json.dumps({"instanceId": f"i-0ssrf{n:011d}"}),
                                               attributes=[{"name": "stowage.host-address", "value": address}])["containerInstance"]
        code, message = lb_error(elb.register_targets, TargetGroupArn=instance_tg, Targets=[{"Id": host["ec2InstanceId"], "Port": port}])
        assert code == "InvalidTarget" and why in message, (address, message)
    assert not elb.describe_target_health(TargetGroupArn=instance_tg)["TargetHealthDescriptions"]
    # A target a service would register from a host's report (here written around the API), aimed at the API's port:
    # stowage lb knows the servers' endpoints (they announce them) and refuses it.
    psql(server, "INSERT INTO targets (account_id, target_group_id, target_id, port, address, state, registered_at) "
                 f"VALUES ('{tenant.account}', '{group_id}', 'i-0reported', {api_port}, '127.0.0.1', 'initial', now())")
    assert wait_for(lambda: lb_states(elb, tg).get(("i-0reported", api_port), {}).get("State") == "unused" or None, seconds=20), lb_states(elb, tg)
    assert "the control plane's API" in lb_states(elb, tg)[("i-0reported", api_port)]["Description"]
    assert not any(s[3] == str(api_port) for s in lb_servers(lb))


# ---------------------------------------------------------------------------------------------------------------
# Item 4: an agent is one instance, not the whole cluster. Registration gives each instance a credential of its own
# (AIIA… ids); every /agent/v1 route takes only that credential, for that instance.
# ---------------------------------------------------------------------------------------------------------------
from conftest import BIN as ITEM4_BIN, ECS_TASKS_TRUST, Key as Item4Key, register_instance as item4_register


def item4_heartbeat(server, account, instance_id):
    rows = psql(server, f"SELECT last_heartbeat_at FROM instance_heartbeats WHERE account_id = '{account}' AND instance_id = '{instance_id}'")
    return rows[0][0] if rows else None


def test_item4_one_host_cannot_act_for_another(server, tenant, other_tenant):
    """A compromised host (agent A, with its own credential and the cluster-wide agent key it registered with) tries
    to read host B's task secrets and role credentials, forge B's reports and heartbeats, take over B's registration,
    and write into a log group of its choosing. Every attempt is refused and nothing of B's changes; B itself is served."""
    ecs, ssm, iam, logs = tenant_clients(server, tenant, "ecs", "ssm", "iam", "logs")
    ecs.create_cluster(clusterName="hosts4")
    out = lb_subprocess.run([ITEM4_BIN, "admin", "create-agent", "--account", tenant.account, "--cluster", "hosts4"],
                            env=server.env, check=True, capture_output=True, text=True).stdout
    fields = dict(line.split(" = ", 1) for line in out.splitlines())
    cluster_key = Item4Key(fields["aws_access_key_id"], fields["aws_secret_access_key"])
    doc_b = json.dumps({"instanceId": "i-0bbbbbbbbbbbbbbbb"})
    a, key_a = item4_register(server, cluster_key, "hosts4", versionInfo={"agentVersion": "test"})
    b, key_b = item4_register(server, cluster_key, "hosts4", versionInfo={"agentVersion": "test"}, instanceIdentityDocument=doc_b)
    assert key_a.key_id.startswith("AIIA") and key_b.key_id.startswith("AIIA") and key_a.key_id != key_b.key_id
    a_id, b_id = a["containerInstanceArn"].rsplit("/", 1)[1], b["containerInstanceArn"].rsplit("/", 1)[1]

    # A task on B with a secret and a task role.
    ssm.put_parameter(Name="/hosts4/db-password", Value="b-only-secret", Type="SecureString")
    execution = iam.create_role(RoleName="hosts4-exec", AssumeRolePolicyDocument=json.dumps(ECS_TASKS_TRUST))["Role"]["Arn"]
    iam.put_role_policy(RoleName="hosts4-exec", PolicyName="read", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ssm:GetParameters", "Resource": "*"}]}))
    role = iam.create_role(RoleName="hosts4-task", AssumeRolePolicyDocument=json.dumps(ECS_TASKS_TRUST))["Role"]["Arn"]
    ecs.register_task_definition(family="hosts4", executionRoleArn=execution, taskRoleArn=role, containerDefinitions=[{
        "name": "app", "image": "busybox", "memory": 32, "secrets": [{"name": "DB", "valueFrom": "/hosts4/db-password"}],
        "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/hosts4/app", "awslogs-stream-prefix": "app"}}}])
    on_b = ecs.start_task(cluster="hosts4", taskDefinition="hosts4", containerInstances=[b["containerInstanceArn"]])["tasks"][0]
    on_a = ecs.start_task(cluster="hosts4", taskDefinition="hosts4", containerInstances=[a["containerInstanceArn"]])["tasks"][0]
    task_b, task_a = on_b["taskArn"].rsplit("/", 1)[1], on_a["taskArn"].rsplit("/", 1)[1]
    base = "/agent/v1/clusters/hosts4/container-instances"

    # B is served: its own credential reads its task's secret.
    status, secrets = signed_request(server, key_b, "GET", f"{base}/{b_id}/tasks/{task_b}/secrets")
    assert status == 200 and secrets["containers"]["app"]["environment"]["DB"] == "b-only-secret", secrets
    heartbeat_before = item4_heartbeat(server, tenant.account, b_id)

    refused = []
    for who, name in ((key_a, "host A"), (cluster_key, "the cluster-wide agent key"), (tenant, "the tenant's administrator"),
                      (other_tenant, "another tenant")):
        for method, path, body in [("GET", f"{base}/{b_id}/tasks/{task_b}/secrets", None),
                                   ("GET", f"{base}/{b_id}/tasks/{task_b}/credentials", None),
                                   ("GET", f"{base}/{b_id}/tasks?wait=0", None),
                                   ("GET", f"{base}/{b_id}/discovery", None),
                                   ("POST", f"{base}/{b_id}/state", {"sequence": 99, "tasks": [{"taskArn": on_b["taskArn"], "lastStatus": "STOPPED"}]}),
                                   ("POST", f"{base}/{b_id}/telemetry", {"metrics": [], "logs": [], "droppedLogLines": 0}),
                                   ("POST", f"{base}/{b_id}/instance-credentials", {})]:
            status, answer = signed_request(server, who, method, path, body)
            refused.append((name, method, path.rsplit("/", 1)[-1], status, answer.get("__type")))
    assert all(status == 403 for *_, status, _ in refused), [r for r in refused if r[3] != 403]
    # Through its own path, A still cannot reach B's task.
    status, answer = signed_request(server, key_a, "GET", f"{base}/{a_id}/tasks/{task_b}/secrets")
    assert status >= 400 and "b-only-secret" not in json.dumps(answer), answer
    # Nothing of B's changed: its task, its heartbeat, its credential.
    assert ecs.describe_tasks(cluster="hosts4", tasks=[task_b])["tasks"][0]["lastStatus"] == "PENDING"
    assert item4_heartbeat(server, tenant.account, b_id) == heartbeat_before, "no heartbeat was forged for B"

    # Taking over B's registration, by ARN or by its EC2 id, with A's credential or the cluster-wide key.
    for who in (key_a, cluster_key):
        for claim in ({"containerInstanceArn": b["containerInstanceArn"]}, {"instanceIdentityDocument": doc_b}):
            status, answer = aws_item4(server, who, {"cluster": "hosts4", "totalResources": [
                {"name": "CPU", "type": "INTEGER", "integerValue": 1024}, {"name": "MEMORY", "type": "INTEGER", "integerValue": 1024}], **claim})
            assert status == 400 and answer["__type"] == "AccessDeniedException" and "instanceCredentials" not in answer, answer
    assert signed_request(server, key_b, "GET", f"{base}/{b_id}/tasks?wait=0")[0] == 200, "B's credential still works"

    # The cluster-wide key cannot push B out (deregister it) to take its EC2 id and its tasks; only B, or an
    # administrator, may.
    status, answer = aws_item4_call(server, cluster_key, "DeregisterContainerInstance",
                                    {"cluster": "hosts4", "containerInstance": b["containerInstanceArn"], "force": True})
    assert status == 400 and answer["__type"] == "AccessDeniedException", answer
    status, answer = aws_item4_call(server, key_a, "DeregisterContainerInstance",
                                    {"cluster": "hosts4", "containerInstance": b["containerInstanceArn"], "force": True})
    assert status == 400 and answer["__type"] == "AccessDeniedException", answer
    assert ecs.describe_container_instances(cluster="hosts4", containerInstances=[b_id])["containerInstances"][0]["status"] == "ACTIVE"

    # Telemetry: A ships only its own task's lines, and only to where its definition sends them.
    line = [{"timestamp": int(time.time() * 1000), "message": "forged"}]
    for batch in [{"taskArn": on_b["taskArn"], "logGroupName": "/hosts4/app", "logStreamName": f"app/app/{task_b}", "events": line},
                  {"taskArn": on_a["taskArn"], "logGroupName": "/victim/audit", "logStreamName": "x", "events": line}]:
        status, answer = signed_request(server, key_a, "POST", f"{base}/{a_id}/telemetry", {"metrics": [], "logs": [batch], "droppedLogLines": 0})
        assert status == 403, answer
    assert not logs.describe_log_groups(logGroupNamePrefix="/victim")["logGroups"], "no log group was written"
    status, answer = signed_request(server, key_a, "POST", f"{base}/{a_id}/telemetry", {"metrics": [], "droppedLogLines": 0, "logs": [
        {"taskArn": on_a["taskArn"], "logGroupName": "/hosts4/app", "logStreamName": f"app/app/{task_a}", "events": line}]})
    assert status == 200, answer

    # Rotation without downtime: B's new credential works, and so does the one it replaced, for a grace period.
    status, fresh = signed_request(server, key_b, "POST", f"{base}/{b_id}/instance-credentials", {})
    assert status == 200 and fresh["accessKeyId"] != key_b.key_id, fresh
    key_b2 = Item4Key(fresh["accessKeyId"], fresh["secretAccessKey"])
    assert signed_request(server, key_b2, "GET", f"{base}/{b_id}/tasks?wait=0")[0] == 200
    assert signed_request(server, key_b, "GET", f"{base}/{b_id}/tasks?wait=0")[0] == 200
    # Deregistered, B's credentials open nothing.
    ecs.deregister_container_instance(cluster="hosts4", containerInstance=b["containerInstanceArn"], force=True)
    status, answer = signed_request(server, key_b2, "GET", f"{base}/{b_id}/tasks?wait=0")
    assert status == 403 and answer["__type"] == "UnrecognizedClientException", answer


def aws_item4(server, who, body):
    return aws_item4_call(server, who, "RegisterContainerInstance", body)


def aws_item4_call(server, who, action, body):
    from conftest import aws_json
    return aws_json(server, who, f"AmazonEC2ContainerServiceV20141113.{action}", body)


# ---------------------------------------------------------------------------------------------------------------
# Item 5: ARNs are canonical before they are authorized. Policies match ARNs as text: an ARN naming account `aws`,
# no account, another account, region or partition slipped past a Deny written for the canonical ARN while the
# handler acted on the caller's own resource. Every door now refuses such an ARN before any policy is read.
# ---------------------------------------------------------------------------------------------------------------
from botocore.config import Config as Item5Config


def item5_variants(arn):
    """The canonical ARN and the spellings that name the same resource to a handler but not to a policy."""
    parts = arn.split(":", 5)
    def spelled(**change):
        p = list(parts)
        for index, value in change.items():
            p[int(index[1:])] = value
        return ":".join(p)
    variants = {"account aws": spelled(p4="aws"), "no account": spelled(p4=""), "another account": spelled(p4="123456789012"),
                "another partition": spelled(p1="aws-cn")}
    if parts[3]:
        variants.update({"another region": spelled(p3="us-west-2"), "no region": spelled(p3="")})
    else:
        variants["a region"] = spelled(p3="us-east-1")
    return variants


def test_item5_non_canonical_arns_never_step_around_a_deny(server, tenant):
    """A user allowed everything but denied one action on one canonical ARN per door tries every other spelling of
    that ARN: each is refused (AccessDenied naming why, or not found), never answered."""
    ecs, ssm, secrets, logs, elb, iam, discovery = tenant_clients(server, tenant, "ecs", "ssm", "secretsmanager", "logs", "elbv2", "iam",
                                                                   "servicediscovery")
    account = tenant.account
    ecs.create_cluster(clusterName="arn-c")
    ssm.put_parameter(Name="/arn/db", Value="s3cret", Type="SecureString")
    secret_arn = secrets.create_secret(Name="arn-s", SecretString="s3cret")["ARN"]
    logs.create_log_group(logGroupName="/arn/g")
    tg_arn = elb.create_target_group(Name="arn-tg", Protocol="HTTP", Port=80, TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    policy_arn = iam.create_policy(PolicyName="arn-p", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecs:ListClusters", "Resource": "*"}]}))["Policy"]["Arn"]
    namespace = discovery.create_http_namespace(Name="arn-ns")
    namespace_arn = wait_for(lambda: [n["Arn"] for n in discovery.list_namespaces()["Namespaces"] if n["Name"] == "arn-ns"])[0]
    role_arn = iam.create_role(RoleName="arn-r", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    canonical = {
        "ecs": f"arn:aws:ecs:us-east-1:{account}:cluster/arn-c",
        "ssm": f"arn:aws:ssm:us-east-1:{account}:parameter/arn/db",
        "secretsmanager": secret_arn,
        "logs": f"arn:aws:logs:us-east-1:{account}:log-group:/arn/g",
        "elbv2": tg_arn,
        "iam": policy_arn,
        "servicediscovery": namespace_arn,
        "sts": role_arn,
    }
    deny = [("ecs:ListServices", canonical["ecs"]), ("ssm:GetParameter", canonical["ssm"]),
            ("secretsmanager:GetSecretValue", canonical["secretsmanager"]), ("logs:DescribeLogStreams", canonical["logs"]),
            ("elasticloadbalancing:DescribeTargetHealth", canonical["elbv2"]), ("iam:GetPolicy", canonical["iam"]),
            ("servicediscovery:ListTagsForResource", canonical["servicediscovery"]), ("sts:AssumeRole", canonical["sts"])]
    iam.create_user(UserName="arn-probe")
    iam.put_user_policy(UserName="arn-probe", PolicyName="all-but", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}] + [{"Effect": "Deny", "Action": a, "Resource": r} for a, r in deny]}))
    key = iam.create_access_key(UserName="arn-probe")["AccessKey"]
    probe = type("Probe", (), {"key_id": key["AccessKeyId"], "secret": key["SecretAccessKey"]})()
    no_retry = Item5Config(retries={"max_attempts": 1, "mode": "standard"})

    def client(name):
        return boto3.client(name, endpoint_url=server.endpoint, region_name=REGION, aws_access_key_id=probe.key_id,
                            aws_secret_access_key=probe.secret, config=no_retry)
    p = {name: client(name) for name in ("ecs", "ssm", "secretsmanager", "logs", "elbv2", "iam", "servicediscovery", "sts")}
    calls = {
        "ecs": lambda arn: p["ecs"].list_services(cluster=arn),
        "ssm": lambda arn: p["ssm"].get_parameter(Name=arn, WithDecryption=True),
        "secretsmanager": lambda arn: p["secretsmanager"].get_secret_value(SecretId=arn),
        "logs": lambda arn: p["logs"].describe_log_streams(logGroupIdentifier=arn),
        "elbv2": lambda arn: p["elbv2"].describe_target_health(TargetGroupArn=arn),
        "iam": lambda arn: p["iam"].get_policy(PolicyArn=arn),
        "servicediscovery": lambda arn: p["servicediscovery"].list_tags_for_resource(ResourceARN=arn),
        "sts": lambda arn: p["sts"].assume_role(RoleArn=arn, RoleSessionName="probe"),
    }
    assert wait_for(lambda: p["ecs"].list_clusters()["clusterArns"], seconds=10), "the probe works where it is allowed"
    answered, refusals = [], []
    for door, arn in canonical.items():
        for variant, spelled in [("canonical", arn)] + sorted(item5_variants(arn).items()):
            try:
                result = calls[door](spelled)
            except LBClientError as e:
                code, message = e.response["Error"]["Code"], e.response["Error"]["Message"]
                if variant == "canonical":
                    assert "AccessDenied" in code, (door, code, message)
                else:
                    # Refused before authorization (naming why), or rewritten to the canonical ARN and denied by it.
                    assert "AccessDenied" in code or "NoSuch" in code or "NotFound" in code, (door, variant, code, message)
                refusals.append((door, variant, code, message))
                continue
            answered.append((door, variant, spelled, str(result)[:120]))
    assert not answered, f"answered despite the Deny: {answered}"
    named = [r for r in refusals if r[1] == "account aws" and "names account 'aws'" in r[3]]
    assert len(named) >= 5, f"most doors refuse the spelling by name before any policy is read: {refusals}"
    # Task definitions name secrets by ARN too: a spelling of another account is refused when registered.
    with pytest.raises(LBClientError) as e:
        ecs.register_task_definition(family="arn-td", executionRoleArn=role_arn, containerDefinitions=[{
            "name": "a", "image": "busybox", "memory": 16, "secrets": [{"name": "DB", "valueFrom": item5_variants(canonical["ssm"])["account aws"]}]}])
    assert e.value.response["Error"]["Code"] == "ClientException" and "account 'aws'" in e.value.response["Error"]["Message"]


# ---------------------------------------------------------------------------------------------------------------
# Item 8: fairness. Account A opens 500 live tails (its quota live-tails holds 15 open; the rest are refused before
# any query) and sets off 1,000 webhook deliveries into a black hole (a listener that accepts and never answers),
# with its alarms flapping. The job queue hands out jobs round-robin across accounts and caps webhook deliveries in
# flight (two per account on all workers, half a worker's slots in all), an account's queued alarm actions are
# capped (dropped ones said in the alarm's history); each account's share of the pool is shown by PoolShareTests. Account
# B meanwhile: DescribeClusters p99, RunTask -> RUNNING (the agent protocol played by the test, with the instance's
# own key) and a service scale-up -> RUNNING (a reconcile job through the worker's queue), each against the same
# measured idle before the attack. Console sign-ins with made-up keys naming C's account leave C's writes alone.
# ---------------------------------------------------------------------------------------------------------------
import base64 as item8_base64
import concurrent.futures as item8_futures
import selectors as item8_selectors
import socket as item8_socket
import subprocess as item8_subprocess
import threading as item8_threading
import urllib.error as item8_urlerror
import urllib.request as item8_urlrequest
from datetime import datetime as item8_datetime, timedelta as item8_timedelta, timezone as item8_timezone

from botocore.auth import SigV4Auth as Item8SigV4Auth
from botocore.awsrequest import AWSRequest as Item8AWSRequest
from botocore.credentials import Credentials as Item8Credentials

from conftest import BIN as ITEM8_BIN, register_instance as item8_register

ITEM8_TAILS_HELD = 15  # the default of quota live-tails
ITEM8_WEBHOOKS_IN_FLIGHT = 2  # WorkerOptions.slowPerAccount at the default concurrency of 8


class Item8BlackHole:
    """A TCP listener on 127.0.0.1 that accepts every connection and never answers: each webhook delivery to it holds
    its worker slot until the delivery's own timeout. Counts the connections, and the most open at once."""

    def __init__(self):
        self.sock = item8_socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1024)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.open = 0
        self.most_open = 0
        self.stopped = item8_threading.Event()
        self.thread = item8_threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        selector = item8_selectors.DefaultSelector()
        selector.register(self.sock, item8_selectors.EVENT_READ)
        while not self.stopped.is_set():
            for key, _ in selector.select(timeout=0.1):
                if key.fileobj is self.sock:
                    try:
                        conn, _ = self.sock.accept()
                    except BlockingIOError:
                        continue
                    conn.setblocking(False)
                    selector.register(conn, item8_selectors.EVENT_READ)
                    self.accepted += 1
                    self.open += 1
                    self.most_open = max(self.most_open, self.open)
                else:
                    try:
                        data = key.fileobj.recv(65536)
                    except OSError:
                        data = b""
                    if not data:  # the worker gave up on it
                        selector.unregister(key.fileobj)
                        key.fileobj.close()
                        self.open -= 1
        for key in list(selector.get_map().values()):
            key.fileobj.close()

    def close(self):
        self.stopped.set()
        self.thread.join(timeout=5)


def item8_open_tail(server, who, group, duration=120):
    """Opens GET /v1/logs/groups/{group}/tail over a raw socket, signed as botocore signs. Returns (status, socket or
    error body): a held tail keeps its socket open, streaming server-sent events."""
    path = f"/v1/logs/groups/{group}/tail?duration={duration}"
    request = Item8AWSRequest(method="GET", url=server.endpoint + path)
    Item8SigV4Auth(Item8Credentials(who.key_id, who.secret), "logs", REGION).add_auth(request)
    head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in request.headers.items()) + "\r\n"
    sock = item8_socket.create_connection(("127.0.0.1", server.port), timeout=15)
    sock.sendall(head.encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
    if status == 200:
        sock.settimeout(0.2)
        return status, Item8Tail(sock, group, data.partition(b"\r\n\r\n")[2])
    header, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in header.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            break
        body += chunk
    sock.close()
    return status, json.loads(body or b"{}")


class Item8Tail:
    """A held tail: its socket and what it has streamed so far."""

    def __init__(self, sock, group, streamed):
        self.sock, self.group, self.streamed = sock, group, streamed

    def read_until(self, needle, seconds=10):
        """Reads the stream until `needle` appears; True when it did within `seconds`."""
        deadline = time.time() + seconds
        while needle.encode() not in self.streamed and time.time() < deadline:
            try:
                chunk = self.sock.recv(65536)
            except item8_socket.timeout:
                continue
            if not chunk:
                break
            self.streamed += chunk
        return needle.encode() in self.streamed

    def close(self):
        self.sock.close()


def item8_p99(samples):
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * 0.99) - 1)]


class Item8PlayedAgent:
    """The agent protocol for one registered instance, played by the test with the instance's own key."""

    def __init__(self, server, who, cluster):
        instance, self.key = item8_register(server, who, cluster, versionInfo={"agentVersion": "test"})
        self.server, self.cluster = server, cluster
        self.base = f"/agent/v1/clusters/{cluster}/container-instances/{instance['containerInstanceArn'].rsplit('/', 1)[1]}"
        self.sequence, self.version, self.reported = 0, None, {}

    def beat(self, stop):
        """Heartbeats (a poll a second) until `stop` is set, as a real agent's long poll does, so the host is never
        judged lost while the test is busy elsewhere."""
        while not stop.wait(1):
            signed_request(self.server, self.key, "GET", f"{self.base}/tasks?wait=0")

    def poll(self, wait=0):
        after = f"&after={self.version}" if self.version and wait else ""
        status, desired = signed_request(self.server, self.key, "GET", f"{self.base}/tasks?wait={wait}{after}")
        assert status == 200, desired
        self.version = desired["version"]
        return desired["tasks"]

    def converge(self, tasks):
        """Reports every task as what its desired status asks; returns the tasks newly reported RUNNING."""
        changed = [t for t in tasks if self.reported.get(t["taskArn"]) != t["desiredStatus"]]
        if not changed:
            return []
        self.sequence += 1
        status, answer = signed_request(self.server, self.key, "POST", f"{self.base}/state", {"sequence": self.sequence, "tasks": [
            {"taskArn": t["taskArn"], "lastStatus": "STOPPED" if t["desiredStatus"] == "STOPPED" else "RUNNING"} for t in changed]})
        assert status == 200, answer
        for t in changed:
            self.reported[t["taskArn"]] = t["desiredStatus"]
        return [t["taskArn"] for t in changed if t["desiredStatus"] != "STOPPED"]


def item8_run_task_to_running(ecs, agent):
    """RunTask, the host hears of it and reports it RUNNING, DescribeTasks says RUNNING: seconds taken."""
    start = time.perf_counter()
    arn = ecs.run_task(cluster="item8", taskDefinition="item8")["tasks"][0]["taskArn"]
    assert arn in agent.converge(agent.poll())
    assert wait_for(lambda: ecs.describe_tasks(cluster="item8", tasks=[arn])["tasks"][0]["lastStatus"] == "RUNNING", seconds=30, every=0.01)
    took = time.perf_counter() - start
    ecs.stop_task(cluster="item8", task=arn)
    agent.converge(agent.poll())
    return took


def item8_scale_to_running(ecs, agent, desired):
    """UpdateService one task up: the worker's reconcile job places it (through the shared queue), the host's long poll
    hears of it and reports it RUNNING, DescribeServices counts it: seconds taken."""
    agent.poll()
    start = time.perf_counter()
    ecs.update_service(cluster="item8", service="item8", desiredCount=desired)
    deadline = time.time() + 60
    while time.time() < deadline and not agent.converge(agent.poll(wait=5)):
        pass
    assert wait_for(lambda: ecs.describe_services(cluster="item8", services=["item8"])["services"][0]["runningCount"] == desired,
                    seconds=30, every=0.01)
    return time.perf_counter() - start


def item8_b_latencies(ecs, agent, desired):
    describe = []
    for _ in range(200):
        start = time.perf_counter()
        ecs.describe_clusters(clusters=["item8"])
        describe.append(time.perf_counter() - start)
    runs = [item8_run_task_to_running(ecs, agent) for _ in range(5)]
    scales = [item8_scale_to_running(ecs, agent, desired + i + 1) for i in range(3)]
    return describe, runs, scales


def item8_metric(url, name, token):
    request = item8_urlrequest.Request(url, headers={"Authorization": f"Bearer {token}"})
    with item8_urlrequest.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name) and not line.startswith("#"))


def test_item8_one_accounts_tails_and_black_holed_webhooks_leave_another_accounts_latency_alone(server, tenant, other_tenant):
    ecs_b = ecs_client(server, other_tenant)
    ecs_b.create_cluster(clusterName="item8")
    ecs_b.register_task_definition(family="item8", containerDefinitions=[{"name": "app", "image": "busybox", "memory": 16}])
    ecs_b.create_service(cluster="item8", serviceName="item8", taskDefinition="item8", desiredCount=0)
    agent = Item8PlayedAgent(server, other_tenant, "item8")
    alive = item8_threading.Event()
    item8_threading.Thread(target=agent.beat, args=(alive,), daemon=True).start()
    item8_b_latencies(ecs_b, agent, 0)  # warm: connections, cached keys and policies
    ecs_b.update_service(cluster="item8", service="item8", desiredCount=0)
    agent.converge(agent.poll())
    idle_describe, idle_runs, idle_scales = item8_b_latencies(ecs_b, agent, 0)

    logs_a, cw_a = tenant_clients(server, tenant, "logs", "cloudwatch")
    groups = [f"item8-{i}" for i in range(5)]
    for group in groups:
        logs_a.create_log_group(logGroupName=group)
        logs_a.create_log_stream(logGroupName=group, logStreamName="s")
    hole = Item8BlackHole()
    stop = item8_threading.Event()
    held, refused = [], []
    try:
        # 200 alarms x 5 webhook actions on one metric, breached: 1,000 deliveries into the black hole.
        for i in range(200):
            cw_a.put_metric_alarm(AlarmName=f"item8-{i}", Namespace="Item8", MetricName="Load", Statistic="Maximum", Period=60,
                                  EvaluationPeriods=1, Threshold=0, ComparisonOperator="GreaterThanThreshold",
                                  AlarmActions=[f"http://127.0.0.1:{hole.port}/hook/{i}/{k}" for k in range(5)])
        now = item8_datetime.now(item8_timezone.utc)
        minute = now.replace(second=0, microsecond=0)
        cw_a.put_metric_data(Namespace="Item8", MetricData=[
            {"MetricName": "Load", "Value": 1, "Timestamp": minute - item8_timedelta(seconds=58)},
            {"MetricName": "Load", "Value": 1, "Timestamp": max(now - item8_timedelta(seconds=1), minute)}])

        # 500 live tails at once, over five groups: the account's quota holds 15, the rest are refused before any query.
        with item8_futures.ThreadPoolExecutor(max_workers=50) as pool:
            for status, answer in pool.map(lambda i: item8_open_tail(server, tenant, groups[i % 5]), range(500)):
                (held if status == 200 else refused).append(answer)
                if status != 200:
                    assert status == 400 and answer["__type"] == "LimitExceededException", (status, answer)
        assert len(held) == ITEM8_TAILS_HELD and len(refused) == 500 - ITEM8_TAILS_HELD
        assert "quota live-tails is 15" in refused[0]["message"], refused[0]
        # The held tails work: a line written to a group reaches each of its followers (one poll per group, shared).
        for group in groups:
            logs_a.put_log_events(logGroupName=group, logStreamName="s",
                                  logEvents=[{"timestamp": int(time.time() * 1000), "message": f"line of {group}"}])
        assert all(tail.read_until(f"line of {tail.group}") for tail in held), "every held tail streams its group's new lines"

        # The deliveries are queued (the evaluator runs every 3 s here) and the black hole is being called.
        queued = lambda: int(psql(server, f"SELECT count(*) FROM jobs WHERE account_id = '{tenant.account}' AND kind = 'alarm-action'")[0][0])
        assert wait_for(lambda: queued() >= 1000 and hole.accepted >= 1, seconds=30, every=0.5), (queued(), hole.accepted)

        # Sustained: A keeps asking for tails (refused), writing lines its tails stream, and flapping its alarms back to OK
        # (the evaluator puts them in ALARM again, setting off further deliveries past the account's queued cap).
        more_tails, flapped = [], []

        def attack():
            n = 0
            while not stop.is_set():
                n += 1
                more_tails.append(item8_open_tail(server, tenant, groups[n % 5])[0])
                logs_a.put_log_events(logGroupName=groups[n % 5], logStreamName="s",
                                      logEvents=[{"timestamp": int(time.time() * 1000), "message": f"attack {n}"}])
                cw_a.set_alarm_state(AlarmName=f"item8-{n % 200}", StateValue="OK", StateReason="flap")
                flapped.append(f"item8-{n % 200}")
                stop.wait(0.1)
        attacker = item8_threading.Thread(target=attack, daemon=True)
        attacker.start()
        busy_describe, busy_runs, busy_scales = item8_b_latencies(ecs_b, agent, 3)
        stop.set()
        attacker.join(timeout=20)
        assert more_tails and set(more_tails) == {400}, "every further tail was refused while 15 were held"

        # B's latency: within 2x of idle. At a few milliseconds a scheduler tick on two cores is already most of that, so
        # each comparison allows max(2 x idle, idle + an absolute slack): 30 ms for DescribeClusters' p99, 100 ms for the
        # median and 300 ms for the worst of RunTask and of scaling to RUNNING.
        med = lambda xs: sorted(xs)[len(xs) // 2]
        report = (f"DescribeClusters p99 idle {item8_p99(idle_describe) * 1000:.1f} ms, busy {item8_p99(busy_describe) * 1000:.1f} ms; "
                  f"RunTask->RUNNING idle {[round(x * 1000) for x in idle_runs]} ms, busy {[round(x * 1000) for x in busy_runs]} ms; "
                  f"scale->RUNNING idle {[round(x * 1000) for x in idle_scales]} ms, busy {[round(x * 1000) for x in busy_scales]} ms; "
                  f"webhook connections {hole.accepted}, at once {hole.most_open}; further tails refused {len(more_tails)}")
        print(report)
        within = lambda busy, idle, slack: busy <= max(2 * idle, idle + slack)
        assert within(item8_p99(busy_describe), item8_p99(idle_describe), 0.030), report
        assert within(med(busy_runs), med(idle_runs), 0.100) and within(max(busy_runs), max(idle_runs), 0.300), report
        assert within(med(busy_scales), med(idle_scales), 0.100) and within(max(busy_scales), max(idle_scales), 0.300), report

        # A's webhook attempts in flight never passed the per-account cap, and its queued actions stayed capped: the
        # flapping alarms' further actions were dropped, said in their history and counted.
        assert hole.most_open <= ITEM8_WEBHOOKS_IN_FLIGHT, f"{hole.most_open} deliveries in flight at once"
        live = int(psql(server, f"SELECT count(*) FROM jobs WHERE account_id = '{tenant.account}' AND kind = 'alarm-action' AND state <> 'dead'")[0][0])
        assert live <= 1000, live
        dropped = wait_for(lambda: [h for name in flapped[:3] for h in cw_a.describe_alarm_history(
            AlarmName=name, HistoryItemType="Action")["AlarmHistoryItems"] if "Dropped" in h["HistorySummary"]], seconds=15)
        assert dropped and "already has 1000 alarm actions waiting" in dropped[0]["HistorySummary"], dropped[:1]
        assert item8_metric(server.worker_metrics, 'stowage_jobs_refused_total{kind="alarm-action"}', server.env["STOWAGE_METRICS_TOKEN"]) >= 1
    finally:
        stop.set()
        alive.set()
        for tail in held:
            tail.close()
        hole.close()
        # The rest of the session shares this worker: A's undelivered backlog goes with its alarms.
        for start in range(0, 200, 100):
            cw_a.delete_alarms(AlarmNames=[f"item8-{i}" for i in range(start, start + 100)])
        psql(server, f"DELETE FROM jobs WHERE account_id = '{tenant.account}' AND kind = 'alarm-action'")
    # The slots were given back: a closed tail frees its place for a new one.
    assert wait_for(lambda: item8_open_tail(server, tenant, groups[0], duration=1)[0] == 200, seconds=15)


def item8_made_up_key(account):
    """An AKIA key id naming `account` (as the server's key ids do: 5 bytes of account number, 5 random), which exists nowhere."""
    return "AKIA" + item8_base64.b32encode(int(account).to_bytes(5, "big") + os.urandom(5)).decode()


def item8_sign_in(server, key_id, secret):
    request = item8_urlrequest.Request(f"{server.endpoint}/console/api/session", method="POST", headers={"Content-Type": "application/json"},
                                       data=json.dumps({"accessKeyId": key_id, "secretAccessKey": secret}).encode())
    try:
        with item8_urlrequest.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except item8_urlerror.HTTPError as error:
        return error.code, json.load(error)


def test_item8_made_up_console_sign_ins_naming_an_account_spend_nothing_of_it(server):
    """Sign-ins with made-up keys naming C's account (C allowed 3 writes a second) once drained C's write bucket. Now
    they spend only the caller's address's bucket (10 failures, then 1 a second), and C's writes go through."""
    victim = make_tenant(server.env)
    item8_subprocess.run([ITEM8_BIN, "admin", "set-quota", "--account", victim.account, "--name", "api-write-rps", "--value", "3"],
                         env=server.env, check=True, capture_output=True)
    token = server.env["STOWAGE_METRICS_TOKEN"]
    refused_before = item8_metric(server.endpoint + "/metrics", "stowage_console_signin_refused_total", token)
    answers = [item8_sign_in(server, item8_made_up_key(victim.account), "not-the-secret") for _ in range(30)]
    codes = [answer.get("__type") for _, answer in answers]
    assert set(codes) == {"UnrecognizedClientException", "ThrottlingException"}, codes
    assert 1 <= codes.count("UnrecognizedClientException") <= 12, codes
    assert all(status == 401 for status, answer in answers if answer.get("__type") == "UnrecognizedClientException")
    assert item8_metric(server.endpoint + "/metrics", "stowage_console_signin_refused_total", token) >= refused_before + 15
    # C's bucket is whole: its three writes of this second all pass.
    ecs_c = ecs_client(server, victim)
    for i in range(3):
        ecs_c.create_cluster(clusterName=f"item8-c{i}")
    assert len(ecs_c.list_clusters()["clusterArns"]) == 3
    # The address's bucket refills: a second later C signs in with its real key and gets a session.
    status, session = wait_for(lambda: (lambda s: s if s[0] == 200 else None)(item8_sign_in(server, victim.key_id, victim.secret)),
                               seconds=10, every=1.1) or (0, {})
    assert status == 200 and session["accountId"] == victim.account, session


def test_item5_other_spellings_of_a_name_never_step_around_a_deny(server, tenant):
    """The same resource under another spelling of its path or name: an IAM path (role/x/name, policy/x/name), an ELB
    listener ARN naming another load balancer, ECS's older container-instance/<id> form, a task definition without its
    revision or with a leading zero. Each is either acted on by its canonical ARN (and denied) or not found."""
    ecs, elb, iam = tenant_clients(server, tenant, "ecs", "elbv2", "iam")
    account = tenant.account
    guard = iam.create_policy(PolicyName="guard", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecs:ListClusters", "Resource": "*"}]}))["Policy"]["Arn"]
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                                                    "Action": "sts:AssumeRole"}]}
    admin_role = iam.create_role(RoleName="admin-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    task_admin = iam.create_role(RoleName="task-admin", AssumeRolePolicyDocument=json.dumps(ECS_TASKS_TRUST))["Role"]["Arn"]
    lb_arn = elb.create_load_balancer(Name="prod5")["LoadBalancers"][0]["LoadBalancerArn"]
    listener = elb.create_listener(LoadBalancerArn=lb_arn, Protocol="HTTP", Port=18131, DefaultActions=[
        {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200", "ContentType": "text/plain", "MessageBody": "ok"}}])["Listeners"][0]
    ecs.create_cluster(clusterName="prod5")
    instance = ecs.register_container_instance(cluster="prod5", totalResources=[
        {"name": "CPU", "type": "INTEGER", "integerValue": 1024}, {"name": "MEMORY", "type": "INTEGER", "integerValue": 1024}])["containerInstance"]
    instance_id = instance["containerInstanceArn"].rsplit("/", 1)[1]
    ecs.register_task_definition(family="admin-tools", containerDefinitions=[{"name": "a", "image": "busybox", "memory": 16}])
    iam.create_user(UserName="spell-probe")
    deny = [("iam:CreatePolicyVersion", guard), ("sts:AssumeRole", admin_role), ("iam:PassRole", task_admin),
            ("elasticloadbalancing:ModifyListener", f"arn:aws:elasticloadbalancing:us-east-1:{account}:listener/app/prod5/*"),
            ("ecs:UpdateContainerInstancesState", f"arn:aws:ecs:us-east-1:{account}:container-instance/prod5/*"),
            ("ecs:DescribeTaskDefinition", f"arn:aws:ecs:us-east-1:{account}:task-definition/admin-tools:*"),
            ("ecs:TagResource", f"arn:aws:ecs:us-east-1:{account}:task-definition/admin-tools:1")]
    iam.put_user_policy(UserName="spell-probe", PolicyName="all-but", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}] + [{"Effect": "Deny", "Action": a, "Resource": r} for a, r in deny]}))
    key = iam.create_access_key(UserName="spell-probe")["AccessKey"]
    no_retry = Item5Config(retries={"max_attempts": 1, "mode": "standard"})
    p = {name: boto3.client(name, endpoint_url=server.endpoint, region_name=REGION, aws_access_key_id=key["AccessKeyId"],
                            aws_secret_access_key=key["SecretAccessKey"], config=no_retry) for name in ("ecs", "elbv2", "iam", "sts")}
    assert wait_for(lambda: p["ecs"].list_clusters()["clusterArns"], seconds=10)
    other_lb = listener["ListenerArn"].replace("/app/prod5/", "/app/other/")
    attempts = {
        "policy under another path": lambda: p["iam"].create_policy_version(
            PolicyArn=guard.replace(":policy/", ":policy/x/"), SetAsDefault=True,
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})),
        "role under another path": lambda: p["sts"].assume_role(RoleArn=admin_role.replace(":role/", ":role/x/"), RoleSessionName="probe"),
        "passed role under another path": lambda: p["ecs"].register_task_definition(
            family="sneaky", taskRoleArn=task_admin.replace(":role/", ":role/x/"), containerDefinitions=[{"name": "a", "image": "busybox", "memory": 16}]),
        "listener of another load balancer name": lambda: p["elbv2"].modify_listener(ListenerArn=other_lb, Port=18132),
        "container instance without its cluster": lambda: p["ecs"].update_container_instances_state(
            cluster="prod5", containerInstances=[f"arn:aws:ecs:us-east-1:{account}:container-instance/{instance_id}"], status="DRAINING"),
        "task definition without a revision": lambda: p["ecs"].describe_task_definition(
            taskDefinition=f"arn:aws:ecs:us-east-1:{account}:task-definition/admin-tools"),
        "revision with a leading zero": lambda: p["ecs"].tag_resource(
            resourceArn=f"arn:aws:ecs:us-east-1:{account}:task-definition/admin-tools:01", tags=[{"key": "k", "value": "v"}]),
    }
    answered = []
    for what, call in attempts.items():
        try:
            answered.append((what, str(call())[:160]))
        except LBClientError as e:
            code = e.response["Error"]["Code"]
            assert any(word in code for word in ("AccessDenied", "NoSuchEntity", "NotFound", "InvalidParameter")), (what, code)
    assert not answered, answered
    # Nothing changed.
    assert [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=guard)["Versions"]] == ["v1"]
    assert elb.describe_listeners(ListenerArns=[listener["ListenerArn"]])["Listeners"][0]["Port"] == 18131
    assert ecs.describe_container_instances(cluster="prod5", containerInstances=[instance_id])["containerInstances"][0]["status"] == "ACTIVE"
    assert "sneaky" not in ecs.list_task_definition_families()["families"]
    assert ecs.list_tags_for_resource(resourceArn=f"arn:aws:ecs:us-east-1:{account}:task-definition/admin-tools:1")["tags"] == []


def test_item5_alarm_actions_name_only_the_accounts_own_scaling_policies(server, tenant):
    """An alarm's scaling-policy action runs in the alarm's account when it fires: one spelled with another account
    (or `aws`) is refused when the alarm is written, and no alarm is made."""
    (cloudwatch,) = tenant_clients(server, tenant, "cloudwatch")
    policy = ("arn:aws:autoscaling:us-east-1:{}:scalingPolicy:00000000-0000-0000-0000-000000000000:resource/ecs/service/default/web:"
              "policyName/up")
    for account in ("aws", "123456789012", ""):
        with pytest.raises(LBClientError) as e:
            cloudwatch.put_metric_alarm(AlarmName="item5-alarm", MetricName="CPUUtilization", Namespace="AWS/ECS", Statistic="Average",
                                        Period=60, EvaluationPeriods=1, Threshold=90, ComparisonOperator="GreaterThanThreshold",
                                        AlarmActions=[policy.format(account)])
        assert "cannot be used" in e.value.response["Error"]["Message"], e.value.response
    assert not cloudwatch.describe_alarms(AlarmNames=["item5-alarm"])["MetricAlarms"]


# ---------------------------------------------------------------------------------------------------------------
# Item 7, the query doors' decoder (review of issue 24). IAM, STS and ELBv2 forms decode through QueryDecoder. A list
# was counted again before each of its members (8,000 `Names.member.N` took 23 s of a server thread, the whole 1 MiB
# body minutes), and each empty optional member, like each member read only to be refused, scanned every parameter name. One signed request from any tenant
# could hold a core of the shared control plane; now both are one lookup, and a form of 15,000 members is answered
# at once.
# ---------------------------------------------------------------------------------------------------------------
def _item7_form(server, who, service, body, timeout):
    """A form-encoded query-protocol call signed as botocore signs: (seconds, status, body)."""
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    request = Item7AWSRequest(method="POST", url=server.endpoint + "/", data=body, headers=headers)
    Item7SigV4Auth(Item7Credentials(who.key_id, who.secret), service, REGION).add_auth(request)
    prepared = item7_urlrequest.Request(server.endpoint + "/", data=body.encode(), headers=dict(request.headers), method="POST")
    start = time.perf_counter()
    try:
        with item7_urlrequest.urlopen(prepared, timeout=timeout) as response:
            status, text = response.status, response.read().decode()
    except item7_urlerror.HTTPError as e:
        status, text = e.code, e.read().decode()
    return time.perf_counter() - start, status, text


def test_item7_a_form_of_many_members_costs_its_length_not_its_square(server, tenant):
    (elb,) = tenant_clients(server, tenant, "elbv2")
    before = elb.describe_tags(ResourceArns=[elb.create_target_group(Name="item7-form", Protocol="HTTP", Port=80, TargetType="ip")
                                             ["TargetGroups"][0]["TargetGroupArn"]])["TagDescriptions"]
    group = before[0]["ResourceArn"]
    n = 15_000
    attacks = {
        # A long list: counted once, not once per member.
        "names": "Action=DescribeLoadBalancers&Version=2015-12-01&" + "&".join(f"Names.member.{i}=a" for i in range(1, n + 1)),
        # Structures whose optional member is empty: one lookup each, not a scan of every parameter.
        "empty values": f"Action=AddTags&Version=2015-12-01&ResourceArns.member.1={group}&"
                        + "&".join(f"Tags.member.{i}.Key=k{i}&Tags.member.{i}.Value=" for i in range(1, n + 1)),
        # Members read only to be refused (RedirectConfig): marked read by name, not by a scan of every parameter.
        "refused members": "Action=CreateListener&Version=2015-12-01&LoadBalancerArn=x&Protocol=HTTP&Port=80&" + "&".join(
            f"DefaultActions.member.{i}.Type=forward&DefaultActions.member.{i}.RedirectConfig.Host=h" for i in range(1, 8_001)),
    }
    for what, body in attacks.items():
        assert len(body) < 1 << 20, what
        try:
            seconds, status, text = _item7_form(server, tenant, "elasticloadbalancing", body, timeout=15)
        except (TimeoutError, item7_urlerror.URLError):
            pytest.fail(f"{what}: the form held the server over 15 s")
        assert seconds < 10, (what, seconds)
        assert status == 400 and "<Code>" in text, (what, status, text[:300])
    # Nothing changed: the group has no tags (AddTags with 15,000 was refused: at most 50 a resource).
    assert elb.describe_tags(ResourceArns=[group])["TagDescriptions"] == before
    elb.delete_target_group(TargetGroupArn=group)
