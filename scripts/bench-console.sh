#!/usr/bin/env bash
# Issue 16: the console's services view with 200 services and 2,000 tasks, in headless Chromium: first
# contentful paint and the time until the table holds all 200 services (median of RUNS fresh page loads),
# against the same view of an empty account in the same run; and the size of what the console ships (every
# file gzip-compressed as the server sends it) and of what the services view downloads.
set -euo pipefail
cd "$(dirname "$0")/.."
SERVICES=${SERVICES:-200}
PER_SERVICE=${PER_SERVICE:-10}
RUNS=${RUNS:-7}
source scripts/bench-env.sh

"$bin" worker --poll-interval 0.2 > "$tmp/worker.log" 2>&1 &
pids+=($!)
empty=$("$bin" admin create-account --name empty)

python3 - "http://127.0.0.1:$port" "$SERVICES" "$PER_SERVICE" "$RUNS" "$account" "$empty" <<'PY'
import os, statistics, subprocess, sys, time, urllib.request
sys.path.insert(0, "pytests")
import boto3
from console_browser import open_browser, sign_in, wait

endpoint, services, per_service, runs, account, empty = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
ecs = boto3.client("ecs", endpoint_url=endpoint, region_name="us-east-1")
url = os.environ["STOWAGE_DATABASE_URL"].replace("postgres://", "postgresql://", 1)
def sql(query):
    return subprocess.run(["psql", url, "-tAc", query], capture_output=True, text=True, check=True).stdout.strip()

ecs.create_cluster(clusterName="bench")
for i in range(20):
    ecs.register_container_instance(cluster="bench", totalResources=[
        {"name": "CPU", "type": "INTEGER", "integerValue": 65536}, {"name": "MEMORY", "type": "INTEGER", "integerValue": 262144}])
ecs.register_task_definition(family="web", containerDefinitions=[{"name": "web", "image": "busybox", "cpu": 16, "memory": 16}])
for i in range(services):
    ecs.create_service(cluster="bench", serviceName=f"svc-{i:03d}", taskDefinition="web", desiredCount=per_service)
want = services * per_service
deadline = time.time() + 600
while time.time() < deadline and int(sql(f"SELECT count(*) FROM tasks WHERE account_id = '{account}' AND instance_id IS NOT NULL")) < want:
    time.sleep(1)
tasks = int(sql(f"SELECT count(*) FROM tasks WHERE account_id = '{account}'"))
print(f"seeded: {services} services, {tasks} tasks placed on 20 instances")

def measure(key, secret, rows):
    driver = open_browser()
    try:
        sign_in(driver, f"{endpoint}/console", key, secret)
        fcp, ready, transferred = [], [], []
        for _ in range(runs):
            driver.get("about:blank")
            driver.get(f"{endpoint}/console#/services")
            wait(driver, 60).until(lambda d: d.execute_script("return performance.getEntriesByName('stowage:services-rendered').length > 0"))
            assert len(driver.find_elements("css selector", "#services-body tbody tr")) == rows or rows == 0
            fcp.append(driver.execute_script("const p = performance.getEntriesByName('first-contentful-paint')[0]; return p ? p.startTime : null"))
            ready.append(driver.execute_script("return performance.getEntriesByName('stowage:services-rendered')[0].startTime"))
            transferred.append(driver.execute_script("""
                const all = performance.getEntriesByType('resource').concat(performance.getEntriesByType('navigation'));
                const api = all.filter(e => e.name.includes('/console/api/'));
                const sum = (list) => list.reduce((n, e) => n + (e.encodedBodySize || 0), 0);
                return [sum(all) - sum(api), sum(api), api.length];"""))
        return statistics.median(fcp), statistics.median(ready), max(transferred, key=lambda t: t[0] + t[1])
    finally:
        driver.quit()

key, secret = os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]
empty_keys = dict(line.split(" = ", 1) for line in empty.splitlines())
base_fcp, base_ready, _ = measure(empty_keys["aws_access_key_id"], empty_keys["aws_secret_access_key"], 0)
fcp, ready, transferred = measure(key, secret, services)

shipped = 0
files = 0
for root, _, names in os.walk("console"):
    for name in names:
        path = os.path.join(root, name)
        if not name.endswith((".html", ".js", ".css", ".svg")):
            continue
        request = urllib.request.Request(f"{endpoint}/{path}", headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request) as response:
            shipped += len(response.read())
            files += 1
cores = os.cpu_count()
print(f"FIGURE console first contentful paint, services view, {services} services / {tasks} tasks: {fcp:.0f} ms (empty account {base_fcp:.0f} ms) on {cores} cores")
print(f"FIGURE console services view complete ({services} rows): {ready:.0f} ms; empty account {base_ready:.0f} ms; ratio {ready / max(base_ready, 1):.2f}x (median of {runs} loads)")
assets, data, calls = transferred
print(f"FIGURE console shipped: {files} files, {shipped / 1024:.1f} KiB gzip in all; the services view loads {assets / 1024:.1f} KiB of them (Chart.js only where a chart is drawn) and {data / 1024:.1f} KiB of API answers in {calls} calls")
PY
