"""The AWS CLI, curl --aws-sigv4, presigned GETs and the OpenAPI contract against the running server."""
import json
import os
import subprocess
import urllib.error
import urllib.request

import yaml
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from openapi_spec_validator import validate

from conftest import BIN, REGION, aws_cli, signed_request, wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_aws_cli_round_trip(server, tenant, tmp_path):
    _, created = aws_cli(server, tenant, "ecs", "create-cluster", "--cluster-name", "cli")
    assert created["cluster"]["clusterName"] == "cli"
    _, listed = aws_cli(server, tenant, "ecs", "list-clusters")
    assert listed["clusterArns"] == [created["cluster"]["clusterArn"]]

    definition = tmp_path / "td.json"
    definition.write_text(json.dumps({"family": "cli", "containerDefinitions": [
        {"name": "app", "image": "busybox", "memoryReservation": 32, "command": ["sleep", "3600"]}]}))
    _, registered = aws_cli(server, tenant, "ecs", "register-task-definition", "--cli-input-json", f"file://{definition}")
    assert registered["taskDefinition"]["taskDefinitionArn"].endswith("task-definition/cli:1")
    _, deregistered = aws_cli(server, tenant, "ecs", "deregister-task-definition", "--task-definition", "cli:1")
    assert deregistered["taskDefinition"]["status"] == "INACTIVE"

    code, err = aws_cli(server, tenant, "ecs", "describe-task-definition", "--task-definition", "ghost", check=False)
    assert code != 0 and "ClientException" in err
    code, err = aws_cli(server, tenant, "ecs", "update-cluster-settings", "--cluster", "ghost",
                        "--settings", "name=containerInsights,value=enabled", check=False)
    assert code != 0 and "ClusterNotFoundException" in err
    _, deleted = aws_cli(server, tenant, "ecs", "delete-cluster", "--cluster", "cli")
    assert deleted["cluster"]["status"] == "INACTIVE"


def test_aws_cli_instances_and_errors(server, tenant):
    aws_cli(server, tenant, "ecs", "create-cluster", "--cluster-name", "cli-hosts")
    _, registered = aws_cli(server, tenant, "ecs", "register-container-instance", "--cluster", "cli-hosts",
                            "--total-resources", "name=CPU,type=INTEGER,integerValue=1024",
                            "name=MEMORY,type=INTEGER,integerValue=2048")
    arn = registered["containerInstance"]["containerInstanceArn"]
    _, drained = aws_cli(server, tenant, "ecs", "update-container-instances-state", "--cluster", "cli-hosts",
                         "--container-instances", arn, "--status", "DRAINING")
    assert drained["containerInstances"][0]["status"] == "DRAINING"
    _, gone = aws_cli(server, tenant, "ecs", "deregister-container-instance", "--cluster", "cli-hosts",
                      "--container-instance", arn)
    assert gone["containerInstance"]["status"] == "INACTIVE"
    code, err = aws_cli(server, tenant, "ecs", "describe-container-instances", "--cluster", "ghost",
                        "--container-instances", arn, check=False)
    assert code != 0 and "ClusterNotFoundException" in err

    class Forged:
        def env(self):
            return dict(tenant.env(), AWS_SECRET_ACCESS_KEY="wrong" * 8)
    code, err = aws_cli(server, Forged(), "ecs", "list-clusters", check=False)
    assert code != 0 and "InvalidSignatureException" in err


def curl(server, tenant, method, path, body=None, secret=None):
    args = ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "-X", method,
            "--aws-sigv4", f"aws:amz:{REGION}:ecs", "--user", f"{tenant.key_id}:{secret or tenant.secret}",
            server.endpoint + path]
    if body is not None:
        args += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
    out = subprocess.run(args, input=None if body is None else json.dumps(body), capture_output=True, text=True,
                         check=True).stdout
    text, status = out.rsplit("\n", 1)
    return int(status), (json.loads(text) if text.strip() else {})


def test_queries_with_raw_reserved_characters_verify_as_curl_and_botocore_sign_them(server, tenant):
    """curl and botocore sign `?action=ecs:CreateCluster` as sent (the colon not re-encoded); both are accepted."""
    assert curl(server, tenant, "POST", "/v1/clusters", {"clusterName": "colon"})[0] == 201
    status, found = curl(server, tenant, "GET", "/v1/audit/events?action=ecs:CreateCluster")
    assert status == 200 and [e["action"] for e in found["events"]] == ["ecs:CreateCluster"], found
    status, found = signed_request(server, tenant, "GET", "/v1/audit/events?action=ecs:CreateCluster")
    assert status == 200 and found["events"], found
    status, refused = curl(server, tenant, "GET", "/v1/audit/events?action=ecs:CreateCluster", secret="wrong")
    assert status == 403 and refused["__type"] == "InvalidSignatureException"


def test_rest_with_curl_sigv4(server, tenant):
    status, created = curl(server, tenant, "POST", "/v1/clusters", {"clusterName": "rest"})
    assert status == 201 and created["cluster"]["clusterName"] == "rest"
    status, got = curl(server, tenant, "GET", "/v1/clusters/rest")
    assert status == 200 and got["cluster"]["status"] == "ACTIVE"
    status, td = curl(server, tenant, "POST", "/v1/task-definitions",
                      {"family": "rest", "containerDefinitions": [{"name": "a", "image": "busybox", "memory": 16}]})
    assert status == 201
    status, described = curl(server, tenant, "GET", "/v1/task-definitions/rest:1")
    assert status == 200 and described["taskDefinition"]["family"] == "rest"
    status, missing = curl(server, tenant, "GET", "/v1/clusters/nothing")
    assert status == 404 and missing["__type"] == "ClusterNotFoundException"
    status, bad = curl(server, tenant, "GET", "/v1/clusters", secret="wrong")
    assert status == 403 and bad["__type"] == "InvalidSignatureException"
    status, _ = curl(server, tenant, "DELETE", "/v1/clusters/rest")
    assert status == 200


def test_presigned_get(server, tenant):
    request = AWSRequest(method="GET", url=f"{server.endpoint}/v1/clusters")
    SigV4QueryAuth(Credentials(tenant.key_id, tenant.secret), "ecs", REGION, expires=60).add_auth(request)
    with urllib.request.urlopen(request.url) as response:
        assert response.status == 200
        assert json.load(response)["clusterArns"] == []


def test_oversized_body_is_refused(server, tenant):
    status, body = curl(server, tenant, "POST", "/v1/clusters", {"clusterName": "big", "padding": "x" * (1 << 20)})
    assert status == 413 and body["__type"] == "RequestEntityTooLargeException"


def test_healthz_and_metrics(server, tenant, ecs):
    with urllib.request.urlopen(f"{server.endpoint}/healthz") as r:
        assert json.load(r)["status"] == "ok"
    # A refused agent poll is counted under its action (named by its route before authentication).
    instance_path = "/agent/v1/clusters/m/container-instances/i/tasks"
    try:
        urllib.request.urlopen(f"{server.endpoint}{instance_path}")
        raise AssertionError("an unsigned poll was answered")
    except urllib.error.HTTPError as error:
        assert error.code == 403 and json.load(error)["__type"] == "MissingAuthenticationTokenException"
    # A service change makes the worker run a reconcile job.
    ecs.create_cluster(clusterName="metrics")
    ecs.register_task_definition(family="m", containerDefinitions=[{"name": "m", "image": "busybox", "memory": 16}])
    ecs.create_service(cluster="metrics", serviceName="m", taskDefinition="m", desiredCount=0)

    def scrape(url):
        with urllib.request.urlopen(url) as r:
            return r.read().decode()
    text = scrape(f"{server.endpoint}/metrics")
    assert 'stowage_api_requests_total{action="Poll",status="403"}' in text
    assert 'stowage_api_requests_total{action="CreateService",status="200"}' in text
    assert 'stowage_db_pool_connections_max{pool="main"} 16' in text
    assert 'stowage_db_pool_connections_in_use{pool="main"}' in text
    assert 'stowage_db_pool_acquire_duration_seconds_bucket{pool="main"' in text
    assert 'stowage_jobs{state="dead"}' in text and 'stowage_jobs_queue_readable 1' in text
    # The worker's own endpoint: jobs by kind and outcome, through the same swift-metrics backend.
    worker = wait_for(lambda: (lambda t: t if 'stowage_worker_jobs_total{kind="reconcile-service",outcome="completed"}' in t else None)(
        scrape(server.worker_metrics)), seconds=30)
    assert worker, "the worker counts the reconcile job it ran"
    assert 'stowage_worker_job_duration_seconds_bucket{kind="reconcile-service"' in worker
    assert 'stowage_db_pool_connections_max{pool="main"}' in worker


def test_openapi_is_valid_and_covers_every_route():
    spec = yaml.safe_load(open(os.path.join(ROOT, "openapi", "stowage.yaml")))
    validate(spec)
    documented = {f"{method.upper()} {path}" for path, item in spec["paths"].items()
                  for method in item if method in {"get", "post", "put", "patch", "delete"}}
    served = set(subprocess.run([BIN, "routes"], capture_output=True, text=True, check=True).stdout.split("\n")) - {""}
    assert served, "the server lists its routes"
    assert served - documented == set(), "routes missing from openapi/stowage.yaml"
    assert documented - served == set(), "documented routes the server does not serve"


def test_logs_are_json_with_request_ids(server, tenant):
    curl(server, tenant, "GET", "/v1/clusters")
    lines = [json.loads(line) for line in open(server.log_path) if line.startswith("{")]
    assert lines, "the server logs JSON lines"
    assert any("hb.request.id" in line for line in lines)


def test_admin_and_server_need_no_flags_on_a_make_dev_installation():
    """`stowage admin create-account --name X` from the folder `make dev` ran in: it finds ./.stowage's database
    and server key, prints the new tenant's administrator key, and a server started there the same way accepts it."""
    import base64
    import shutil
    import signal
    import tempfile

    import boto3
    from conftest import _free_port, wait_for

    home = tempfile.mkdtemp(prefix="stowage-devhome-")
    os.chmod(home, 0o755)  # PostgreSQL runs as the postgres user
    binary = os.path.abspath(BIN)
    state = os.path.join(home, ".stowage")
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOWAGE_") and not k.startswith("AWS_")}
    env["STOWAGE_MIGRATIONS"] = os.path.join(ROOT, "Migrations")
    server = None
    try:
        subprocess.run([binary, "postgres", "start", "--unsafe-fast", "--dir", os.path.join(state, "pg"), "--port", "5432"],
                       check=True, capture_output=True)
        with open(os.path.join(state, "server.key"), "w") as f:
            f.write(base64.b64encode(os.urandom(32)).decode())
        subprocess.run([binary, "migrate"], cwd=home, env=env, check=True, capture_output=True)
        out = subprocess.run([binary, "admin", "create-account", "--name", "acme"], cwd=home, env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        created = dict(line.split(" = ", 1) for line in out.stdout.splitlines())
        assert len(created["account_id"]) == 12 and created["user"] == "admin"
        port = _free_port()
        server = subprocess.Popen([binary, "server", "--host", "127.0.0.1", "--port", str(port)], cwd=home, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ecs = boto3.client("ecs", endpoint_url=f"http://127.0.0.1:{port}", region_name=REGION,
                           aws_access_key_id=created["aws_access_key_id"], aws_secret_access_key=created["aws_secret_access_key"])

        def up():
            try:
                return ecs.create_cluster(clusterName="first")["cluster"]["clusterArn"]
            except Exception:
                return None
        arn = wait_for(up, seconds=30)
        assert arn and f":{created['account_id']}:cluster/first" in arn, "the printed key is the new tenant's administrator"
    finally:
        if server:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=20)
        subprocess.run([binary, "postgres", "stop", "--dir", os.path.join(state, "pg"), "--port", "5432"], capture_output=True)
        shutil.rmtree(home, ignore_errors=True)
