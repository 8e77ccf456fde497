"""Fixtures: a real `stowage server` process on the test database, and tenants made with `stowage admin`."""
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
import uuid

import boto3
import pytest

BIN = os.environ.get("STOWAGE_BIN", ".build/debug/stowage")
REGION = "us-east-1"
# Short host-loss settings so the end-to-end tests see a lost agent within seconds.
# Short monitoring intervals so alarms and auto scaling act within seconds (1-minute datapoints still).
# Webhook tests listen on 127.0.0.1, which only the operator can allow; 127.0.0.2 stays refused.
WORKER_ARGS = ["--webhook-allow", "127.0.0.1/32", "--poll-interval", "0.5", "--heartbeat-timeout", "4", "--host-lost-grace", "4",
               "--metrics-interval", "3", "--alarm-interval", "3", "--scaling-interval", "4",
               "--scale-out-datapoints", "1", "--scale-in-datapoints", "1"]


# Under pytest-xdist (-n N) each worker process is a session of its own (server, worker, agents): it gets a database
# of its own on the one PostgreSQL and its own range of the agents' host ports. Serial runs have neither variable.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
XDIST_INDEX = int(XDIST_WORKER[2:]) if XDIST_WORKER[:2] == "gw" and XDIST_WORKER[2:].isdigit() else 0


def _worker_database(url):
    """The URL of a fresh database of this xdist worker's own, made on the server the given URL names."""
    name = f"stowage_{XDIST_WORKER}"
    admin = url.replace("postgres://", "postgresql://", 1)
    for sql in (f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}"):
        subprocess.run(["psql", admin, "-qc", sql], check=True, capture_output=True)
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server_env():
    url = os.environ.get("STOWAGE_TEST_DATABASE_URL")
    if not url:
        pytest.fail("STOWAGE_TEST_DATABASE_URL is not set: run `make test`")
    env = dict(os.environ)
    env["STOWAGE_DATABASE_URL"] = _worker_database(url) if XDIST_WORKER else url
    env["STOWAGE_SERVER_KEY"] = base64.b64encode(os.urandom(32)).decode()
    env["STOWAGE_LOG_FORMAT"] = "json"
    # Load balancer tests run their targets on 127.0.0.1 and on their agents' hosts (Podman's bridge gateway, the
    # multi-host test's namespaces), which only the operator can allow (server and `stowage lb` read it); 127.0.0.2
    # and every other loopback, private and link-local address stay refused.
    env["STOWAGE_ALLOW_TARGET_CIDR"] = "127.0.0.1/32,10.88.0.0/16,10.201.0.0/24"
    # Load balancers listen on loopback addresses of this session's own: HAProxy binds with SO_REUSEPORT, so two
    # sessions on one machine (xdist workers, two people's runs) giving the same address and port would each take
    # some of the other's requests (503s "No server is available" mid-test). One /24 a process.
    pid = os.getpid()
    env["STOWAGE_LB_ADDRESSES"] = f"127.{100 + pid % 150}.{pid // 150 % 256}.0/24"
    # The operator's token that shows /metrics whole (tenant-labelled series); server and worker read it.
    env["STOWAGE_METRICS_TOKEN"] = base64.b64encode(os.urandom(18)).decode()
    subprocess.run([BIN, "migrate"], env=env, check=True, capture_output=True)
    return env


class Server:
    def __init__(self, env, port, process, log_path, worker_metrics=None, tls_port=None, ca=None):
        self.env = env
        self.port = port
        self.process = process
        # Plain HTTP on loopback for the tests' own clients; agents take the HTTPS door (tls_endpoint), verifying
        # the server against the test CA, as agents on other machines must.
        self.endpoint = f"http://127.0.0.1:{port}"
        self.tls_endpoint = f"https://127.0.0.1:{tls_port}" if tls_port else None
        self.ca = ca
        self.log_path = log_path
        # The worker's own /metrics (jobs by kind and outcome, its pool), served with --metrics-port.
        self.worker_metrics = worker_metrics


@pytest.fixture(scope="session")
def server(server_env, tmp_path_factory):
    port, tls_port = _free_port(), _free_port()
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    tls_dir = log_path.parent / "tls"
    subprocess.run([BIN, "admin", "make-certificates", "--dir", str(tls_dir)], check=True, capture_output=True)
    log = open(log_path, "w")
    process = subprocess.Popen([BIN, "server", "--host", "127.0.0.1", "--port", str(tls_port), "--tls-cert", str(tls_dir / "server.pem"),
                                "--tls-key", str(tls_dir / "server-key.pem"), "--plain-http-port", str(port),
                                # The workers' allowance, so a webhook URL refused when written is one the call would refuse.
                                "--webhook-allow", "127.0.0.1/32"],
                               env=server_env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.time() > deadline:
            log.flush()
            pytest.fail("server did not start:\n" + open(log_path).read())
        time.sleep(0.1)
    worker_log = open(log_path.with_name("worker.log"), "w")
    worker_port = _free_port()
    worker = subprocess.Popen([BIN, "worker", *WORKER_ARGS, "--metrics-port", str(worker_port)], env=server_env,
                              stdout=worker_log, stderr=subprocess.STDOUT)
    yield Server(server_env, port, process, log_path, worker_metrics=f"http://127.0.0.1:{worker_port}/metrics",
                 tls_port=tls_port, ca=str(tls_dir / "ca.pem"))
    worker.send_signal(signal.SIGTERM)
    worker_code = worker.wait(timeout=15)
    worker_log.close()
    assert worker_code == 0, f"the worker exits 0 on SIGTERM, got {worker_code}"
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        code = "killed after 15 s"
    log.close()
    assert code == 0, f"graceful shutdown on SIGTERM exits 0, got {code}"



def _admin(env, *args):
    out = subprocess.run([BIN, "admin", *args], env=env, check=True, capture_output=True, text=True)
    return out.stdout.strip()


class Tenant:
    def __init__(self, account, key_id, secret):
        self.account = account
        self.key_id = key_id
        self.secret = secret

    def env(self):
        return {"AWS_ACCESS_KEY_ID": self.key_id, "AWS_SECRET_ACCESS_KEY": self.secret, "AWS_DEFAULT_REGION": REGION}


def make_tenant(env):
    # One command makes the tenant, its administrator and the administrator's key.
    created = dict(line.split(" = ", 1) for line in _admin(env, "create-account", "--name", f"py-{uuid.uuid4()}").splitlines())
    return Tenant(created["account_id"], created["aws_access_key_id"], created["aws_secret_access_key"])


@pytest.fixture
def tenant(server):
    return make_tenant(server.env)


@pytest.fixture
def other_tenant(server):
    return make_tenant(server.env)


def ecs_client(server, tenant, secret=None, key_id=None, region=REGION):
    return boto3.client("ecs", endpoint_url=server.endpoint, region_name=region,
                        aws_access_key_id=key_id or tenant.key_id,
                        aws_secret_access_key=secret or tenant.secret)


# The trust policy of a task or execution role: ECS's tasks may assume it.
ECS_TASKS_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def tenant_clients(server, tenant, *services):
    """boto3 clients of several services for one tenant, on the test server."""
    return tuple(boto3.client(name, endpoint_url=server.endpoint, region_name=REGION,
                              aws_access_key_id=tenant.key_id, aws_secret_access_key=tenant.secret) for name in services)


@pytest.fixture
def ecs(server, tenant):
    return ecs_client(server, tenant)


def aws_cli(server, tenant, *args, check=True):
    """Runs the AWS CLI against the server; returns (exit code, parsed JSON or stderr)."""
    env = dict(os.environ)
    env.update(tenant.env())
    env.pop("AWS_PROFILE", None)
    env["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"
    env["AWS_CONFIG_FILE"] = "/dev/null"
    proc = subprocess.run(["aws", *args, "--endpoint-url", server.endpoint, "--region", REGION, "--output", "json"],
                          env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"aws {' '.join(args)} failed: {proc.stderr}")
    if proc.returncode == 0:
        return 0, (json.loads(proc.stdout) if proc.stdout.strip() else {})
    return proc.returncode, proc.stderr


def signed_request(server, tenant, method, path, body=None):
    """A SigV4-signed request to the native API (agent endpoints, REST), as botocore signs."""
    import urllib.error
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    data = None if body is None else json.dumps(body)
    request = AWSRequest(method=method, url=server.endpoint + path, data=data,
                         headers={"Content-Type": "application/json"} if data else {})
    SigV4Auth(Credentials(tenant.key_id, tenant.secret), "ecs", REGION).add_auth(request)
    prepared = urllib.request.Request(server.endpoint + path, data=None if data is None else data.encode(),
                                      headers=dict(request.headers), method=method)
    try:
        with urllib.request.urlopen(prepared) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


class Key:
    """An access key in the shape `signed_request` and `aws_json` take (like a Tenant)."""
    def __init__(self, key_id, secret):
        self.key_id, self.secret = key_id, secret


def aws_json(server, who, target, body, service="ecs", content_type="application/x-amz-json-1.1"):
    """An AWS JSON call signed as botocore signs, answered as raw JSON: Stowage's own answer members included, which
    boto3 drops because its model lacks them. Returns (status, body)."""
    import urllib.error
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    data = json.dumps(body)
    headers = {"Content-Type": content_type, "X-Amz-Target": target}
    request = AWSRequest(method="POST", url=server.endpoint + "/", data=data, headers=headers)
    SigV4Auth(Credentials(who.key_id, who.secret), service, REGION).add_auth(request)
    prepared = urllib.request.Request(server.endpoint + "/", data=data.encode(), headers=dict(request.headers), method="POST")
    try:
        with urllib.request.urlopen(prepared) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


INSTANCE_RESOURCES = [{"name": "CPU", "type": "INTEGER", "integerValue": 2048}, {"name": "MEMORY", "type": "INTEGER", "integerValue": 1024}]


def register_instance(server, who, cluster, **fields):
    """Registers a container instance as an agent does and returns it with its own credential (a Key): the only
    one the agent protocol (/agent/v1) takes for that instance."""
    body = {"cluster": cluster, "totalResources": INSTANCE_RESOURCES, **fields}
    for _ in range(20):  # as boto3 retries a throttled call (tests that set a low write quota register too)
        status, answer = aws_json(server, who, "AmazonEC2ContainerServiceV20141113.RegisterContainerInstance", body)
        if answer.get("__type") != "ThrottlingException":
            break
        time.sleep(0.3)
    assert status == 200, answer
    credentials = answer["instanceCredentials"]
    return answer["containerInstance"], Key(credentials["accessKeyId"], credentials["secretAccessKey"])


def psql(server, sql):
    """Runs SQL against the test database (for invariants no API exposes), returning rows of text."""
    url = server.env["STOWAGE_DATABASE_URL"].replace("postgres://", "postgresql://", 1)
    out = subprocess.run(["psql", url, "-tA", "-F", "|", "-c", sql], capture_output=True, text=True, check=True)
    return [line.split("|") for line in out.stdout.strip().splitlines() if line]


def jobs_in_flight(server, account, kinds=(), due_only=False):
    """How many of the account's jobs (of these kinds, if given) a worker is running or will run: 0 means what the
    workers were asked to do is done, so a test can check that something did NOT happen without waiting on the clock.
    due_only leaves out jobs waiting for a later time (retries, tasks waiting for capacity)."""
    kinds_sql = f" AND kind IN ({', '.join(repr(k) for k in kinds)})" if kinds else ""
    due_sql = " AND run_at <= now()" if due_only else ""
    return int(psql(server, f"SELECT count(*) FROM jobs WHERE account_id = '{account}'{kinds_sql} AND (state = 'running' "
                            f"OR (state = 'pending'{due_sql}))")[0][0])


def wait_for(condition, seconds=60, every=0.5):
    """Polls until the condition returns something truthy, or the time runs out (then returns its last answer)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    return condition()


# Agents and containers on Podman, shared by the end-to-end and chaos tests.

SOCKET = os.environ.get("STOWAGE_TEST_DOCKER_SOCKET", "")
HTTPD = {"name": "web", "image": "localhost/busybox:latest", "memory": 32,
         "command": ["httpd", "-f", "-p", "80", "-h", "/var/www"], "portMappings": [{"containerPort": 80}],
         "healthCheck": {"command": ["CMD-SHELL", "wget -q -O- localhost:80/index.html >/dev/null || exit 1"],
                         "interval": 5, "timeout": 2, "retries": 2}}


@pytest.fixture
def need_engine():
    if not SOCKET:
        pytest.fail("STOWAGE_TEST_DOCKER_SOCKET is not set: run `make test`, which starts Podman")


def docker(method, path):
    out = subprocess.run(["curl", "-s", "--unix-socket", SOCKET, "-X", method, f"http://d/v1.41{path}"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out) if out.strip().startswith(("{", "[")) else out


def containers_of(instance_arn):
    filters = urllib.parse.quote(json.dumps({"label": [f"stowage.instance={instance_arn}"]}))
    return docker("GET", f"/containers/json?all=true&filters={filters}")


class Agent:
    """An agent process; each gets its own host port range, since they share this machine. `netns` runs it inside
    a network namespace (a host of its own) and `socket` names that host's Podman."""
    next_range = [50000 + 7500 * (XDIST_INDEX % 2)]  # room for 25 agents a session; two xdist workers at most

    def __init__(self, server, tenant, cluster, state_dir, zone="a", extra=(), socket=None, netns=None):
        low = Agent.next_range[0]
        Agent.next_range[0] += 300
        tls = getattr(server, "tls_endpoint", None)
        endpoint = ["--endpoint", tls, "--ca-bundle", server.ca] if tls else ["--endpoint", server.endpoint]
        # nsenter, not `ip netns exec`: that one also remounts /sys, which hides the cgroup mounts runc needs.
        self.args = [*(["nsenter", f"--net=/var/run/netns/{netns}"] if netns else []),
                     BIN, "agent", *endpoint, "--cluster", cluster, "--state-dir", str(state_dir),
                     "--docker-socket", socket or SOCKET, "--poll-wait", "1", "--zone", zone, "--port-range", f"{low}-{low + 299}",
                     "--telemetry-interval", "1", "--credentials-port", "0", "--max-backoff", "1",
                     # scripts/podman.sh's default ulimits, which Podman drops for a container naming its own.
                     "--default-ulimit", "nofile=1024:1024", "--default-ulimit", "nproc=4096:4096",
                     # Port 53 on the bridge gateway takes one agent at a time: only the tests of the resolver ask for it.
                     *([] if "--dns-address" in extra else ["--dns-address", "none"]), *extra]
        self.env = dict(server.env, **tenant.env())
        self.log = open(f"{state_dir}.log", "a")
        self.process = None
        self.start()

    def start(self):
        self.process = subprocess.Popen(self.args, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self, sig=signal.SIGTERM):
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=20)

    @property
    def arn(self):
        state = json.load(open(os.path.join(self.args[self.args.index("--state-dir") + 1], "agent-state.json")))
        return state["containerInstanceArn"]

    @property
    def key(self):
        """The instance's own credential, as the agent saved it."""
        state = json.load(open(os.path.join(self.args[self.args.index("--state-dir") + 1], "agent-state.json")))
        return Key(state["instanceAccessKeyId"], state["instanceSecret"])




def cluster_with_agent(server, tenant, tmp_path, agents, cluster, extra=()):
    """A cluster with one agent registered in it; returns the ECS client."""
    ecs = ecs_client(server, tenant)
    ecs.create_cluster(clusterName=cluster)
    agents.append(Agent(server, tenant, cluster, tmp_path / cluster, extra=extra))
    assert wait_for(lambda: ecs.list_container_instances(cluster=cluster)["containerInstanceArns"])
    return ecs


@pytest.fixture(scope="module")
def lb(server, tmp_path_factory):
    """`stowage lb` on the test database, with its own HAProxy, stopped at the end."""
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not os.path.exists(haproxy):
        pytest.fail("HAProxy is not installed: run `make test` (scripts/install-deps.sh installs it)")
    state = tmp_path_factory.mktemp("lb")
    log = open(state / "lb.log", "w")
    process = subprocess.Popen([BIN, "lb", "--haproxy", haproxy, "--state-dir", str(state / "haproxy"), "--interval", "0.5", "--stop-on-exit"],
                               env=server.env, stdout=log, stderr=subprocess.STDOUT)
    yield state
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=20)
    log.close()

def tasks_of(ecs, cluster, service=None, status="RUNNING"):
    kwargs = {"cluster": cluster, "desiredStatus": status}
    if service:
        kwargs["serviceName"] = service
    arns = ecs.list_tasks(**kwargs)["taskArns"]
    return ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []


def running_healthy(ecs, cluster, service, count):
    tasks = tasks_of(ecs, cluster, service)
    return tasks if len(tasks) == count and all(t["lastStatus"] == "RUNNING" and t["healthStatus"] == "HEALTHY" for t in tasks) else None


@pytest.fixture
def agents(tmp_path):
    started = []
    yield started
    for agent in started:
        agent.stop()
        # Containers outlive their agent by design; a test cleans up after itself.
        try:
            # An awsvpc task's network holder goes last: the engine keeps it while containers share its namespace.
            for container in sorted(containers_of(agent.arn), key=lambda c: (c.get("Labels") or {}).get("stowage.container") == "~network"):
                docker("DELETE", f"/containers/{container['Id']}?force=true")
        except (OSError, KeyError, ValueError):
            pass


def _log_complaints(path, since, limit=60):
    """The warning and error lines a process logged since `since` (JSON log lines), newest last."""
    try:
        lines = open(path, errors="replace").read().splitlines()
    except OSError:
        return []
    picked = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if isinstance(entry, dict):
            if entry.get("level") not in ("warning", "error", "critical") or str(entry.get("ts", "")) < since:
                continue
        elif not any(word in line.lower() for word in ("warning", "error", "fatal")):
            continue
        picked.append(line[:600])
    return picked[-limit:]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test's report carries what the worker, server and its agents complained of while it ran,
    so a failure on CI (where only the output survives) can be read without re-running it."""
    if call.when == "setup":
        item.stash_started = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(call.start))
    outcome = yield
    report = outcome.get_result()
    if call.when != "call" or not report.failed:
        return
    since = getattr(item, "stash_started", "")
    server = item.funcargs.get("server")
    paths = []
    if isinstance(server, Server) and server.log_path:
        paths += [("worker", server.log_path.with_name("worker.log")), ("server", server.log_path)]
    for agent in item.funcargs.get("agents") or []:
        if isinstance(agent, Agent):
            paths.append(("agent " + agent.args[agent.args.index("--cluster") + 1], agent.log.name))
    for name, path in paths:
        complaints = _log_complaints(path, since)
        if complaints:
            report.sections.append((f"{name} warnings and errors", "\n".join(complaints)))
