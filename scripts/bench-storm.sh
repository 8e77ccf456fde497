#!/usr/bin/env bash
# A state-report storm: one agent (host processes, so 1,000 tasks fit one machine) scales a service
# 0 -> 1,000 -> 0 while an unrelated agent in another cluster idles with three tasks. Prints state reports per
# task transition, DescribeClusters latency on the unrelated cluster (idle baseline, then during the storm),
# the database pool's peak use, and whether the unrelated agent ever missed a heartbeat.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-env.sh
TASKS=${STOWAGE_STORM_TASKS:-1000}

"$bin" worker --poll-interval 0.2 > "$tmp/worker.log" 2>&1 &
pids+=($!)
for cluster in storm quiet; do
    "$bin" agent --endpoint "http://127.0.0.1:$port" --cluster "$cluster" --state-dir "$tmp/agent-$cluster" --driver process \
        --credentials-port 0 > "$tmp/agent-$cluster.log" 2>&1 &
    pids+=($!)
done

python3 - "http://127.0.0.1:$port" "$TASKS" "$tmp/worker.log" <<'PY'
import os, re, statistics, subprocess, sys, threading, time, urllib.request
import boto3
url = os.environ["STOWAGE_DATABASE_URL"].replace("postgres://", "postgresql://", 1)
sql = lambda q: subprocess.run(["psql", url, "-tAc", q], capture_output=True, text=True, check=True).stdout.strip()
endpoint, tasks, worker_log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ecs = boto3.client("ecs", endpoint_url=endpoint, region_name="us-east-1")

def metric(pattern):
    text = urllib.request.urlopen(endpoint + "/metrics").read().decode()
    return sum(float(v) for v in re.findall(pattern + r"\s+([0-9.e+]+)", text))

for cluster in ("storm", "quiet"):
    ecs.create_cluster(clusterName=cluster)
deadline = time.time() + 60
while not all(ecs.list_container_instances(cluster=c)["containerInstanceArns"] for c in ("storm", "quiet")):
    assert time.time() < deadline, "the agents did not register"
    time.sleep(0.2)
ecs.register_task_definition(family="sleeper", containerDefinitions=[
    {"name": "app", "image": "host", "memory": 6, "cpu": 0, "command": ["sleep", "3600"]}])
ecs.create_service(cluster="quiet", serviceName="steady", taskDefinition="sleeper", desiredCount=3)
quiet = lambda: ecs.describe_services(cluster="quiet", services=["steady"])["services"][0]["runningCount"]
while quiet() != 3:
    time.sleep(0.2)
quiet_tasks = set(ecs.list_tasks(cluster="quiet")["taskArns"])

def sample(seconds=None, stop=None):
    """DescribeClusters on the quiet cluster every 50 ms, and the pool's in-use gauge."""
    latencies, peak = [], 0.0
    end = time.time() + (seconds or 1e9)
    client = boto3.client("ecs", endpoint_url=endpoint, region_name="us-east-1")
    while time.time() < end and not (stop and stop.is_set()):
        t = time.time()
        client.describe_clusters(clusters=["quiet"])
        latencies.append(time.time() - t)
        peak = max(peak, metric(r'stowage_db_pool_connections_in_use(?:\{[^}]*\})?'))
        time.sleep(0.05)
    return latencies, peak

def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p * len(values))) - 1)] * 1000

baseline, base_peak = sample(seconds=10)
reports_before = metric(r'stowage_api_requests_total\{action="SubmitTaskStateChange",status="200"\}')
stop = threading.Event()
result = {}
sampler = threading.Thread(target=lambda: result.update(zip(("lat", "peak"), sample(stop=stop))))
sampler.start()
started = time.time()
ecs.create_service(cluster="storm", serviceName="burst", taskDefinition="sleeper", desiredCount=tasks)
running = lambda: ecs.describe_services(cluster="storm", services=["burst"])["services"][0]["runningCount"]
while running() < tasks:
    assert time.time() - started < 900, f"only {running()} of {tasks} tasks running after 15 minutes"
    time.sleep(1)
up = time.time() - started
ecs.update_service(cluster="storm", service="burst", desiredCount=0)
# Every task reported STOPPED by its agent.
while int(sql("SELECT count(*) FROM tasks WHERE cluster_name = 'storm' AND last_status <> 'STOPPED'")) > 0:
    assert time.time() - started < 1800, "the scale-in did not finish"
    time.sleep(1)
down = time.time() - started - up
time.sleep(3)
stop.set()
sampler.join()
reports = metric(r'stowage_api_requests_total\{action="SubmitTaskStateChange",status="200"\}') - reports_before
transitions = 2 * tasks  # each task reported RUNNING once and STOPPED once
instance = ecs.describe_container_instances(cluster="quiet", containerInstances=ecs.list_container_instances(cluster="quiet")["containerInstanceArns"])
connected = instance["containerInstances"][0]["agentConnected"]
quiet_after = set(ecs.list_tasks(cluster="quiet")["taskArns"])
missed = [l for l in open(worker_log) if "host-loss" in l and "quiet" in l]
print(f"cores: {os.cpu_count()}   agent driver: host processes   tasks: {tasks}")
print(f"scale-out 0 -> {tasks}: {up:.1f} s; scale-in {tasks} -> 0: {down:.1f} s")
print(f"state reports: {reports:.0f} for {transitions} task transitions = {reports / transitions:.3f} reports per transition (target <= 1.1)")
print(f"DescribeClusters (unrelated cluster): idle p50 {statistics.median(baseline)*1000:.1f} ms p99 {pct(baseline, .99):.1f} ms; "
      f"during the storm p50 {statistics.median(result['lat'])*1000:.1f} ms p99 {pct(result['lat'], .99):.1f} ms "
      f"max {max(result['lat'])*1000:.1f} ms over {len(result['lat'])} calls (target p99 < 250 ms); "
      f"p99 ratio storm/idle {pct(result['lat'], .99) / pct(baseline, .99):.2f}")
print(f"database pool in use: idle peak {base_peak:.0f}, storm peak {result['peak']:.0f} of 16")
print(f"unrelated agent: connected {connected}, its 3 tasks unchanged {quiet_after == quiet_tasks}, host-loss lines about it {len(missed)}")
assert connected and quiet_after == quiet_tasks and not missed, "the unrelated agent missed heartbeats"
PY
