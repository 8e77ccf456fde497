"""Chaos on the real processes: a private PostgreSQL, server, two workers and an agent on Podman, with faults
injected as an operator would see them (kill -9, a database outage). Each test asserts that no acknowledged
write is lost, that no running healthy task is stopped or duplicated by a control-plane fault, and that the
system converges within a stated time. Figures go to the test's output (`make chaos` prints them)."""
import base64
import concurrent.futures
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import boto3
import pytest
from botocore.config import Config

from conftest import (BIN, HTTPD, REGION, WORKER_ARGS, Agent, containers_of, docker, make_tenant, psql, running_healthy,
                      signed_request, tasks_of, wait_for)

# `make chaos` runs the database outage matrix with lengths of its own (10 s, 70 s, 5 min); without one, the database
# stays down until the outage is as long as the scenario needs (outage_over).
OUTAGE_SECONDS = float(os.environ["STOWAGE_CHAOS_OUTAGE"]) if os.environ.get("STOWAGE_CHAOS_OUTAGE") else None
CONVERGE_SECONDS = 60
# The silence after which the workers (WORKER_ARGS) stop a host's tasks as lost: heartbeat timeout, then grace.
HOST_LOSS_WINDOW = sum(float(WORKER_ARGS[WORKER_ARGS.index(flag) + 1]) for flag in ("--heartbeat-timeout", "--host-lost-grace"))


def _free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def figure(name, **values):
    """One line of figures for the closing note; `make chaos` greps them."""
    print(f"\nFIGURE {name} " + json.dumps(values, sort_keys=True), flush=True)


class Stack:
    """A private control plane whose parts can be killed and started again."""

    def __init__(self, root):
        self.root = root
        # PostgreSQL runs as the postgres user, who cannot enter pytest's private temporary folders.
        self.pg_parent = tempfile.mkdtemp(prefix="stowage-chaos-")
        os.chmod(self.pg_parent, 0o755)
        self.pg_dir = os.path.join(self.pg_parent, "pg")
        self.pg_port = 30000 + (os.getpid() % 20000)
        url = subprocess.run([BIN, "postgres", "start", "--dir", self.pg_dir, "--port", str(self.pg_port)],
                             capture_output=True, text=True, check=True).stdout.strip()
        self.env = dict(os.environ, STOWAGE_DATABASE_URL=url, STOWAGE_LOG_FORMAT="json", STOWAGE_DB_ACQUIRE_TIMEOUT="2",
                        STOWAGE_SERVER_KEY=base64.b64encode(os.urandom(32)).decode())
        subprocess.run([BIN, "migrate"], env=self.env, check=True, capture_output=True)
        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.server = None
        self.workers = []
        self.logs = []
        self.start_server()
        self.start_workers(2)

    def _log(self, name):
        log = open(self.root / f"{name}.log", "a")
        self.logs.append(log)
        return log

    def start_server(self):
        self.server = subprocess.Popen([BIN, "server", "--host", "127.0.0.1", "--port", str(self.port)], env=self.env,
                                       stdout=self._log("server"), stderr=subprocess.STDOUT)
        assert wait_for(lambda: self.get("/healthz")[0] == 200, seconds=30), "server started"

    def start_workers(self, count):
        for _ in range(count):
            self.workers.append(subprocess.Popen([BIN, "worker", *WORKER_ARGS], env=self.env,
                                                 stdout=self._log("worker"), stderr=subprocess.STDOUT))

    def kill_server(self):
        self.server.send_signal(signal.SIGKILL)
        self.server.wait()

    def kill_workers(self):
        for worker in self.workers:
            worker.send_signal(signal.SIGKILL)
            worker.wait()
        self.workers = []

    def postmaster(self):
        with open(os.path.join(self.pg_dir, "postmaster.pid")) as f:
            return int(f.readline())

    def kill_database(self):
        """kill -9 of PostgreSQL itself and every backend: a crash, not a clean stop."""
        pid = self.postmaster()
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        for p in [pid, *map(int, children)]:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        wait_for(lambda: subprocess.run(["kill", "-0", str(pid)], capture_output=True).returncode != 0, seconds=10)

    def start_database(self):
        subprocess.run([BIN, "postgres", "start", "--dir", self.pg_dir, "--port", str(self.pg_port)],
                       capture_output=True, text=True, check=True)

    def get(self, path, timeout=5):
        try:
            with urllib.request.urlopen(self.endpoint + path, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()
        except OSError:
            return 0, b""

    def close(self):
        for process in [self.server, *self.workers]:
            if process and process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait()
        subprocess.run([BIN, "postgres", "stop", "--dir", self.pg_dir, "--port", str(self.pg_port)], capture_output=True)
        for log in self.logs:
            log.close()
        shutil.rmtree(self.pg_parent, ignore_errors=True)


@pytest.fixture
def stack(tmp_path, need_engine):
    s = Stack(tmp_path)
    yield s
    s.close()


def client(stack, tenant, service="ecs", retries=1):
    return boto3.client(service, endpoint_url=stack.endpoint, region_name=REGION, aws_access_key_id=tenant.key_id,
                        aws_secret_access_key=tenant.secret,
                        config=Config(retries={"max_attempts": retries, "mode": "standard"}, connect_timeout=5, read_timeout=30))


class Service:
    """A service of healthy httpd tasks on one agent, and what it looked like when it was steady."""

    def __init__(self, stack, tmp_path, name, count=2):
        self.stack = stack
        self.tenant = make_tenant(stack.env)
        self.ecs = client(stack, self.tenant, retries=8)
        self.cluster = f"chaos-{name}"
        self.ecs.create_cluster(clusterName=self.cluster)
        self.agent = Agent(stack, self.tenant, self.cluster, tmp_path / f"agent-{name}")
        assert wait_for(lambda: self.ecs.list_container_instances(cluster=self.cluster)["containerInstanceArns"])
        self.ecs.register_task_definition(family="httpd", containerDefinitions=[HTTPD])
        self.ecs.create_service(cluster=self.cluster, serviceName="web", taskDefinition="httpd", desiredCount=count)
        self.count = count
        steady = wait_for(lambda: running_healthy(self.ecs, self.cluster, "web", count), seconds=90)
        assert steady, "the service became healthy"
        self.tasks = {t["taskArn"] for t in steady}
        self.containers = self.container_ids()

    def container_ids(self):
        return {c["Id"] for c in containers_of(self.agent.arn) if c["State"] == "running"}

    def host_lost(self):
        stopped = tasks_of(self.ecs, self.cluster, "web", "STOPPED")
        return [t for t in stopped if t.get("stoppedReason", "").startswith("Host lost")]

    def close(self):
        self.agent.stop()
        for container in containers_of(self.agent.arn):
            docker("DELETE", f"/containers/{container['Id']}?force=true")


def probe_api(stack, ecs, cluster):
    """One unretried call, /healthz and /readyz during a fault: status codes and latencies."""
    started = time.time()
    try:
        ecs.describe_services(cluster=cluster, services=["web"])
        code = 200
    except ecs.exceptions.ClientError as error:
        code = error.response["ResponseMetadata"]["HTTPStatusCode"], error.response["Error"]["Code"]
    except Exception as error:  # connection refused while the server is down
        code = type(error).__name__
    api = time.time() - started
    started = time.time()
    health = stack.get("/healthz")[0]
    health_s = time.time() - started
    started = time.time()
    ready = stack.get("/readyz")[0]
    ready_s = time.time() - started
    return {"api": str(code), "api_s": round(api, 2), "healthz": health, "healthz_s": round(health_s, 2),
            "readyz": ready, "readyz_s": round(ready_s, 2)}


def failed_polls(agent):
    """How many polls the agent has seen fail (its log says so each time, then backs off)."""
    with open(agent.log.name, errors="replace") as log:
        return log.read().count("poll failed; containers keep running")


def outage_over(began, answers, agent, polls_before, seconds):
    """Whether the outage has lasted as the scenario needs: `seconds` when the run names a length; else until a sweep
    blind to the outage would stop every task — the agent's last heartbeat twice past the workers' host-loss window
    (so past the control plane's 5 s pulse tolerance too), the agent refused three polls at its longest backoff
    (--max-backoff 1) and three probes answered — bounded at 120 s (the assertions after it say what was missing)."""
    elapsed = time.time() - began
    if seconds is not None:
        return elapsed >= seconds
    return elapsed >= 120 or (elapsed >= 2 * HOST_LOSS_WINDOW and len(answers) >= 3
                              and failed_polls(agent) - polls_before >= 3)


def swept_after_window(stack, recovered):
    """Whether an instance sweep that began a whole host-loss window after the control plane could hear agents
    again (the later of its pulse's restart and the recovery) has run to its end: periodic jobs claim their period
    and enqueue in one transaction, a worker taking a job stamps it, and a job leaves the queue when done."""
    return psql(stack, f"""
        WITH sweep AS (SELECT last_period FROM periodic_jobs WHERE kind = 'sweep-instances')
        SELECT (SELECT last_period FROM sweep) >= GREATEST((SELECT healthy_since FROM control_plane_health), to_timestamp({recovered}))
                                                 + make_interval(secs => {HOST_LOSS_WINDOW + 1})
           AND NOT EXISTS (SELECT 1 FROM jobs WHERE kind = 'sweep-instances'
                            AND (state = 'pending' OR (state = 'running' AND updated_at >= (SELECT last_period FROM sweep))))
        """)[0][0] == "t"


@pytest.mark.parametrize("fault", ["database", "server", "workers"])
def test_a_control_plane_outage_leaves_running_tasks_alone(stack, tmp_path, fault):
    svc = Service(stack, tmp_path, fault)
    probe = client(stack, svc.tenant, retries=1)
    seconds = OUTAGE_SECONDS if fault == "database" else 30
    try:
        polls_before = failed_polls(svc.agent)
        {"database": stack.kill_database, "server": stack.kill_server, "workers": stack.kill_workers}[fault]()
        began = time.time()
        answers = []
        while not outage_over(began, answers, svc.agent, polls_before, seconds):
            answers.append(probe_api(stack, probe, svc.cluster))
            assert svc.container_ids() == svc.containers, "containers keep running through the outage"
            # The outage's length is what is under test: a probe every 2 s at most until it is over.
            time.sleep(2.0 if seconds is None else max(0.0, min(2.0, seconds - (time.time() - began))))
        outage_s = time.time() - began
        {"database": stack.start_database, "server": stack.start_server, "workers": lambda: stack.start_workers(2)}[fault]()
        if seconds is None:
            assert failed_polls(svc.agent) - polls_before >= 3 and outage_s >= 2 * HOST_LOSS_WINDOW, \
                f"the agent saw the outage: {failed_polls(svc.agent) - polls_before} polls failed in {outage_s:.0f} s"
        recovered = time.time()
        converged = wait_for(lambda: running_healthy(svc.ecs, svc.cluster, "web", svc.count), seconds=CONVERGE_SECONDS)
        converge_s = time.time() - recovered
        assert converged, f"the service is steady within {CONVERGE_SECONDS} s of recovery"
        # Nothing was judged lost by a sweep that ran a whole heartbeat window and grace after the control plane could
        # hear agents again (an outage of the database or of every server restarts that clock; the workers' does not).
        assert wait_for(lambda: swept_after_window(stack, recovered), seconds=30, every=0.5), "a sweep ran past the host-loss window"
        after = running_healthy(svc.ecs, svc.cluster, "web", svc.count)
        assert after and {t["taskArn"] for t in after} == svc.tasks, "the same tasks, none replaced"
        assert svc.host_lost() == [], "no task was stopped as host lost"
        assert svc.container_ids() == svc.containers, "the same containers, none duplicated"
        instance = svc.ecs.describe_container_instances(cluster=svc.cluster, containerInstances=[svc.agent.arn])["containerInstances"][0]
        assert instance["agentConnected"] is True
        if fault == "database":
            during = [a for a in answers if a["healthz"] == 200]
            assert len(during) == len(answers), f"/healthz answers 200 throughout: {answers}"
            assert all(a["healthz_s"] < 1.5 and a["readyz_s"] < 1.5 for a in answers), answers
            assert all(a["readyz"] == 503 for a in answers), [a for a in answers if a["readyz"] != 503]
            assert all(a["api"].startswith("(503") and "ServiceUnavailableException" in a["api"] for a in answers), \
                [a for a in answers if "ServiceUnavailableException" not in a["api"]]
            assert all(a["api_s"] < 6 for a in answers), [a for a in answers if a["api_s"] >= 6]
        figure(f"outage-{fault}", seconds=round(outage_s, 1), tasks_stopped=len(svc.tasks - {t["taskArn"] for t in after}),
               converge_s=round(converge_s, 1), api=sorted({a["api"] for a in answers}),
               api_max_s=max(a["api_s"] for a in answers), healthz=sorted({a["healthz"] for a in answers}),
               readyz=sorted({a["readyz"] for a in answers}), healthz_max_s=max(a["healthz_s"] for a in answers))
    finally:
        svc.close()


def test_kill9_of_worker_agent_and_server_during_a_rolling_deployment(stack, tmp_path):
    svc = Service(stack, tmp_path, "rollout", count=3)
    try:
        env = dict(HTTPD, environment=[{"name": "VERSION", "value": "2"}])
        svc.ecs.register_task_definition(family="httpd", containerDefinitions=[env])
        svc.ecs.update_service(cluster=svc.cluster, service="web", taskDefinition="httpd:2")
        began = time.time()
        # The kills land mid-rollout: once its first new task exists, whatever the machine's load.
        assert wait_for(lambda: [t for t in tasks_of(svc.ecs, svc.cluster, "web", "RUNNING") if t["taskDefinitionArn"].endswith(":2")]
                        or None, seconds=60, every=0.2), "the rollout began"
        stack.kill_workers()
        stack.start_workers(2)
        # The faults' spacing is the scenario (one after the other, each while the others recover), not a wait.
        time.sleep(2)
        svc.agent.stop(signal.SIGKILL)
        svc.agent.start()
        time.sleep(2)
        stack.kill_server()
        stack.start_server()

        def done():
            service = svc.ecs.describe_services(cluster=svc.cluster, services=["web"])["services"][0]
            tasks = running_healthy(svc.ecs, svc.cluster, "web", 3)
            return tasks if (len(service["deployments"]) == 1 and tasks
                             and all(t["taskDefinitionArn"].endswith(":2") for t in tasks)) else None

        finished = wait_for(done, seconds=120)
        assert finished, "the rollout completes after the kills"
        converge_s = time.time() - began
        assert len(svc.container_ids()) == 3, "exactly three containers: none duplicated, none orphaned"
        assert svc.host_lost() == [], "no task was stopped as host lost"
        stopped = tasks_of(svc.ecs, svc.cluster, "web", "STOPPED")
        assert {t["taskArn"] for t in stopped} >= svc.tasks, "the old revision's tasks were replaced by the rollout"
        assert all(t["taskDefinitionArn"].endswith(":1") for t in stopped), "no new task was stopped"
        figure("rollout-kill9", converge_s=round(converge_s, 1), replaced=len(stopped))
    finally:
        svc.close()


def test_kill9_of_postgresql_during_a_write_burst_loses_no_acknowledged_write(stack):
    tenant = make_tenant(stack.env)
    ecs = client(stack, tenant, retries=1)
    acknowledged, refused, errors = [], [], []

    def write(i):
        name = f"burst-{i}-{uuid.uuid4().hex[:6]}"
        try:
            ecs.create_cluster(clusterName=name, tags=[{"key": "i", "value": str(i)}])
            acknowledged.append(name)
        except ecs.exceptions.ClientError as error:
            refused.append(error.response["ResponseMetadata"]["HTTPStatusCode"])
        except Exception as error:  # the connection dropped mid-request: not acknowledged
            errors.append(type(error).__name__)

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        futures = [pool.submit(write, i) for i in range(300)]
        # The crash lands mid-burst: once writes are being acknowledged, whatever the machine's load.
        assert wait_for(lambda: len(acknowledged) >= 10 or None, seconds=30, every=0.05), "writes are acknowledged before the crash"
        stack.kill_database()
        time.sleep(3)  # the outage's length, part of the scenario: writes meanwhile are refused, not hung
        stack.start_database()
        futures += [pool.submit(write, i) for i in range(300, 400)]
        for f in futures:
            f.result()
    assert acknowledged, "some writes were acknowledged"
    assert refused, "writes during the crash were refused, not hung"
    assert all(code in (503,) for code in refused), f"a crash is a 503 the SDKs retry, never a 500: {sorted(set(refused))}"
    seen = set()
    reader = client(stack, tenant, retries=8)
    for page in reader.get_paginator("list_clusters").paginate():
        seen.update(arn.split("/")[-1] for arn in page["clusterArns"])
    lost = [name for name in acknowledged if name not in seen]
    assert lost == [], f"{len(lost)} acknowledged writes lost"
    figure("postgres-kill9", acknowledged=len(acknowledged), refused=len(refused), dropped_connections=len(errors), lost=len(lost))


def test_a_partition_that_silences_most_agents_stops_nothing_and_says_so(stack, tmp_path):
    """Agents frozen (SIGSTOP) while the control plane is healthy: to the servers this is a network partition.
    With every instance of the cluster silent at once, the sweep marks them disconnected and stops nothing."""
    svc = Service(stack, tmp_path, "partition", count=2)
    second = Agent(stack, svc.tenant, svc.cluster, tmp_path / "agent-partition-2", zone="b")
    try:
        assert wait_for(lambda: len(svc.ecs.list_container_instances(cluster=svc.cluster)["containerInstanceArns"]) == 2)
        for agent in (svc.agent, second):
            agent.process.send_signal(signal.SIGSTOP)
        # Well past the heartbeat timeout and the host-lost grace (4 s + 4 s in these tests).
        disconnected = wait_for(lambda: all(not i["agentConnected"] for i in svc.ecs.describe_container_instances(
            cluster=svc.cluster, containerInstances=svc.ecs.list_container_instances(cluster=svc.cluster)["containerInstanceArns"])
            ["containerInstances"]), seconds=30)
        assert disconnected, "both instances are marked disconnected"
        # Well past the host-lost grace (4 s) while silent: time passing is what is under test, so 12 s on the clock.
        time.sleep(12)
        assert svc.host_lost() == [], "nothing was stopped as host lost"
        assert svc.container_ids() == svc.containers, "the containers kept running"
        status, body = signed_request(stack, svc.tenant, "GET", f"/v1/clusters/{svc.cluster}/events")
        assert status == 200 and any("stopped reporting at once" in e["message"] for e in body["events"]), body
        for agent in (svc.agent, second):
            agent.process.send_signal(signal.SIGCONT)
        after = wait_for(lambda: running_healthy(svc.ecs, svc.cluster, "web", 2), seconds=CONVERGE_SECONDS)
        assert after and {t["taskArn"] for t in after} == svc.tasks, "the same tasks once the partition heals"
        figure("partition", instances=2, tasks_stopped=0, events=len(body["events"]))
    finally:
        for agent in (svc.agent, second):
            if agent.process.poll() is None:
                agent.process.send_signal(signal.SIGCONT)
        second.stop()
        for container in containers_of(second.arn):
            docker("DELETE", f"/containers/{container['Id']}?force=true")
        svc.close()

