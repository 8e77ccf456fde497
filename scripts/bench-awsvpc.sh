#!/usr/bin/env bash
# make bench-awsvpc (issue 25): what awsvpc costs. (1) RunTask -> RUNNING (the task's startedAt - createdAt) p50 for
# awsvpc and bridge tasks of the same image, alternating in one run on one agent. (2) Requests/s from inside one awsvpc
# task's network namespace (wrk, nsenter into its holder) to an awsvpc task on the same host and to one on another
# host (two hosts: network namespaces on a bridge of this script's own, each with its own Podman and agent), in
# alternating rounds. Needs root (network namespaces, routes).
set -euo pipefail
cd "$(dirname "$0")/.."
SAMPLES=${SAMPLES:-10}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-16}
source scripts/bench-env.sh
echo "machine: $(nproc) cores; binary: $bin"

suffix=$((RANDOM % 1000))
br="stwbb$suffix"; net="10.202.$((RANDOM % 200)).0"; base=${net%.0}
hosts=(); sockets=(); podmans=()
netcleanup() {
    # Twice: a task's network holder is removed only once the containers sharing its namespace are gone.
    for h in "${hosts[@]}" "${hosts[@]}"; do
        ids=$(curl -s --unix-socket "$tmp/$h/podman.sock" "http://d/v1.41/containers/json?all=true&filters=%7B%22label%22%3A%5B%22stowage.task%22%5D%7D" \
            | python3 -c 'import json,sys; print(" ".join(c["Id"] for c in json.load(sys.stdin)))' 2>/dev/null || true)
        for id in $ids; do curl -s --unix-socket "$tmp/$h/podman.sock" -X DELETE "http://d/v1.41/containers/$id?force=true" >/dev/null; done
    done
    for p in "${podmans[@]}"; do kill "$p" 2>/dev/null || true; done
    for h in "${hosts[@]}"; do ip netns delete "$h" 2>/dev/null || true; ip link delete "${h}v" 2>/dev/null || true; done
    ip link delete "$br" 2>/dev/null || true
}
trap 'netcleanup; cleanup' EXIT

# The hosts' Podman services get scripts/podman.sh's settings (runc, cgroupfs, ulimits within the hard limits).
export CONTAINERS_CONF=$(scripts/podman.sh conf "$tmp/podman")
export CONTAINERS_REGISTRIES_CONF="$tmp/podman/registries.conf"
endpoint_local="http://127.0.0.1:$port"
"$bin" worker --poll-interval 0.2 > "$tmp/worker.log" 2>&1 &
pids+=($!)
"$bin" lb --state-dir "$tmp/lb" --interval 0.5 --stop-on-exit > "$tmp/lb.log" 2>&1 &
pids+=($!)

# Two hosts on a bridge; a second server on the bridge address (the agents in the namespaces reach it there).
ip link add "$br" type bridge && ip addr add "$base.1/24" dev "$br" && ip link set "$br" up
"$bin" server --host "$base.1" --port "$port" --allow-plain-http > "$tmp/server-bridge.log" 2>&1 &
pids+=($!)
for i in 1 2; do
    h="stwb${suffix}h$i"; hosts+=("$h"); mkdir -p "$tmp/$h"
    ip netns add "$h"
    ip link add "${h}v" type veth peer name eth0 netns "$h"
    ip link set "${h}v" master "$br" up
    ip netns exec "$h" ip addr add "$base.$((10 + i))/24" dev eth0
    ip netns exec "$h" ip link set eth0 up
    ip netns exec "$h" ip link set lo up
    ip netns exec "$h" ip route add default via "$base.1"
    ip netns exec "$h" sysctl -qw net.ipv4.ip_forward=1
    (cd "$tmp/$h" && exec nsenter --net=/var/run/netns/$h podman system service --time=0 "unix://$tmp/$h/podman.sock") > "$tmp/$h/podman.log" 2>&1 &
    podmans+=($!)
    sockets+=("$tmp/$h/podman.sock")
done
for s in "${sockets[@]}"; do for _ in $(seq 100); do [ -S "$s" ] && break; sleep 0.2; done; done
for _ in $(seq 100); do curl -sf "http://$base.1:$port/healthz" >/dev/null && break; sleep 0.1; done
for i in 0 1; do
    nsenter --net=/var/run/netns/${hosts[$i]} "$bin" agent --endpoint "http://$base.1:$port" --allow-plain-http --cluster bench \
        --state-dir "$tmp/${hosts[$i]}/agent" --docker-socket "${sockets[$i]}" --zone "z$i" --port-range "5$((1 + i))000-5$((1 + i))999" \
        --credentials-port 0 --capacity-provider FARGATE > "$tmp/${hosts[$i]}/agent.log" 2>&1 &
    pids+=($!)
done

python3 - "$endpoint_local" "$SAMPLES" "$ROUNDS" "$DURATION" "$CONNECTIONS" "${sockets[0]}" <<'PY'
import json, statistics, subprocess, sys, time, urllib.request, http.client, socket as s
import boto3
endpoint, samples, rounds, duration, connections, socket0 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
ecs = boto3.client("ecs", endpoint_url=endpoint, region_name="us-east-1")
ecs.create_cluster(clusterName="bench")
deadline = time.time() + 90
while len(ecs.list_container_instances(cluster="bench")["containerInstanceArns"]) < 2:
    assert time.time() < deadline, "the two agents did not register"
    time.sleep(0.3)
web = "mkdir -p /www && head -c 512 /dev/zero | tr '\\0' x > /www/index.html && exec httpd -f -p 8080 -h /www"
for mode in ("awsvpc", "bridge"):
    ecs.register_task_definition(family=f"t-{mode}", networkMode=mode, containerDefinitions=[{
        "name": "web", "image": "localhost/busybox:latest", "memory": 32, "command": ["sh", "-c", web],
        "portMappings": [{"containerPort": 8080, **({} if mode == "awsvpc" else {"hostPort": 0})}]}])
zone_a = [{"type": "memberOf", "expression": "attribute:ecs.availability-zone == z0"}]

def run(mode, constraints=zone_a):
    arn = ecs.run_task(cluster="bench", taskDefinition=f"t-{mode}", placementConstraints=constraints)["tasks"][0]["taskArn"]
    deadline = time.time() + 120
    while True:
        t = ecs.describe_tasks(cluster="bench", tasks=[arn])["tasks"][0]
        if t["lastStatus"] == "RUNNING":
            return t
        assert t["lastStatus"] != "STOPPED" and time.time() < deadline, t.get("stoppedReason")
        time.sleep(0.1)

# (1) RunTask -> RUNNING, alternating modes, on host 1.
run("awsvpc"); run("bridge")  # warm: images, the pause image, the task network
latency = {"awsvpc": [], "bridge": []}
for _ in range(samples):
    for mode in ("awsvpc", "bridge"):
        t = run(mode)
        latency[mode].append((t["startedAt"] - t["createdAt"]).total_seconds() * 1000)
        ecs.stop_task(cluster="bench", task=t["taskArn"])
p50 = {m: statistics.median(v) for m, v in latency.items()}
print(f"FIGURE run-to-running p50: awsvpc {p50['awsvpc']:.0f} ms, bridge {p50['bridge']:.0f} ms, awsvpc adds {p50['awsvpc'] - p50['bridge']:.0f} ms "
      f"({samples} samples each, alternating)")

# (2) Requests/s from a client awsvpc task on host 1 to a server on host 1 and one on host 2.
def address(t):
    return next(d["value"] for a in t["attachments"] for d in a["details"] if d["name"] == "privateIPv4Address")
client = run("awsvpc")
local = run("awsvpc")
remote = run("awsvpc", [{"type": "memberOf", "expression": "attribute:ecs.availability-zone == z1"}])
def holder_pid(task):
    req = f"http://d/v1.41/containers/json?all=true&filters=" + urllib.request.quote(json.dumps({"label": [f"stowage.task={task['taskArn']}", "stowage.container=~network"]}))
    out = subprocess.run(["curl", "-s", "--unix-socket", socket0, req], capture_output=True, text=True).stdout
    cid = json.loads(out)[0]["Id"]
    info = json.loads(subprocess.run(["curl", "-s", "--unix-socket", socket0, f"http://d/v1.41/containers/{cid}/json"], capture_output=True, text=True).stdout)
    return info["State"]["Pid"]
pid = holder_pid(client)
def wrk(ip):
    # Until routes are in (agents refresh every 5 s) the first connection may fail: wait for an answer first.
    for _ in range(60):
        if subprocess.run(["nsenter", f"--net=/proc/{pid}/ns/net", "curl", "-sf", "-m", "2", "-o", "/dev/null", f"http://{ip}:8080/"]).returncode == 0:
            break
        time.sleep(0.5)
    out = subprocess.run(["nsenter", f"--net=/proc/{pid}/ns/net", "wrk", "-t1", f"-c{connections}", f"-d{duration}", f"http://{ip}:8080/"],
                         capture_output=True, text=True).stdout
    return float(next(l.split()[1] for l in out.splitlines() if l.startswith("Requests/sec")))
same, cross = [], []
for _ in range(rounds):
    same.append(wrk(address(local)))
    cross.append(wrk(address(remote)))
print(f"FIGURE task-to-task requests/s: same host {statistics.median(same):.0f}, other host {statistics.median(cross):.0f}, "
      f"ratio {statistics.median(cross) / statistics.median(same) * 100:.0f}% ({rounds} alternating rounds of {duration}, {connections} connections, wrk in the client task's namespace)")
PY
