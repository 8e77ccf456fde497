"""Issue 15, item 5: what crosses a network, across hosts. Three hosts on this machine, each a network namespace
with its own address on a test bridge (iproute2 `ip netns` and veth), its own Podman service and an agent; a
server listening on the bridge. One ECS service spread over the three hosts is reached through the load
balancer (HAProxy in the root namespace) and by name from a container on one host (its agent's resolver),
and every task answers, on every host."""
import json
import os
import signal
import subprocess
import threading
import time
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
        # An awsvpc task's network holder goes last: the engine keeps it while containers share its namespace.
        for c in sorted(self.containers(), key=lambda c: (c.get("Labels") or {}).get("stowage.container") == "~network"):
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


def balancer_and_registry(server, tenant, name, target_type, port, listener, record, delay):
    """A load balancer with a listener forwarding to a target group `<name>-web`, and a Cloud Map service `web` in the
    private namespace `<name>.local` with one record type."""
    elb = boto3.client("elbv2", endpoint_url=server.endpoint, region_name=REGION,
                       aws_access_key_id=tenant.key_id, aws_secret_access_key=tenant.secret)
    sd = boto3.client("servicediscovery", endpoint_url=server.endpoint, region_name=REGION, config=Config(inject_host_prefix=False),
                      aws_access_key_id=tenant.key_id, aws_secret_access_key=tenant.secret)
    balancer = elb.create_load_balancer(Name=name)["LoadBalancers"][0]
    tg = elb.create_target_group(Name=f"{name}-web", Protocol="HTTP", Port=port, TargetType=target_type, HealthCheckPath="/health",
                                 HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=2, HealthyThresholdCount=2)["TargetGroups"][0]["TargetGroupArn"]
    elb.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": str(delay)}])
    elb.create_listener(LoadBalancerArn=balancer["LoadBalancerArn"], Protocol="HTTP", Port=listener,
                        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
    op = sd.create_private_dns_namespace(Name=f"{name}.local", Vpc=name)["OperationId"]
    ns = sd.get_operation(OperationId=op)["Operation"]["Targets"]["NAMESPACE"]
    registry = sd.create_service(Name="web", NamespaceId=ns, DnsConfig={"DnsRecords": [{"Type": record, "TTL": 5}]},
                                 HealthCheckCustomConfig={"FailureThreshold": 1})["Service"]
    return elb, sd, balancer, tg, registry


def client_lines(server, tenant, group, task_arn, count):
    """The `GOT …` lines (split in words) a client task logged through awslogs (stream prefix c), once it has logged
    `count` of them; None if it has not within 90 s."""
    logs = boto3.client("logs", endpoint_url=server.endpoint, region_name=REGION,
                        aws_access_key_id=tenant.key_id, aws_secret_access_key=tenant.secret)
    stream = f"c/client/{task_arn.split('/')[-1]}"

    def got():
        try:
            events = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]
        except logs.exceptions.ResourceNotFoundException:
            return None
        lines = [e["message"].split() for e in events if e["message"].startswith("GOT ")]
        return lines if len(lines) == count else None
    return wait_for(got, seconds=90)


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

        elb, sd, lb_arn, tg, registry = balancer_and_registry(server, tenant, "multi", target_type="instance", port=80, listener=8080,
                                                              record="SRV", delay=0)
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
        lines = client_lines(server, tenant, "/ecs/multi", run["taskArn"], 3)
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


def test_awsvpc_service_over_two_subnets_reached_by_address_name_and_ip_target_group(server, tenant, lb, hosts, tmp_path, agents):
    """Issue 25: six awsvpc tasks over two subnets (hosts 1 and 2 in subnet-a, host 3 in subnet-b), each with an
    address of its own on its host's task subnet; hosts route to each other's task subnets (and `stowage lb` to all
    of them), so a client task on host 1 reaches every task by address and by its Cloud Map name, and an `ip` target
    group answers from all six with no failed request through a rolling deployment."""
    # Task networks earlier runs on this machine left in this namespace (a bridge keeps its connected route): one on a
    # subnet now given to a test host would shadow the route `stowage lb` keeps to it. Unused ones go; used ones stay.
    for name in sh("podman", "network", "ls", "--format", "{{.Name}}", check=False).stdout.split():
        if name.startswith("stowage-task-"):
            sh("podman", "network", "rm", name, check=False)
    bridge = BridgeServer(server, tmp_path)
    try:
        ecs = ecs_client(server, tenant)
        ecs.create_cluster(clusterName="vpc")
        for host, zone, subnet in zip(hosts, "abc", ("subnet-a", "subnet-a", "subnet-b")):
            agents.append(Agent(bridge, tenant, "vpc", tmp_path / host.name, zone=zone, socket=host.socket, netns=host.name,
                                extra=("--dns-address", "auto", "--subnet", subnet, "--capacity-provider", "FARGATE")))
        arns = wait_for(lambda: (lambda a: a if len(a) == 3 else None)(ecs.list_container_instances(cluster="vpc")["containerInstanceArns"]),
                        seconds=60)
        assert arns, "three hosts registered"
        for host, agent in zip(hosts, agents[-3:]):
            host.instances.add(agent.arn)
        described = ecs.describe_container_instances(cluster="vpc", containerInstances=arns)["containerInstances"]
        attrs = {ci["containerInstanceArn"]: {a["name"]: a.get("value") for a in ci["attributes"]} for ci in described}
        subnets = {a["stowage.task-subnet"] for a in attrs.values()}
        assert len(subnets) == 3, attrs

        elb, sd, balancer, tg, registry = balancer_and_registry(server, tenant, "vpc", target_type="ip", port=8080, listener=8081,
                                                                record="A", delay=3)
        ecs.register_task_definition(family="vpc-web", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
                                     containerDefinitions=[{"name": "web", "image": "localhost/busybox:latest", "command": ["sh", "-c", WEB],
                                                            "portMappings": [{"containerPort": 8080}]}])
        network = {"awsvpcConfiguration": {"subnets": ["subnet-a", "subnet-b"], "assignPublicIp": "DISABLED"}}
        ecs.create_service(cluster="vpc", serviceName="web", taskDefinition="vpc-web", desiredCount=6, launchType="FARGATE",
                           networkConfiguration=network,
                           deploymentConfiguration={"minimumHealthyPercent": 100, "maximumPercent": 200},
                           loadBalancers=[{"targetGroupArn": tg, "containerName": "web", "containerPort": 8080}],
                           serviceRegistries=[{"registryArn": registry["Arn"]}])

        def healthy():
            health = elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
            good = [h for h in health if h["TargetHealth"]["State"] == "healthy"]
            return good if len(good) == 6 else None
        good = wait_for(healthy, seconds=150)

        def stopped_reasons():
            arns = ecs.list_tasks(cluster="vpc", desiredStatus="STOPPED")["taskArns"][:20]
            return [t.get("stoppedReason") for t in ecs.describe_tasks(cluster="vpc", tasks=arns)["tasks"]] if arns else []
        assert good, (elb.describe_target_health(TargetGroupArn=tg), stopped_reasons(),
                      ecs.describe_services(cluster="vpc", services=["web"])["services"][0]["events"][:8])
        tasks = ecs.describe_tasks(cluster="vpc", tasks=ecs.list_tasks(cluster="vpc", serviceName="web")["taskArns"])["tasks"]

        def address(task):
            return next(d["value"] for a in task["attachments"] for d in a["details"] if d["name"] == "privateIPv4Address")
        addresses = {address(t) for t in tasks}
        assert {(h["Target"]["Id"], h["Target"]["Port"]) for h in good} == {(a, 8080) for a in addresses}, "targets are the tasks' own addresses"
        by_subnet = {}
        for t in tasks:
            instance = attrs[t["containerInstanceArn"]]
            by_subnet[instance["ecs.subnet-id"]] = by_subnet.get(instance["ecs.subnet-id"], 0) + 1
            assert address(t).rsplit(".", 1)[0] == instance["stowage.task-subnet"].rsplit(".", 1)[0], "each address is on its host's subnet"
        assert by_subnet == {"subnet-a": 3, "subnet-b": 3}, by_subnet
        assert len({t["containerInstanceArn"] for t in tasks}) == 3, "every host runs some"

        # A client task on host 1 resolves the service's name with its agent's resolver and calls every address.
        script = ("for ip in $(nslookup web.vpc.local | awk '/^Address: / {print $2}' | grep -v ':53$' | sort -u); do "
                  "echo GOT $ip $(wget -q -O- http://$ip:8080/id); done")
        ecs.register_task_definition(family="vpc-client", networkMode="awsvpc", containerDefinitions=[{
            "name": "client", "image": "localhost/busybox:latest", "memory": 16, "command": ["sh", "-c", script],
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/vpc", "awslogs-stream-prefix": "c"}}}])
        assert wait_for(lambda: len(sd.discover_instances(NamespaceName="vpc.local", ServiceName="web", HealthStatus="HEALTHY")["Instances"]) == 6,
                        seconds=30)
        # Host 1's resolver for awsvpc tasks (on its task network's gateway) has all six before the client asks.
        gateway = attrs[agents[-3].arn]["stowage.task-subnet"].replace(".0/24", ".1")

        def resolved():
            out = sh("nsenter", f"--net=/var/run/netns/{hosts[0].name}", "busybox", "nslookup", "web.vpc.local", gateway, check=False).stdout
            return {line.split()[-1] for line in out.splitlines() if line.startswith("Address:") and not line.endswith(":53")}
        assert wait_for(lambda: resolved() == addresses or None, seconds=30), (resolved(), addresses)
        run = ecs.run_task(cluster="vpc", taskDefinition="vpc-client", networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-a"]}},
                           placementConstraints=[{"type": "memberOf", "expression": "attribute:ecs.availability-zone == a"}])["tasks"][0]
        lines = client_lines(server, tenant, "/ecs/vpc", run["taskArn"], 6)
        assert lines, "the client on host 1 resolved six addresses"
        assert {line[1] for line in lines} == addresses, (lines, addresses)
        assert all(len(line) == 3 for line in lines), f"every task answered by address, on every host: {lines}"

        # Through the load balancer while the service rolls to a new deployment: every request answered.
        url = f"http://{balancer['DNSName']}:8081/id"
        failures, answers = [], set()
        stop = threading.Event()

        def hammer():
            while not stop.is_set():
                try:
                    with urllib.request.urlopen(url, timeout=5) as r:
                        answers.add(r.read().decode().strip())
                except Exception as error:  # noqa: BLE001 - every failure counts
                    failures.append(repr(error))
                time.sleep(0.05)
        worker = threading.Thread(target=hammer)
        worker.start()
        try:
            time.sleep(2)
            ecs.update_service(cluster="vpc", service="web", forceNewDeployment=True)

            def rolled():
                service = ecs.describe_services(cluster="vpc", services=["web"])["services"][0]
                deployments = service["deployments"]
                return len(deployments) == 1 and deployments[0]["rolloutState"] == "COMPLETED" and service["runningCount"] == 6 \
                    and not (set(t["TargetHealth"]["State"] for t in elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]) - {"healthy"})
            assert wait_for(rolled, seconds=180), ecs.describe_services(cluster="vpc", services=["web"])["services"][0]["deployments"]
        finally:
            stop.set()
            worker.join(timeout=10)
        assert not failures, f"{len(failures)} failed requests through the rolling deployment: {failures[:5]}"
        assert len(answers) >= 6, answers

        ecs.update_service(cluster="vpc", service="web", desiredCount=0)
        assert wait_for(lambda: not ecs.list_tasks(cluster="vpc", desiredStatus="RUNNING")["taskArns"], seconds=90)
        ecs.delete_service(cluster="vpc", service="web")
    finally:
        bridge.stop()
