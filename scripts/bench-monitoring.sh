#!/usr/bin/env bash
# Issue 5's figures, on this machine (release build, private PostgreSQL, one server, one worker):
#  1. metric datapoints ingested per second through the agent path (POST .../telemetry, 100 tasks);
#  2. GetMetricStatistics over one day at a 1-minute period of a series holding 100 tasks' samples a minute;
#  3. FilterLogEvents with a term over one million stored lines of a group (first page).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-env.sh
"$bin" worker > "$tmp/worker.log" 2>&1 &
pids+=($!)
echo "cores: $(nproc)"
python3 - "$port" "$account" <<'PY'
import json, statistics, sys, threading, time, urllib.request
from datetime import datetime, timedelta, timezone
import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
import os

port, account = sys.argv[1], sys.argv[2]
endpoint = f"http://127.0.0.1:{port}"
creds = Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
kw = dict(endpoint_url=endpoint, region_name="us-east-1")
ecs, cw, logs = boto3.client("ecs", **kw), boto3.client("cloudwatch", **kw), boto3.client("logs", **kw)

def post(path, body):
    data = json.dumps(body)
    req = AWSRequest(method="POST", url=endpoint + path, data=data, headers={"Content-Type": "application/json"})
    SigV4Auth(creds, "ecs", "us-east-1").add_auth(req)
    with urllib.request.urlopen(urllib.request.Request(endpoint + path, data=data.encode(), headers=dict(req.headers), method="POST")) as r:
        return json.load(r)

# 1. Ingest through the agent path: 100 tasks on one instance, shipments of 2,000 samples (the agent's
#    batch size), 4 senders.
ecs.create_cluster(clusterName="bench")
# Registered as an agent registers (raw JSON): the answer's instanceCredentials, which boto3 drops, is what the agent
# protocol takes for this instance.
registration = json.dumps({"cluster": "bench", "totalResources": [
    {"name": "CPU", "type": "INTEGER", "integerValue": 204800}, {"name": "MEMORY", "type": "INTEGER", "integerValue": 409600}]})
req = AWSRequest(method="POST", url=endpoint + "/", data=registration, headers={
    "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.RegisterContainerInstance"})
SigV4Auth(creds, "ecs", "us-east-1").add_auth(req)
with urllib.request.urlopen(urllib.request.Request(endpoint + "/", data=registration.encode(), headers=dict(req.headers), method="POST")) as r:
    registered = json.load(r)
inst_id = registered["containerInstance"]["containerInstanceArn"].split("/")[-1]
creds = Credentials(registered["instanceCredentials"]["accessKeyId"], registered["instanceCredentials"]["secretAccessKey"])
ecs.register_task_definition(family="b", containerDefinitions=[{"name": "c", "image": "busybox", "memory": 16, "cpu": 64}])
ecs.create_service(cluster="bench", serviceName="svc", taskDefinition="b", desiredCount=100)
deadline = time.time() + 120
while time.time() < deadline:
    tasks = []
    token = None
    while True:
        page = ecs.list_tasks(cluster="bench", serviceName="svc", **({"nextToken": token} if token else {}))
        tasks += page["taskArns"]
        token = page.get("nextToken")
        if not token:
            break
    if len(tasks) == 100:
        break
    time.sleep(0.5)
assert len(tasks) == 100, len(tasks)
path = f"/agent/v1/clusters/bench/container-instances/{inst_id}/telemetry"
base = int(time.time() * 1000) - 3600_000
senders, per_shipment, shipments = 4, 2000, 30
failures = []
def sender(n):
    for s in range(shipments):
        samples = []
        for i in range(per_shipment):
            k = (n * shipments + s) * per_shipment + i
            samples.append({"taskArn": tasks[k % 100], "containerName": "c", "timestamp": base + k // 100 * 10,
                            "cpuPercentOfHost": (k % 97) / 3, "cpuPercentOfReservation": k % 97, "memoryBytes": 1 << 20,
                            "memoryPercentOfReservation": 6.25, "networkRxBytes": k, "networkTxBytes": k})
        try:
            post(path, {"metrics": samples, "logs": [], "droppedLogLines": 0})
        except Exception as error:
            failures.append(error)
            return
started = time.perf_counter()
threads = [threading.Thread(target=sender, args=(n,)) for n in range(senders)]
[t.start() for t in threads]
[t.join() for t in threads]
elapsed = time.perf_counter() - started
assert not failures, failures
total = senders * per_shipment * shipments
print(f"ingest via agent path: {total} samples in {elapsed:.2f} s = {total / elapsed:,.0f} samples/s "
      f"({total * 8 / elapsed:,.0f} metric values/s; 8 values per sample)")

# 2. A day of one series at one minute, 100 samples (one per task) in every minute's sketch.
now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
dims = [{"Name": "ClusterName", "Value": "bench"}, {"Name": "ServiceName", "Value": "svc"}]
for chunk in range(0, 1440, 20):
    cw.put_metric_data(Namespace="Bench", MetricData=[
        {"MetricName": "CPUUtilization", "Dimensions": dims, "Timestamp": now - timedelta(minutes=1440 - m),
         "Values": [float((m * 31 + t * 7) % 100) for t in range(100)], "Unit": "Percent"} for m in range(chunk, chunk + 20)])
times = []
for _ in range(30):
    t0 = time.perf_counter()
    out = cw.get_metric_statistics(Namespace="Bench", MetricName="CPUUtilization", Dimensions=dims, StartTime=now - timedelta(days=1),
                                   EndTime=now, Period=60, Statistics=["Average", "Maximum"], ExtendedStatistics=["p99"])
    times.append((time.perf_counter() - t0) * 1000)
assert len(out["Datapoints"]) == 1440, len(out["Datapoints"])
times.sort()
# The same call as raw signed HTTP, without boto3's response parsing, to show the server's share.
from datetime import datetime as _dt
raw_body = json.dumps({"Namespace": "Bench", "MetricName": "CPUUtilization", "Dimensions": dims,
                       "StartTime": (now - timedelta(days=1)).timestamp(), "EndTime": now.timestamp(), "Period": 60,
                       "Statistics": ["Average", "Maximum"], "ExtendedStatistics": ["p99"]})
raw = []
for _ in range(30):
    req = AWSRequest(method="POST", url=endpoint + "/", data=raw_body, headers={
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "GraniteServiceVersion20100801.GetMetricStatistics"})
    SigV4Auth(creds, "monitoring", "us-east-1").add_auth(req)
    t0 = time.perf_counter()
    with urllib.request.urlopen(urllib.request.Request(endpoint + "/", data=raw_body.encode(), headers=dict(req.headers), method="POST")) as r:
        assert len(json.load(r)["Datapoints"]) == 1440
    raw.append((time.perf_counter() - t0) * 1000)
raw.sort()
print(f"GetMetricStatistics as raw signed HTTP (no boto3 parsing): p50 {raw[15]:.1f} ms, p90 {raw[27]:.1f} ms, max {raw[-1]:.1f} ms")
print(f"GetMetricStatistics 1 day @ 60 s (1440 datapoints, 100 samples/min, Average+Maximum+p99): "
      f"p50 {times[15]:.1f} ms, p90 {times[27]:.1f} ms, max {times[-1]:.1f} ms (30 calls, through boto3)")
PY
# 3. One million lines in one group (written in SQL: the ingest path was measured by bench-agent), 1 in 1,000 with the term.
psql "$(echo "$STOWAGE_DATABASE_URL" | sed 's|^postgres://|postgresql://|')" -q -c "
  INSERT INTO log_groups (account_id, group_name) VALUES ('$account', '/bench/app');
  INSERT INTO log_streams (account_id, group_name, stream_name) SELECT '$account', '/bench/app', 's' || i FROM generate_series(0, 9) i;
  INSERT INTO log_events (account_id, group_name, stream_name, ts, message)
  SELECT '$account', '/bench/app', 's' || (i % 10), now() - interval '6 hours' + i * interval '20 ms',
         CASE WHEN i % 1000 = 0 THEN 'ERROR payment declined order ' || i ELSE 'INFO GET /orders/' || i || ' 200 ' || (i % 300) || 'ms' END
  FROM generate_series(1, 1000000) i;
  ANALYZE log_events;"
python3 - "$port" <<'PY'
import sys, time, boto3
logs = boto3.client("logs", endpoint_url=f"http://127.0.0.1:{sys.argv[1]}", region_name="us-east-1")
for pattern, label in (("ERROR", "term in 1 of 1,000 lines"), ("GET", "term in most lines")):
    times = []
    for _ in range(10):
        t0 = time.perf_counter()
        page = logs.filter_log_events(logGroupName="/bench/app", filterPattern=pattern)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    print(f"FilterLogEvents '{pattern}' ({label}) over 1,000,000 lines, first page: {len(page['events'])} events, "
          f"next token {'yes' if page.get('nextToken') else 'no'}, p50 {times[5]:.0f} ms, max {times[-1]:.0f} ms")
PY
