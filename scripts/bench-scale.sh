#!/usr/bin/env bash
# End-to-end scale-out: a service goes from 0 to TASKS tasks over INSTANCES instances, timed from
# UpdateService to every task bound to an instance and persisted. Release server and worker processes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh bench

INSTANCES=${INSTANCES:-1000}
TASKS=${TASKS:-10000}
swift build -c release --product stowage >/dev/null
bin=.build/release/stowage

tmp=$(mktemp -d /tmp/stowage-bench.XXXXXX)
pgport=$((20000 + RANDOM % 20000))
port=$((40000 + RANDOM % 10000))
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
    "$bin" postgres stop --dir "$tmp/pg" --port "$pgport" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT

export STOWAGE_DATABASE_URL=$("$bin" postgres start --dir "$tmp/pg" --port "$pgport")
export STOWAGE_SERVER_KEY=$(openssl rand -base64 32)
export LOG_LEVEL=warning
"$bin" migrate >/dev/null
account=$("$bin" admin create-account --name bench)
"$bin" admin create-user --account "$account" --name bench >/dev/null
keys=$("$bin" admin create-access-key --account "$account" --user bench)
export AWS_ACCESS_KEY_ID=$(echo "$keys" | awk '/aws_access_key_id/ {print $3}')
export AWS_SECRET_ACCESS_KEY=$(echo "$keys" | awk '/aws_secret_access_key/ {print $3}')

"$bin" server --host 127.0.0.1 --port "$port" > "$tmp/server.log" 2>&1 &
pids+=($!)
"$bin" worker --poll-interval 0.2 > "$tmp/worker.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

python3 - "http://127.0.0.1:$port" "$INSTANCES" "$TASKS" "$account" <<'PY'
import os, subprocess, sys, time
import boto3
endpoint, instances, tasks, account = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
ecs = boto3.client("ecs", endpoint_url=endpoint, region_name="us-east-1")
url = os.environ["STOWAGE_DATABASE_URL"].replace("postgres://", "postgresql://", 1)
def sql(query):
    return subprocess.run(["psql", url, "-tAc", query], capture_output=True, text=True, check=True).stdout.strip()

ecs.create_cluster(clusterName="scale")
started = time.time()
for i in range(instances):
    ecs.register_container_instance(cluster="scale", totalResources=[
        {"name": "CPU", "type": "INTEGER", "integerValue": 4096},
        {"name": "MEMORY", "type": "INTEGER", "integerValue": 16384},
    ], attributes=[{"name": "ecs.availability-zone", "value": "us-east-1" + "abc"[i % 3]}])
print(f"registered {instances} instances in {time.time() - started:.1f} s")
ecs.register_task_definition(family="web", containerDefinitions=[
    {"name": "web", "image": "busybox", "cpu": 128, "memory": 512, "portMappings": [{"containerPort": 80, "hostPort": 0}]}])
ecs.create_service(cluster="scale", serviceName="web", taskDefinition="web", desiredCount=0)
time.sleep(2)
count = lambda: int(sql(f"SELECT count(*) FROM tasks WHERE account_id = '{account}' AND service_name = 'web' AND instance_id IS NOT NULL"))
start = time.time()
ecs.update_service(cluster="scale", service="web", desiredCount=tasks)
placed = 0
while time.time() - start < 600:
    placed = count()
    if placed >= tasks:
        break
    time.sleep(0.05)
elapsed = time.time() - start
over = sql(f"""SELECT count(*) FROM (SELECT instance_id FROM tasks WHERE account_id = '{account}' AND instance_id IS NOT NULL
               GROUP BY instance_id HAVING sum(cpu) > 4096 OR sum(memory) > 16384) o""")
print(f"cores: {os.cpu_count()}")
print(f"scale-out: 0 -> {placed} tasks over {instances} instances, UpdateService to every task bound and persisted: "
      f"{elapsed:.2f} s = {placed / elapsed:.0f} tasks/s (over-committed instances: {over})")
PY
