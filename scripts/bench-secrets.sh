#!/usr/bin/env bash
# make bench-secrets (issue 14): GetParameter of a SecureString with decryption against DescribeClusters,
# alternating wrk runs in one process's lifetime (requests/s, p99, the ratio; target >= 80%), then what 10
# secrets add to a task's start: RunTask -> RUNNING on Podman for a task with 10 secrets (5 SecureString
# parameters, 5 Secrets Manager JSON keys, read with the execution role) and for the same task without, interleaved.
set -euo pipefail
cd "$(dirname "$0")/.."
CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
STARTS=${STARTS:-20}
source scripts/bench-env.sh

endpoint="http://127.0.0.1:$port"
python3 - "$endpoint" "$tmp" <<'PY'
import json, sys, boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.session import Session
endpoint, tmp = sys.argv[1], sys.argv[2]
kw = dict(endpoint_url=endpoint, region_name="us-east-1")
boto3.client("ecs", **kw).create_cluster(clusterName="bench")
ssm = boto3.client("ssm", **kw)
ssm.put_parameter(Name="/bench/db/password", Value="p" * 100, Type="SecureString")
assert ssm.get_parameter(Name="/bench/db/password", WithDecryption=True)["Parameter"]["Value"] == "p" * 100

def lua(name, service, target, body):
    body = json.dumps(body)
    headers = {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"}
    request = AWSRequest(method="POST", url=endpoint + "/", data=body, headers=headers)
    SigV4Auth(Session().get_credentials(), service, "us-east-1").add_auth(request)
    lines = ['wrk.method = "POST"', 'wrk.path = "/"', f"wrk.body = {json.dumps(body)}"]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in request.headers.items()]
    open(f"{tmp}/{name}.lua", "w").write("\n".join(lines) + "\n")

lua("describe", "ecs", "AmazonEC2ContainerServiceV20141113.DescribeClusters", {"clusters": ["bench"]})
lua("parameter", "ssm", "AmazonSSM.GetParameter", {"Name": "/bench/db/password", "WithDecryption": True})
PY

measure() { wrk_measure "$CONNECTIONS" "$endpoint" "$1"; }

echo "cores: $(nproc)   connections: $CONNECTIONS   duration: $DURATION x $ROUNDS rounds each   build: release"
describe_rps=(); parameter_rps=()
for round in $(seq "$ROUNDS"); do
    read -r d_rps d_p99 d_bad <<<"$(measure "$tmp/describe.lua")"
    read -r p_rps p_p99 p_bad <<<"$(measure "$tmp/parameter.lua")"
    printf 'round %d: DescribeClusters %10s req/s p99 %8s non-2xx %s | GetParameter (SecureString, WithDecryption) %10s req/s p99 %8s non-2xx %s\n' \
        "$round" "$d_rps" "$d_p99" "${d_bad:-0}" "$p_rps" "$p_p99" "${p_bad:-0}"
    describe_rps+=("$d_rps"); parameter_rps+=("$p_rps")
done
python3 - "${describe_rps[*]}" "${parameter_rps[*]}" <<'PY'
import statistics, sys
d = statistics.median(float(x) for x in sys.argv[1].split())
p = statistics.median(float(x) for x in sys.argv[2].split())
print(f"median: DescribeClusters {d:,.0f} req/s, GetParameter with decryption {p:,.0f} req/s = {100 * p / d:.0f}% (target >= 80%)")
PY

socket=$(scripts/podman.sh start "$tmp/podman")
export CONTAINERS_CONF="$tmp/podman/containers.conf"
export CONTAINERS_REGISTRIES_CONF="$tmp/podman/registries.conf"
podman_cleanup() {
    ids=$(podman ps -aq --filter label=stowage.task 2>/dev/null || true)
    [ -n "$ids" ] && podman rm -f $ids >/dev/null 2>&1
    scripts/podman.sh stop "$tmp/podman"
}
"$bin" worker --poll-interval 0.2 > "$tmp/worker.log" 2>&1 &
pids+=($!)
"$bin" agent --endpoint "$endpoint" --cluster bench --state-dir "$tmp/agent" --docker-socket "$socket" \
    --port-range 51000-51999 > "$tmp/agent.log" 2>&1 &
pids+=($!)
python3 - "$endpoint" "$STARTS" <<'PY' || { podman_cleanup; exit 1; }
import json, os, statistics, sys, time
import boto3
endpoint, starts = sys.argv[1], int(sys.argv[2])
kw = dict(endpoint_url=endpoint, region_name="us-east-1")
ecs, ssm, sm, iam = (boto3.client(n, **kw) for n in ("ecs", "ssm", "secretsmanager", "iam"))
deadline = time.time() + 60
while not ecs.list_container_instances(cluster="bench")["containerInstanceArns"]:
    assert time.time() < deadline, "the agent did not register"
    time.sleep(0.2)
role = iam.create_role(RoleName="bench-exec", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
iam.put_role_policy(RoleName="bench-exec", PolicyName="read", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["ssm:GetParameters", "secretsmanager:GetSecretValue"], "Resource": "*"}]}))
secrets = []
for i in range(5):
    ssm.put_parameter(Name=f"/bench/p{i}", Value=f"value-{i}", Type="SecureString")
    arn = sm.create_secret(Name=f"bench/s{i}", SecretString=json.dumps({"password": f"pw-{i}"}))["ARN"]
    secrets += [{"name": f"P{i}", "valueFrom": f"/bench/p{i}"}, {"name": f"S{i}", "valueFrom": f"{arn}:password::"}]
app = {"name": "app", "image": "localhost/busybox:latest", "memory": 8, "command": ["sleep", "3600"]}
ecs.register_task_definition(family="plain", executionRoleArn=role, containerDefinitions=[app])
ecs.register_task_definition(family="secrets10", executionRoleArn=role, containerDefinitions=[dict(app, secrets=secrets)])

def run_to_running(family):
    start = time.time()
    arn = ecs.run_task(cluster="bench", taskDefinition=family)["tasks"][0]["taskArn"]
    while (task := ecs.describe_tasks(cluster="bench", tasks=[arn])["tasks"][0])["lastStatus"] != "RUNNING":
        assert task["lastStatus"] != "STOPPED", task.get("stoppedReason")
        assert time.time() - start < 60, "a task did not reach RUNNING"
        time.sleep(0.02)
    elapsed = time.time() - start
    ecs.stop_task(cluster="bench", task=arn)
    return elapsed

run_to_running("plain"); run_to_running("secrets10")  # warm: image, role session, data key
plain, with_secrets = [], []
for _ in range(starts):
    plain.append(run_to_running("plain"))
    with_secrets.append(run_to_running("secrets10"))
p, s = statistics.median(plain), statistics.median(with_secrets)
print(f"RunTask -> RUNNING over {starts} starts each, interleaved: no secrets p50 {p * 1000:.0f} ms, 10 secrets p50 {s * 1000:.0f} ms: "
      f"+{(s - p) * 1000:.0f} ms (target < 50 ms)")
PY
podman_cleanup
