#!/usr/bin/env bash
# The agent on Podman, release build: RunTask -> RUNNING latency over 50 tasks, then for a 5 MB image from
# the local registry (pulled, and cached) against the registry transfer alone, the agent's RSS and CPU while
# it runs 30 tasks, and log lines per second from a container into PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-env.sh

socket=$(scripts/podman.sh start "$tmp/podman")
export CONTAINERS_CONF="$tmp/podman/containers.conf"
export CONTAINERS_REGISTRIES_CONF="$tmp/podman/registries.conf"
registry=$(scripts/registry.sh start "$tmp/registry" 5055)
"$bin" worker --poll-interval 0.2 > "$tmp/worker.log" 2>&1 &
pids+=($!)
"$bin" agent --endpoint "http://127.0.0.1:$port" --cluster bench --state-dir "$tmp/agent" --docker-socket "$socket" \
    --port-range 51000-51999 --log-buffer-lines 1000000 > "$tmp/agent.log" 2>&1 &
agent_pid=$!
pids+=($agent_pid)
podman_cleanup() {
    ids=$(podman ps -aq --filter label=stowage.task 2>/dev/null || true)
    [ -n "$ids" ] && podman rm -f $ids >/dev/null 2>&1
    scripts/podman.sh stop "$tmp/podman"
    scripts/registry.sh stop "$tmp/registry"
}

python3 - "http://127.0.0.1:$port" "$account" "$agent_pid" "$registry" "$tmp" <<'PY' || { podman_cleanup; exit 1; }
import os, statistics, subprocess, sys, time
import boto3
endpoint, account, agent_pid, registry, tmp = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
ecs = boto3.client("ecs", endpoint_url=endpoint, region_name="us-east-1")
url = os.environ["STOWAGE_DATABASE_URL"].replace("postgres://", "postgresql://", 1)
sql = lambda q: subprocess.run(["psql", url, "-tAc", q], capture_output=True, text=True, check=True).stdout.strip()

ecs.create_cluster(clusterName="bench")
deadline = time.time() + 60
while not ecs.list_container_instances(cluster="bench")["containerInstanceArns"]:
    assert time.time() < deadline, "the agent did not register"
    time.sleep(0.2)
ecs.register_task_definition(family="sleeper", containerDefinitions=[
    {"name": "app", "image": "localhost/busybox:latest", "memory": 8, "command": ["sleep", "3600"]}])

latencies = []
for _ in range(50):
    start = time.time()
    arn = ecs.run_task(cluster="bench", taskDefinition="sleeper")["tasks"][0]["taskArn"]
    while ecs.describe_tasks(cluster="bench", tasks=[arn])["tasks"][0]["lastStatus"] != "RUNNING":
        assert time.time() - start < 60, "a task did not reach RUNNING"
        time.sleep(0.02)
    latencies.append(time.time() - start)
latencies.sort()
p99 = latencies[min(len(latencies) - 1, int(round(0.99 * len(latencies))) - 1)]
print(f"cores: {os.cpu_count()}   engine: podman (Docker-compatible API), image local")
print(f"RunTask -> RUNNING over 50 tasks: p50 {statistics.median(latencies):.3f} s, p99 {p99:.3f} s, max {latencies[-1]:.3f} s")

def percentiles(samples):
    samples = sorted(samples)
    return statistics.median(samples), samples[min(len(samples) - 1, int(round(0.99 * len(samples))) - 1)]

def run_to_running(family):
    start = time.time()
    arn = ecs.run_task(cluster="bench", taskDefinition=family)["tasks"][0]["taskArn"]
    while ecs.describe_tasks(cluster="bench", tasks=[arn])["tasks"][0]["lastStatus"] != "RUNNING":
        assert time.time() - start < 120, "a task did not reach RUNNING"
        time.sleep(0.02)
    elapsed = time.time() - start
    ecs.stop_task(cluster="bench", task=arn)
    return elapsed

# A 5 MB image (busybox and 4 MiB of random bytes) in the local registry, with no local copy of its layers.
podman = lambda *a: subprocess.run(["podman", *a], capture_output=True, text=True, check=True).stdout.strip()
with open(f"{tmp}/blob", "wb") as f:
    f.write(os.urandom(4 << 20))
ctr = podman("create", "localhost/busybox:latest", "true")
podman("cp", f"{tmp}/blob", f"{ctr}:/blob")
podman("commit", ctr, "localhost/bench-5mb:1")
podman("rm", ctr)
image = f"{registry}/bench/five:1"
podman("push", "--tls-verify=false", "localhost/bench-5mb:1", image)
podman("rmi", "localhost/bench-5mb:1")
size = sum(int(l) for l in podman("image", "inspect", "localhost/busybox:latest", "--format", "{{.Size}}").split()) + (4 << 20)
ecs.register_task_definition(family="five", containerDefinitions=[
    {"name": "app", "image": image, "memory": 8, "command": ["sleep", "3600"]}])
drop = lambda: subprocess.run(["podman", "rmi", "-f", image], capture_output=True)
transfer, pulled, cached = [], [], []
for _ in range(10):
    drop()
    start = time.time()
    podman("pull", "--tls-verify=false", image)
    transfer.append(time.time() - start)
    drop()
    pulled.append(run_to_running("five"))
    cached.append(run_to_running("five"))
t50, t99 = percentiles(transfer)
p50, p99 = percentiles(pulled)
c50, c99 = percentiles(cached)
print(f"5 MB image ({size / 1e6:.1f} MB) from the local registry, 10 runs each:")
print(f"  registry transfer alone (podman pull): p50 {t50:.3f} s, p99 {t99:.3f} s")
print(f"  RunTask -> RUNNING, image pulled: p50 {p50:.3f} s, p99 {p99:.3f} s")
print(f"  RunTask -> RUNNING, image cached: p50 {c50:.3f} s, p99 {c99:.3f} s")
print(f"  what the pull adds (pulled - cached p50): {p50 - c50:.3f} s = {100 * (p50 - c50) / t50:.0f}% of the transfer alone")

running = ecs.list_tasks(cluster="bench")["taskArns"]
for arn in running[30:]:
    ecs.stop_task(cluster="bench", task=arn)
while len(ecs.list_tasks(cluster="bench")["taskArns"]) != 30:
    time.sleep(0.2)
time.sleep(5)
def cpu_and_rss():
    stat = open(f"/proc/{agent_pid}/stat").read().rsplit(")", 1)[1].split()
    rss = next(int(l.split()[1]) for l in open(f"/proc/{agent_pid}/status") if l.startswith("VmRSS:"))
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK"), rss / 1024
cpu0, _ = cpu_and_rss()
time.sleep(30)
cpu1, rss = cpu_and_rss()
print(f"agent with 30 tasks, 30 s without state changes: RSS {rss:.1f} MB, CPU {100 * (cpu1 - cpu0) / 30:.2f}% of one core "
      f"(default settings: telemetry every 10 s, monitor every 1 s)")

for arn in ecs.list_tasks(cluster="bench")["taskArns"]:
    ecs.stop_task(cluster="bench", task=arn)
lines = 200000
ecs.register_task_definition(family="talker", containerDefinitions=[
    {"name": "talk", "image": "localhost/busybox:latest", "memory": 32, "command": ["sh", "-c", f"seq 1 {lines}; sleep 3600"],
     "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/bench", "awslogs-stream-prefix": "b"}}}])
start = time.time()
arn = ecs.run_task(cluster="bench", taskDefinition="talker")["tasks"][0]["taskArn"]
stored = 0
while time.time() - start < 300:
    stored = int(sql(f"SELECT count(*) FROM log_events WHERE account_id = '{account}' AND group_name = '/bench'"))
    if stored >= lines:
        break
    time.sleep(0.1)
elapsed = time.time() - start
first, last = sql(f"SELECT extract(epoch FROM min(ingested_at)), extract(epoch FROM max(ingested_at)) FROM log_events "
                  f"WHERE account_id = '{account}' AND group_name = '/bench'").split("|")
ingest = float(last) - float(first)
print(f"log ingest: {stored} lines from a container into PostgreSQL in {elapsed:.1f} s after RunTask; "
      f"{stored / max(ingest, 0.001):.0f} lines/s from first to last stored")
PY
podman_cleanup
