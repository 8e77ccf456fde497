#!/usr/bin/env bash
# make bench-lb (issue 15): three busybox httpd tasks of a service behind a Stowage load balancer (HAProxy run by
# `stowage lb`). Requests/s and p99 through the load balancer against the same three tasks hit directly, in
# alternating wrk rounds; the time from a new task reaching RUNNING to its first proxied answer; and the time
# from StopTask to the end of routing to it (deregistration delay 0).
set -euo pipefail
cd "$(dirname "$0")/.."
CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
SAMPLES=${SAMPLES:-10}
source scripts/bench-env.sh

socket=$(scripts/podman.sh start "$tmp/podman")
export CONTAINERS_CONF="$tmp/podman/containers.conf"
export CONTAINERS_REGISTRIES_CONF="$tmp/podman/registries.conf"
podman_cleanup() {
    ids=$(podman ps -aq --filter label=stowage.task 2>/dev/null || true)
    [ -n "$ids" ] && podman rm -f $ids >/dev/null 2>&1
    scripts/podman.sh stop "$tmp/podman"
}
endpoint="http://127.0.0.1:$port"
"$bin" worker --poll-interval 0.2 > "$tmp/worker.log" 2>&1 &
pids+=($!)
"$bin" lb --state-dir "$tmp/lb" --interval 0.5 --stop-on-exit > "$tmp/lb.log" 2>&1 &
pids+=($!)
"$bin" agent --endpoint "$endpoint" --cluster bench --state-dir "$tmp/agent" --docker-socket "$socket" \
    --port-range 51000-51999 > "$tmp/agent.log" 2>&1 &
pids+=($!)

python3 - "$endpoint" "$tmp" "$SAMPLES" <<'PY' || { podman_cleanup; exit 1; }
import json, os, statistics, sys, time, urllib.request
import boto3
endpoint, tmp, samples = sys.argv[1], sys.argv[2], int(sys.argv[3])
kw = dict(endpoint_url=endpoint, region_name="us-east-1")
ecs, elb = boto3.client("ecs", **kw), boto3.client("elbv2", **kw)
ecs.create_cluster(clusterName="bench")
deadline = time.time() + 60
while not ecs.list_container_instances(cluster="bench")["containerInstanceArns"]:
    assert time.time() < deadline, "the agent did not register"
    time.sleep(0.2)
lb = elb.create_load_balancer(Name="bench")["LoadBalancers"][0]
tg = elb.create_target_group(Name="bench", Protocol="HTTP", Port=8080, TargetType="instance", HealthCheckPath="/health",
                             HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=2, HealthyThresholdCount=2,
                             UnhealthyThresholdCount=2)["TargetGroups"][0]["TargetGroupArn"]
elb.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "0"}])
elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=18100, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
script = "mkdir -p /www && hostname > /www/id && echo ok > /www/health && head -c 512 /dev/zero | tr '\\0' x > /www/index.html && exec httpd -f -p 8080 -h /www"
ecs.register_task_definition(family="web", containerDefinitions=[{"name": "web", "image": "localhost/busybox:latest", "memory": 32,
    "command": ["sh", "-c", script], "portMappings": [{"containerPort": 8080, "hostPort": 0}]}])
ecs.create_service(cluster="bench", serviceName="web", taskDefinition="web", desiredCount=3,
                   loadBalancers=[{"targetGroupArn": tg, "containerName": "web", "containerPort": 8080}])

def health():
    return [d for d in elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]]
deadline = time.time() + 180
while len([d for d in health() if d["TargetHealth"]["State"] == "healthy"]) < 3:
    assert time.time() < deadline, "the targets did not become healthy"
    time.sleep(0.5)
ports = [d["Target"]["Port"] for d in health()]
# Direct requests go where the load balancer sends them: the host address the agent reports, and each host port.
instance = ecs.describe_container_instances(cluster="bench", containerInstances=ecs.list_container_instances(cluster="bench")["containerInstanceArns"])
address = {a["name"]: a.get("value") for a in instance["containerInstances"][0]["attributes"]}["stowage.host-address"]
json.dump({"lb": f"http://{lb['DNSName']}:18100/index.html", "direct": [f"http://{address}:{p}/index.html" for p in ports]},
          open(f"{tmp}/targets.json", "w"))

def answer(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.read().decode().strip()
    except Exception:
        return None

lb_id = f"http://{lb['DNSName']}:18100/id"
running_to_served, stop_to_unrouted = [], []
for n in range(samples):
    # One more task: from RUNNING (as DescribeTasks says) to its first answer through the load balancer.
    before = set(ecs.list_tasks(cluster="bench", serviceName="web")["taskArns"])
    ecs.update_service(cluster="bench", service="web", desiredCount=4)
    new = None
    while not new:
        arns = set(ecs.list_tasks(cluster="bench", serviceName="web")["taskArns"]) - before
        tasks = ecs.describe_tasks(cluster="bench", tasks=list(arns))["tasks"] if arns else []
        new = next((t for t in tasks if t["lastStatus"] == "RUNNING"), None)
        time.sleep(0.02)
    running = time.time()
    container = new["containers"][0]
    host_port = container["networkBindings"][0]["hostPort"]
    own = answer(f"http://127.0.0.1:{host_port}/id")
    while answer(lb_id) != own:
        assert time.time() - running < 60, "the new task never answered through the load balancer"
    running_to_served.append(time.time() - running)
    # StopTask on it: from the call to the last time the load balancer routes to it.
    stop = time.time()
    ecs.stop_task(cluster="bench", task=new["taskArn"])
    last = stop
    while time.time() - last < 2:
        if answer(lb_id) == own:
            last = time.time()
    stop_to_unrouted.append(last - stop)
    ecs.update_service(cluster="bench", service="web", desiredCount=3)
    while len(ecs.list_tasks(cluster="bench", serviceName="web")["taskArns"]) != 3:
        time.sleep(0.2)
p = lambda xs: (statistics.median(xs), sorted(xs)[-1])
print(f"new task RUNNING -> first proxied answer over {samples}: p50 {p(running_to_served)[0]:.2f} s, max {p(running_to_served)[1]:.2f} s (target < 2 s p50)")
print(f"StopTask -> last proxied answer from it over {samples}: p50 {p(stop_to_unrouted)[0]:.2f} s, max {p(stop_to_unrouted)[1]:.2f} s (target < 1 s)")
PY

measure() { wrk_measure "$1" "$2"; }
# The largest p99 of several wrk runs, in ms (wrk prints us, ms or s).
max_p99() { awk '{v = $2; if (v ~ /us$/) {sub(/us$/, "", v); v /= 1000} else if (v ~ /ms$/) {sub(/ms$/, "", v)} else if (v ~ /s$/) {sub(/s$/, "", v); v *= 1000}
                   if (v + 0 > m) m = v + 0} END {printf "%.1fms", m}'; }
lb_url=$(python3 -c "import json; print(json.load(open('$tmp/targets.json'))['lb'])")
mapfile -t direct < <(python3 -c "import json; print('\n'.join(json.load(open('$tmp/targets.json'))['direct']))")
per=$((CONNECTIONS / ${#direct[@]}))
echo "cores: $(nproc)   connections: $CONNECTIONS   duration: $DURATION x $ROUNDS rounds each; 3 busybox httpd tasks, 512-byte page"
# One wrk per URL, all together, $per connections each: "summed req/s, largest p99".
together() {
    local i=0 runs=()
    for url in "$@"; do measure "$per" "$url" > "$tmp/run-$i" & runs+=($!); i=$((i + 1)); done
    wait "${runs[@]}"
    echo "$(cat "$tmp"/run-* | awk '{s += $1} END {printf "%.2f", s}') $(cat "$tmp"/run-* | max_p99)"
    rm -f "$tmp"/run-*
}
lb_urls=(); for _ in "${direct[@]}"; do lb_urls+=("$lb_url"); done
lb_rps=(); direct_rps=()
for round in $(seq "$ROUNDS"); do
    # Both sides get the same client, one wrk per task: through the load balancer they all go to its one address,
    # directly each goes to one task.
    read -r l_rps l_p99 <<<"$(together "${lb_urls[@]}")"
    read -r d_rps d_p99 <<<"$(together "${direct[@]}")"
    printf 'round %d: through the load balancer %10s req/s p99 %8s | the same 3 tasks directly %10s req/s p99 %8s\n' \
        "$round" "$l_rps" "$l_p99" "$d_rps" "$d_p99"
    lb_rps+=("$l_rps"); direct_rps+=("$d_rps")
done
python3 - "${lb_rps[*]}" "${direct_rps[*]}" <<'PY'
import statistics, sys
l = statistics.median(float(x) for x in sys.argv[1].split())
d = statistics.median(float(x) for x in sys.argv[2].split())
print(f"median: load balancer {l:,.0f} req/s, direct {d:,.0f} req/s = {100 * l / d:.0f}% (target >= 80%)")
PY
podman_cleanup
