"""Issue 15, item 5: what crosses a network, across hosts. Three hosts on this machine, each a network namespace
with its own address on a test bridge (iproute2 `ip netns` and veth), its own Podman service and an agent; a
server listening on the bridge. One ECS service spread over the three hosts is reached through the load
balancer (HAProxy in the root namespace) and by name from a container on one host (its agent's resolver),
and every task answers, on every host."""
import json
import os
import signal
import subprocess
import urllib.request

import boto3
import pytest
from botocore.config import Config

from conftest import BIN, REGION, Agent, ecs_client, wait_for

SUFFIX = str(os.getpid() % 10000)
BRIDGE = f"stwbr{SUFFIX}"
SUBNET = "10.201.0"


def sh(*args, check=True):
    return subprocess.run(list(args), capture_output=True, text=True, check=check)


class Host:
    def __init__(self, index, root):
        self.name = f"stw{SUFFIX}h{index}"
        self.address = f"{SUBNET}.{10 + index}"
        self.dir = root / self.name
        self.dir.mkdir()
        self.socket = str(self.dir / "podman.sock")
        self.podman = None
        # The container instances of the agents run on this host: their containers are this host's to remove.
        self.instances = set()
        self.veth = f"stw{SUFFIX}v{index}"

    def up(self):
        veth = self.veth
        sh("ip", "netns", "add", self.name)
        sh("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", self.name)
        sh("ip", "link", "set", veth, "master", BRIDGE, "up")
        for command in (["ip", "addr", "add", f"{self.address}/24", "dev", "eth0"], ["ip", "link", "set", "eth0", "up"],
                        ["ip", "link", "set", "lo", "up"], ["ip", "route", "add", "default", "via", f"{SUBNET}.1"],
                        ["sysctl", "-qw", "net.ipv4.ip_forward=1"]):
            sh("ip", "netns", "exec", self.name, *command)
        # The host's own Podman (same image store, its own network namespace): nsenter enters only the network
        # namespace; `ip netns exec` would also remount /sys and hide the cgroup mounts runc needs.
        log = open(self.dir / "podman.log", "w")
        self.podman = subprocess.Popen(["nsenter", f"--net=/var/run/netns/{self.name}", "podman", "system", "service", "--time=0",
                                        f"unix://{self.socket}"], cwd=self.dir, stdout=log, stderr=subprocess.STDOUT)
        assert wait_for(lambda: os.path.exists(self.socket), seconds=20), open(self.dir / "podman.log").read()

    def containers(self):
        out = sh("curl", "-s", "--unix-socket", self.socket, "http://d/v1.41/containers/json?all=true", check=False).stdout
        return json.loads(out) if out.startswith("[") else []

    def down(self):
        # Each host removes its own agents' containers, so their networks are torn down in the right namespace.
        for c in self.containers():
            if (c.get("Labels") or {}).get("stowage.instance") in self.instances:
                sh("curl", "-s", "--unix-socket", self.socket, "-X", "DELETE", f"http://d/v1.41/containers/{c['Id']}?force=true", check=False)
        if self.podman:
            self.podman.send_signal(signal.SIGTERM)
            try:
                self.podman.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.podman.kill()
        sh("ip", "netns", "delete", self.name, check=False)
        sh("ip", "link", "delete", self.veth, check=False)


@pytest.fixture(scope="module")
def hosts(tmp_path_factory):
    """Three hosts as network namespaces on a bridge of the test's own; all of it removed at the end."""
    if not shutil_which("ip") or not shutil_which("nsenter"):
        pytest.fail("iproute2 and util-linux (ip, nsenter) are needed: run `make test`")
    root = tmp_path_factory.mktemp("hosts")
    sh("ip", "link", "add", BRIDGE, "type", "bridge")
    sh("ip", "addr", "add", f"{SUBNET}.1/24", "dev", BRIDGE)
    sh("ip", "link", "set", BRIDGE, "up")
    made = []
    try:
        for i in (1, 2, 3):
            host = Host(i, root)
            made.append(host)
            host.up()
        yield made
    finally:
        for host in made:
            host.down()
        sh("ip", "link", "delete", BRIDGE, check=False)


def shutil_which(name):
    import shutil
    return shutil.which(name)


class BridgeServer:
    """A second `stowage server` (servers are stateless) on the bridge address, with a certificate for it."""

    def __init__(self, server, root):
        tls = root / "tls"
        sh(BIN, "admin", "make-certificates", "--dir", str(tls), "--name", f"{SUBNET}.1")
        import socket as s
        with s.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.log = open(root / "server.log", "a")
        self.args = [BIN, "server", "--host", f"{SUBNET}.1", "--port", str(port), "--tls-cert", str(tls / "server.pem"),
                     "--tls-key", str(tls / "server-key.pem")]
        self.env = server.env
        self.endpoint = server.endpoint
        self.tls_endpoint = f"https://{SUBNET}.1:{port}"
        self.ca = str(tls / "ca.pem")
        self.root = root
        self.process = None
        self.start()

    def start(self):
        self.process = subprocess.Popen(self.args, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)

        def up():
            return sh("curl", "-s", "--cacert", self.ca, f"{self.tls_endpoint}/healthz", check=False).returncode == 0
        assert wait_for(up, seconds=30), open(self.root / "server.log").read()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=20)


WEB = "mkdir -p /www && hostname > /www/id && echo ok > /www/health && exec httpd -f -p 8080 -h /www"


def test_load_balancer_and_dns_reach_tasks_on_every_host(server, tenant, lb, hosts, tmp_path, agents):
    bridge = BridgeServer(server, tmp_path)
    try:
        ecs = ecs_client(server, tenant)
        ecs.create_cluster(clusterName="multi")
        for host, zone in zip(hosts, "abc"):
            # No --host-address: the agent finds its address on the route to the server, its host's own.
            agents.append(Agent(bridge, tenant, "multi", tmp_path / host.name, zone=zone, socket=host.socket, netns=host.name,
                                extra=("--dns-address", "auto")))
        arns = wait_for(lambda: (lambda a: a if len(a) == 3 else None)(ecs.list_container_instances(cluster="multi")["containerInstanceArns"]),
                        seconds=60)
        assert arns, "three hosts registered"
        for host, agent in zip(hosts, agents[-3:]):
            host.instances.add(agent.arn)
        described = ecs.describe_container_instances(cluster="multi", containerInstances=arns)["containerInstances"]
        address_of = {ci["containerInstanceArn"]: {a["name"]: a.get("value") for a in ci["attributes"]}["stowage.host-address"] for ci in described}
        assert sorted(address_of.values()) == [h.address for h in hosts], address_of

        elb = boto3.client("elbv2", endpoint_url=server.endpoint, region_name=REGION,
                           aws_access_key_id=tenant.key_id, aws_secret_access_key=tenant.secret)
        sd = boto3.client("servicediscovery", endpoint_url=server.endpoint, region_name=REGION, config=Config(inject_host_prefix=False),
                          aws_access_key_id=tenant.key_id, aws_secret_access_key=tenant.secret)
        lb_arn = elb.create_load_balancer(Name="multi")["LoadBalancers"][0]
        tg = elb.create_target_group(Name="multi-web", Protocol="HTTP", Port=80, TargetType="instance", HealthCheckPath="/health",
                                     HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=2, HealthyThresholdCount=2)["TargetGroups"][0]["TargetGroupArn"]
        elb.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "0"}])
        elb.create_listener(LoadBalancerArn=lb_arn["LoadBalancerArn"], Protocol="HTTP", Port=8080,
                            DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
        op = sd.create_private_dns_namespace(Name="multi.local", Vpc="bridge")["OperationId"]
        ns = sd.get_operation(OperationId=op)["Operation"]["Targets"]["NAMESPACE"]
        registry = sd.create_service(Name="web", NamespaceId=ns, DnsConfig={"DnsRecords": [{"Type": "SRV", "TTL": 5}]},
                                     HealthCheckCustomConfig={"FailureThreshold": 1})["Service"]
        ecs.register_task_definition(family="multi-web", containerDefinitions=[{
            "name": "web", "image": "localhost/busybox:latest", "memory": 32, "command": ["sh", "-c", WEB],
            "portMappings": [{"containerPort": 8080, "hostPort": 0}]}])
        ecs.create_service(cluster="multi", serviceName="web", taskDefinition="multi-web", desiredCount=3,
                           loadBalancers=[{"targetGroupArn": tg, "containerName": "web", "containerPort": 8080}],
                           serviceRegistries=[{"registryArn": registry["Arn"], "containerName": "web", "containerPort": 8080}])

        def healthy_everywhere():
            health = elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
            good = [h for h in health if h["TargetHealth"]["State"] == "healthy"]
            return good if len(good) == 3 else None
        assert wait_for(healthy_everywhere, seconds=120), elb.describe_target_health(TargetGroupArn=tg)
        tasks = ecs.describe_tasks(cluster="multi", tasks=ecs.list_tasks(cluster="multi", serviceName="web")["taskArns"])["tasks"]
        assert sorted(address_of[t["containerInstanceArn"]] for t in tasks) == [h.address for h in hosts], "one task per host"
        # Which container (its hostname, the body it serves) runs on which host: the task its labels name, placed on
        # that host's instance. (The hosts' Podman services share one image and container store, so any lists all.)
        instance_of = {t["taskArn"]: t["containerInstanceArn"] for t in tasks}
        host_of = {}
        for c in hosts[0].containers():
            labels = c.get("Labels") or {}
            if labels.get("stowage.container") == "web" and labels.get("stowage.task") in instance_of and c["State"] == "running":
                host_of[c["Id"][:12]] = address_of[instance_of[labels["stowage.task"]]]
        assert sorted(host_of.values()) == [h.address for h in hosts], host_of

        # Through the load balancer: every host's task answers.
        lb_address = lb_arn["DNSName"]
        seen = set()
        for _ in range(60):
            with urllib.request.urlopen(f"http://{lb_address}:8080/id", timeout=5) as r:
                seen.add(r.read().decode().strip())
            if len(seen) == 3:
                break
        assert {host_of.get(s) for s in seen} == {h.address for h in hosts}, (seen, host_of)

        # By name, from a container on the first host: its agent's resolver gives each task's host and port.
        script = ("nslookup -type=srv web.multi.local | awk '/service =/ {print $(NF-1), $NF}' | while read port target; do "
                  "ip=$(nslookup $target | awk '/^Address: / {print $2}' | grep -v ':53$' | head -1); "
                  "echo GOT $ip $(wget -q -O- http://$ip:$port/id); done")
        ecs.register_task_definition(family="multi-client", containerDefinitions=[{
            "name": "client", "image": "localhost/busybox:latest", "memory": 16, "command": ["sh", "-c", script],
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/multi", "awslogs-stream-prefix": "c"}}}])
        assert wait_for(lambda: len(sd.discover_instances(NamespaceName="multi.local", ServiceName="web", HealthStatus="HEALTHY")["Instances"]) == 3,
                        seconds=30)

        def srv_answers(host):
            """The SRV records of the service that the host's resolver (its agent's, on the bridge gateway) gives."""
            return sh("nsenter", f"--net=/var/run/netns/{host.name}", "busybox", "nslookup", "-type=srv", "web.multi.local", "10.88.0.1",
                      check=False).stdout
        # The agents' resolvers fetch names every 2 s: the client's host has all three before the client asks.
        assert wait_for(lambda: srv_answers(hosts[0]).count("service =") == 3 or None, seconds=30), srv_answers(hosts[0])
        run = ecs.run_task(cluster="multi", taskDefinition="multi-client",
                           placementConstraints=[{"type": "memberOf", "expression": "attribute:ecs.availability-zone == a"}])["tasks"][0]
        logs = boto3.client("logs", endpoint_url=server.endpoint, region_name=REGION,
                            aws_access_key_id=tenant.key_id, aws_secret_access_key=tenant.secret)
        stream = f"c/client/{run['taskArn'].split('/')[-1]}"

        def got():
            try:
                events = logs.get_log_events(logGroupName="/ecs/multi", logStreamName=stream, startFromHead=True)["events"]
            except logs.exceptions.ResourceNotFoundException:
                return None
            lines = [e["message"].split() for e in events if e["message"].startswith("GOT ")]
            return lines if len(lines) == 3 else None
        lines = wait_for(got, seconds=90)
        assert lines, "the client on host 1 resolved and called every task"
        assert {line[1] for line in lines} == {h.address for h in hosts}, lines
        assert {host_of.get(line[2]) for line in lines} == {h.address for h in hosts}, (lines, host_of)

        # The control plane goes away: every host's resolver keeps answering the names it had, and the load
        # balancer keeps routing (static stability).
        def failed_fetches(agent):
            return open(agent.log.name).read().count("discovery names not fetched")
        before = [failed_fetches(agent) for agent in agents[-3:]]
        bridge.stop()
        # Every agent has tried to fetch names from the control plane that is gone, and answers the last ones.
        assert wait_for(lambda: all(failed_fetches(a) > b for a, b in zip(agents[-3:], before)) or None, seconds=30), \
            "every agent noticed the control plane is gone"
        for host in hosts:
            lookup = srv_answers(host)
            assert lookup.count("service =") == 3, (host.name, lookup)
        with urllib.request.urlopen(f"http://{lb_address}:8080/id", timeout=5) as r:
            assert r.read().decode().strip() in host_of
        bridge.start()

        ecs.update_service(cluster="multi", service="web", desiredCount=0)
        assert wait_for(lambda: not ecs.list_tasks(cluster="multi", desiredStatus="RUNNING")["taskArns"]
                        and not [c for c in hosts[0].containers() if (c.get("Labels") or {}).get("stowage.task") in instance_of
                                 and c["State"] == "running"], seconds=90)
        ecs.delete_service(cluster="multi", service="web")
    finally:
        bridge.stop()
