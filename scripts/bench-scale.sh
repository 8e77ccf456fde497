#!/usr/bin/env bash
# End-to-end scale-out: a service goes from 0 to TASKS tasks over INSTANCES instances, timed from
# UpdateService to every task bound to an instance and persisted. Release server and worker processes.
set -euo pipefail
cd "$(dirname "$0")/.."
INSTANCES=${INSTANCES:-1000}
TASKS=${TASKS:-10000}
source scripts/bench-env.sh

"$bin" worker --poll-interval 0.2 > "$tmp/worker.log" 2>&1 &
pids+=($!)

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
