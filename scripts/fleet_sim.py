#!/usr/bin/env python3
"""A simulated fleet for `make bench-fleet`: N lightweight agents speaking the real agent protocol over HTTP
(RegisterContainerInstance, the long poll, state reports), services scaled from 0 to T tasks, and an unrelated
DescribeClusters probe meanwhile. One asyncio process holds every agent's connection; requests are signed with
SigV4 here (hashlib/hmac) to keep the simulator's CPU small beside the server's.

Prints one JSON line: seconds until every task is RUNNING as the agents report it, tasks/s end to end, the
server's CPU seconds and peak RSS during the burst, and the probe's p50/p99."""
import asyncio
import datetime
import hashlib
import hmac
import json
import os
import random
import sys
import time
import urllib.parse

ENDPOINT, KEY, SECRET = sys.argv[1], sys.argv[2], sys.argv[3]
INSTANCES, TASKS, SERVER_PID = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
REGION = "us-east-1"
HOST = urllib.parse.urlparse(ENDPOINT).hostname
PORT = urllib.parse.urlparse(ENDPOINT).port
CLUSTER = "fleet"
PER_SERVICE = 10_000


def sign(method, path, query, body, headers, key=None, secret=None):
    """SigV4 as botocore signs: with the tenant's key to register, then with the instance's own credential."""
    key, secret = key or KEY, secret or SECRET
    now = datetime.datetime.now(datetime.timezone.utc)
    amz, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    headers = dict(headers, **{"host": f"{HOST}:{PORT}", "x-amz-date": amz,
                               "x-amz-content-sha256": hashlib.sha256(body).hexdigest()})
    names = sorted(headers)
    pairs = sorted(urllib.parse.parse_qsl(query, keep_blank_values=True))
    canonical_query = "&".join(f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}" for k, v in pairs)
    canonical = "\n".join([method, path, canonical_query, "".join(f"{n}:{headers[n].strip()}\n" for n in names),
                           ";".join(names), headers["x-amz-content-sha256"]])
    scope = f"{day}/{REGION}/ecs/aws4_request"
    to_sign = f"AWS4-HMAC-SHA256\n{amz}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    signing = ("AWS4" + secret).encode()
    for part in (day, REGION, "ecs", "aws4_request"):
        signing = hmac.new(signing, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(signing, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = f"AWS4-HMAC-SHA256 Credential={key}/{scope}, SignedHeaders={';'.join(names)}, Signature={signature}"
    return headers


class Connection:
    """One keep-alive HTTP/1.1 connection, as an agent holds one."""

    def __init__(self):
        self.reader = self.writer = None
        # The instance's own credential once registered (the agent protocol takes no other).
        self.key = self.secret = None

    async def request(self, method, path, query="", body=b"", headers=None):
        for attempt in range(5):
            try:
                if self.writer is None:
                    self.reader, self.writer = await asyncio.open_connection(HOST, PORT, limit=1 << 24)
                signed = sign(method, path, query, body, headers or {}, self.key, self.secret)
                target = path + ("?" + query if query else "")
                head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in signed.items())
                head += f"content-length: {len(body)}\r\n\r\n"
                self.writer.write(head.encode() + body)
                status_line = await self.reader.readline()
                status = int(status_line.split()[1])
                length, chunked = 0, False
                while True:
                    line = await self.reader.readline()
                    if line in (b"\r\n", b""):
                        break
                    name, _, value = line.decode().partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                    elif name.lower() == "transfer-encoding" and "chunked" in value:
                        chunked = True
                if chunked:
                    data = b""
                    while True:
                        size = int((await self.reader.readline()).strip(), 16)
                        chunk = await self.reader.readexactly(size + 2)
                        if size == 0:
                            break
                        data += chunk[:-2]
                else:
                    data = await self.reader.readexactly(length)
                return status, data
            except (ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError):
                if self.writer:
                    self.writer.close()
                self.writer = None
                await asyncio.sleep(0.2 * (attempt + 1))
        raise RuntimeError(f"{method} {path}: no answer after retries")

    async def ecs(self, action, payload):
        body = json.dumps(payload).encode()
        status, data = await self.request("POST", "/", body=body, headers={
            "content-type": "application/x-amz-json-1.1", "x-amz-target": f"AmazonEC2ContainerServiceV20141113.{action}"})
        if status != 200:
            raise RuntimeError(f"{action}: {status} {data[:300]!r}")
        return json.loads(data)


class Fleet:
    def __init__(self):
        self.running = set()
        self.done = asyncio.Event()
        self.reports = self.polls = self.failed_reports = self.failed_polls = 0
        self.codes, self.sample = {}, {}
        self.delivered = []
        self.started = None
        self.finished = None

    async def agent(self, index, ready):
        conn = Connection()
        wait = 0.5
        while True:
            # As the real agent: registration is retried with jittered backoff until the server takes it.
            try:
                answer = await conn.ecs("RegisterContainerInstance", {
                    "cluster": CLUSTER, "instanceIdentityDocument": json.dumps({"instanceId": f"i-sim{index:08d}"}),
                    "versionInfo": {"agentVersion": "fleet-sim"},
                    "totalResources": [{"name": "CPU", "type": "INTEGER", "integerValue": 4096},
                                       {"name": "MEMORY", "type": "INTEGER", "integerValue": 16384}],
                    "attributes": [{"name": "ecs.availability-zone", "value": "us-east-1" + "abc"[index % 3]}]})
                break
            except RuntimeError as error:
                self.codes["register " + str(error)[:40]] = self.codes.get("register " + str(error)[:40], 0) + 1
                await asyncio.sleep(wait * random.uniform(0.5, 1.0))
                wait = min(10.0, wait * 2)
        instance = answer["containerInstance"]["containerInstanceArn"].split("/")[-1]
        conn.key, conn.secret = answer["instanceCredentials"]["accessKeyId"], answer["instanceCredentials"]["secretAccessKey"]
        ready.set_result(None)
        version, sequence, mine, backoff = "", 0, set(), 0.5
        path = f"/agent/v1/clusters/{CLUSTER}/container-instances/{instance}"
        while not self.done.is_set():
            status, data = await conn.request("GET", path + "/tasks", query=f"after={version}&wait=20")
            self.polls += 1
            if status != 200:
                # As the real agent: jittered exponential backoff up to 10 s, so a struggling server is not hammered.
                backoff = min(10.0, backoff * 2)
                await asyncio.sleep(backoff * random.uniform(0.5, 1.0))
                self.failed_polls += 1
                self.codes[f"poll {status}"] = self.codes.get(f"poll {status}", 0) + 1
                self.sample.setdefault(f"poll {status}", data[:200].decode(errors="replace"))
                continue
            backoff = 0.5
            desired = json.loads(data)
            version = desired["version"]
            fresh = [t["taskArn"] for t in desired["tasks"] if t["desiredStatus"] == "RUNNING" and t["taskArn"] not in mine]
            if fresh and self.started:
                self.delivered.append(time.time() - self.started)
            for start in range(0, len(fresh), 100):
                batch = fresh[start:start + 100]
                while not self.done.is_set():
                    # As the real agent does: a report that fails is sent again a moment later.
                    sequence = max(sequence + 1, int(time.time() * 1000))
                    body = json.dumps({"sequence": sequence, "tasks": [{"taskArn": arn, "lastStatus": "RUNNING"} for arn in batch]}).encode()
                    status, data = await conn.request("POST", path + "/state", body=body, headers={"content-type": "application/json"})
                    self.reports += 1
                    if status == 200 and json.loads(data).get("accepted"):
                        mine.update(batch)
                        self.running.update(batch)
                        break
                    self.failed_reports += 1
                    self.codes[f"report {status}"] = self.codes.get(f"report {status}", 0) + 1
                    self.sample.setdefault(f"report {status}", data[:200].decode(errors="replace"))
                    await asyncio.sleep(1)
            if self.started and len(self.running) >= TASKS and not self.done.is_set():
                self.finished = time.time()
                self.done.set()


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid, field="VmRSS"):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024
    return 0


async def probe(stop, latencies, errors):
    """An unrelated tenant call every 20 ms; a refusal (503 when the pool is exhausted) counts, with its latency."""
    conn = Connection()
    body = json.dumps({"clusters": ["unrelated"]}).encode()
    headers = {"content-type": "application/x-amz-json-1.1", "x-amz-target": "AmazonEC2ContainerServiceV20141113.DescribeClusters"}
    while not stop.is_set():
        began = time.perf_counter()
        status, _ = await conn.request("POST", "/", body=body, headers=headers)
        latencies.append(time.perf_counter() - began)
        if status != 200:
            errors.append(status)
        await asyncio.sleep(0.02)


async def main():
    admin = Connection()
    await admin.ecs("CreateCluster", {"clusterName": CLUSTER})
    await admin.ecs("CreateCluster", {"clusterName": "unrelated"})
    await admin.ecs("RegisterTaskDefinition", {"family": "web", "containerDefinitions": [
        {"name": "web", "image": "busybox", "cpu": 64, "memory": 128, "essential": True}]})
    services = [(f"web{i}", min(PER_SERVICE, TASKS - i * PER_SERVICE)) for i in range((TASKS + PER_SERVICE - 1) // PER_SERVICE)]
    for name, _ in services:
        await admin.ecs("CreateService", {"cluster": CLUSTER, "serviceName": name, "taskDefinition": "web", "desiredCount": 0})
    fleet = Fleet()
    began = time.time()
    agents, gate = [], asyncio.Semaphore(100)

    async def start(i):
        async with gate:
            ready = asyncio.get_running_loop().create_future()
            agents.append(asyncio.create_task(fleet.agent(i, ready)))
            await ready
    await asyncio.gather(*(start(i) for i in range(INSTANCES)))
    registered = time.time() - began
    await asyncio.sleep(3)  # every agent is parked in its long poll
    cpu0, latencies, errors, stop = cpu_seconds(SERVER_PID), [], [], asyncio.Event()
    prober = asyncio.create_task(probe(stop, latencies, errors))
    await asyncio.sleep(1)
    fleet.started = time.time()
    for name, count in services:
        await admin.ecs("UpdateService", {"cluster": CLUSTER, "service": name, "desiredCount": count})
    try:
        await asyncio.wait_for(fleet.done.wait(), timeout=900)
    except asyncio.TimeoutError:
        pass
    stop.set()
    await prober
    elapsed = (fleet.finished or time.time()) - fleet.started
    cpu = cpu_seconds(SERVER_PID) - cpu0
    latencies.sort()
    pick = lambda q: round(1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))], 1) if latencies else None
    print(json.dumps({"cores": os.cpu_count(), "instances": INSTANCES, "tasks": TASKS, "running": len(fleet.running),
                      "register_s": round(registered, 1), "seconds": round(elapsed, 2),
                      "tasks_per_s": round(len(fleet.running) / elapsed), "server_cpu_s": round(cpu, 1),
                      "server_rss_mib": rss_mib(SERVER_PID), "server_peak_rss_mib": rss_mib(SERVER_PID, "VmHWM"),
                      "describe_p50_ms": pick(0.5), "describe_p99_ms": pick(0.99), "probes": len(latencies),
                      "probe_errors": len(errors), "reports": fleet.reports, "failed_reports": fleet.failed_reports,
                      "polls": fleet.polls, "failed_polls": fleet.failed_polls, "failures": fleet.codes, "samples": fleet.sample,
                      "first_delivery_s": round(min(fleet.delivered), 2) if fleet.delivered else None,
                      "last_delivery_s": round(max(fleet.delivered), 2) if fleet.delivered else None}), flush=True)
    # The server's own view: mean latency of the agent protocol's calls during the run.
    status, text = await Connection().request("GET", "/metrics")
    sums, counts = {}, {}
    for line in text.decode().splitlines():
        for action in ("Poll", "SubmitTaskStateChange", "RegisterContainerInstance"):
            if f'action="{action}"' in line and line.startswith("stowage_api_request_duration_seconds_sum"):
                sums[action] = sums.get(action, 0) + float(line.split()[-1])
            if f'action="{action}"' in line and line.startswith("stowage_api_request_duration_seconds_count"):
                counts[action] = counts.get(action, 0) + float(line.split()[-1])
    print(json.dumps({f"{a}_mean_ms": round(1000 * sums[a] / counts[a], 1) for a in sums if counts.get(a)}), flush=True)
    for task in agents:
        task.cancel()
    await asyncio.gather(*agents, return_exceptions=True)


asyncio.run(main())
