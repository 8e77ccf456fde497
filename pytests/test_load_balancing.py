"""Issue 15, items 1 and 2: the ELBv2 door (boto3's elbv2 client) and its data plane, a real HAProxy run by
`stowage lb`: path rules to two target groups, target health from HAProxy's checks in DescribeTargetHealth,
deregistration that ends routing, fixed responses, and AWS's error codes for bad input with nothing written."""
import http.server
import json
import os
import socket
import socketserver
import subprocess
import threading
import time
import urllib.request

import boto3
import pytest
from botocore.exceptions import ClientError

from conftest import BIN, REGION, wait_for


def elbv2(server, tenant):
    return boto3.client("elbv2", endpoint_url=server.endpoint, region_name=REGION,
                        aws_access_key_id=tenant.key_id, aws_secret_access_key=tenant.secret)


class Backend:
    """A tiny HTTP target on 127.0.0.1: answers its name, and /health with 200 (or 500 once made sick)."""

    def __init__(self, name):
        self.name = name
        self.sick = False
        backend = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/health":
                    code = 500 if backend.sick else 200
                    body = b"sick" if backend.sick else b"ok"
                else:
                    if self.path.startswith("/slow"):
                        time.sleep(2)  # a slow answer is the point: 2 s
                    code, body = 200, f"{backend.name} {self.path}".encode()
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # health checks that hang up early are not the test's business
        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()



def get(url, timeout=5):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def health_check(**overrides):
    settings = dict(HealthCheckPath="/health", HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=2,
                    HealthyThresholdCount=2, UnhealthyThresholdCount=2)
    settings.update(overrides)
    return settings


def haproxy_stats(lb):
    """HAProxy's own view of its proxies and servers (`show stat` on its admin socket), one list of fields a row."""
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(lb / "haproxy" / "admin.sock"))
        s.sendall(b"show stat\n")
        return [line.split(",") for line in s.makefile().read().splitlines() if line.startswith("tg_")]


def states(elb, tg):
    return {(d["Target"]["Id"], d["Target"]["Port"]): d["TargetHealth"] for d in elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]}


def test_path_rules_route_to_healthy_targets_and_follow_registrations(server, tenant, lb):
    elb = elbv2(server, tenant)
    api = [Backend(f"api-{i}") for i in range(3)]
    web = Backend("web-0")
    try:
        balancer = elb.create_load_balancer(Name="shop")["LoadBalancers"][0]
        assert balancer["State"]["Code"] in ("provisioning", "active") and balancer["Type"] == "application"
        address = balancer["DNSName"]
        api_tg = elb.create_target_group(Name="api", Protocol="HTTP", Port=80, TargetType="ip", **health_check())["TargetGroups"][0]["TargetGroupArn"]
        web_tg = elb.create_target_group(Name="web", Protocol="HTTP", Port=80, TargetType="ip", **health_check())["TargetGroups"][0]["TargetGroupArn"]
        elb.modify_target_group_attributes(TargetGroupArn=api_tg, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "0"}])
        listener = elb.create_listener(LoadBalancerArn=balancer["LoadBalancerArn"], Protocol="HTTP", Port=18080, DefaultActions=[
            {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain", "MessageBody": "no route"}}])["Listeners"][0]
        elb.create_rule(ListenerArn=listener["ListenerArn"], Priority=10, Conditions=[{"Field": "path-pattern", "Values": ["/api/*"]}],
                        Actions=[{"Type": "forward", "TargetGroupArn": api_tg}])
        elb.create_rule(ListenerArn=listener["ListenerArn"], Priority=20,
                        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/web/*"]}}],
                        Actions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": web_tg, "Weight": 1}]}}])
        elb.register_targets(TargetGroupArn=api_tg, Targets=[{"Id": "127.0.0.1", "Port": b.port} for b in api])
        elb.register_targets(TargetGroupArn=web_tg, Targets=[{"Id": "127.0.0.1", "Port": web.port}])

        assert wait_for(lambda: elb.describe_load_balancers(Names=["shop"])["LoadBalancers"][0]["State"]["Code"] == "active" or None, seconds=30)
        assert wait_for(lambda: all(h["State"] == "healthy" for h in states(elb, api_tg).values()) or None, seconds=90), states(elb, api_tg)
        assert wait_for(lambda: all(h["State"] == "healthy" for h in states(elb, web_tg).values()) or None, seconds=90), states(elb, web_tg)

        seen = {get(f"http://{address}:18080/api/items")[1].split()[0] for _ in range(12)}
        assert seen == {"api-0", "api-1", "api-2"}, "every healthy target of the group answers"
        assert get(f"http://{address}:18080/web/index.html") == (200, "web-0 /web/index.html")
        assert get(f"http://{address}:18080/other") == (404, "no route"), "the default action: a fixed response"

        # A target that fails its checks leaves the rotation and says why.
        api[2].sick = True
        assert wait_for(lambda: states(elb, api_tg)[("127.0.0.1", api[2].port)]["State"] == "unhealthy" or None, seconds=40)
        sick = states(elb, api_tg)[("127.0.0.1", api[2].port)]
        assert sick["Reason"] == "Target.ResponseCodeMismatch" and "500" in sick["Description"]
        assert {get(f"http://{address}:18080/api/x")[1].split()[0] for _ in range(12)} == {"api-0", "api-1"}

        # Deregistered with a delay of 0: routing to it ends within a second and the target is forgotten.
        elb.deregister_targets(TargetGroupArn=api_tg, Targets=[{"Id": "127.0.0.1", "Port": api[0].port}])
        start = time.time()
        assert wait_for(lambda: all(get(f"http://{address}:18080/api/y")[1].split()[0] != "api-0" for _ in range(6)) or None, seconds=10, every=0.1)
        print(f"routing ended {time.time() - start:.2f} s after DeregisterTargets")
        assert wait_for(lambda: ("127.0.0.1", api[0].port) not in states(elb, api_tg) or None, seconds=10)

        # DescribeTargetHealth agrees with HAProxy's own view of its servers.
        haproxy = {r[1]: r[17] for r in haproxy_stats(lb) if r[1].startswith("t_")}
        described = states(elb, api_tg)
        for (target, port), health in described.items():
            name = f"t_127_2E0_2E0_2E1.{port}"  # the target id escaped reversibly (HAProxyText.escapedName), then the port
            assert haproxy[name].startswith("UP" if health["State"] == "healthy" else "DOWN"), (name, haproxy[name], health)

        # The web group's requests are published as its RequestCount (the console's request chart): send a known
        # number through it and see at least that many counted.
        for _ in range(20):
            assert get(f"http://{address}:18080/web/index.html")[0] == 200
        cloudwatch = boto3.client("cloudwatch", endpoint_url=server.endpoint, region_name=REGION,
                                  aws_access_key_id=tenant.key_id, aws_secret_access_key=tenant.secret)
        dimension = [{"Name": "TargetGroup", "Value": web_tg[web_tg.index("targetgroup/"):]}]

        def counted():
            now = time.time()
            points = cloudwatch.get_metric_statistics(Namespace="AWS/ApplicationELB", MetricName="RequestCount", Dimensions=dimension,
                                                      StartTime=now - 600, EndTime=now + 60, Period=60, Statistics=["Sum"])["Datapoints"]
            return sum(p["Sum"] for p in points) >= 21 or None
        assert wait_for(counted, seconds=40), "the web group's requests are counted"
    finally:
        for b in api + [web]:
            b.close()


def test_bad_input_gets_aws_error_codes_and_writes_nothing(server, tenant, other_tenant):
    elb = elbv2(server, tenant)

    def code(call, **kwargs):
        with pytest.raises(ClientError) as e:
            call(**kwargs)
        return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]

    assert code(elb.create_load_balancer, Name="-bad-")[0] == "ValidationError"
    assert code(elb.create_load_balancer, Name="internal-x")[0] == "ValidationError"
    assert code(elb.create_load_balancer, Name="net", Type="network")[0] == "InvalidConfigurationRequest"
    assert code(elb.create_load_balancer, Name="sub", Subnets=["subnet-1", "subnet-2"])[0] == "InvalidSubnet"
    assert not elb.describe_load_balancers()["LoadBalancers"] or all(
        b["LoadBalancerName"] not in ("net", "sub") for b in elb.describe_load_balancers()["LoadBalancers"])
    arn = elb.create_load_balancer(Name="errors")["LoadBalancers"][0]["LoadBalancerArn"]
    assert code(elb.create_load_balancer, Name="errors")[0] == "DuplicateLoadBalancerName"
    assert code(elb.create_target_group, Name="t", Protocol="HTTP", Port=80, HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=6)[0] == "InvalidConfigurationRequest"
    assert code(elb.create_target_group, Name="t", Protocol="HTTPS", Port=443)[0] == "UnsupportedProtocol"
    assert code(elb.create_target_group, Name="t", Protocol="HTTP", Port=80, Matcher={"HttpCode": "600"})[0] == "ValidationError"
    assert code(elb.create_target_group, Name="t", Protocol="HTTP", Port=80, VpcId="vpc-1")[0] == "InvalidConfigurationRequest"
    tg = elb.create_target_group(Name="errors", Protocol="HTTP", Port=80, TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    assert code(elb.create_target_group, Name="errors", Protocol="HTTP", Port=81, TargetType="ip")[0] == "DuplicateTargetGroupName"
    assert code(elb.modify_target_group_attributes, TargetGroupArn=tg, Attributes=[{"Key": "stickiness.enabled", "Value": "true"}])[0] == "InvalidConfigurationRequest"
    forward = [{"Type": "forward", "TargetGroupArn": tg}]
    assert code(elb.create_listener, LoadBalancerArn=arn, Protocol="HTTPS", Port=443, DefaultActions=forward)[0] == "UnsupportedProtocol"
    assert code(elb.create_listener, LoadBalancerArn=arn, Protocol="HTTP", Port=80,
                DefaultActions=[{"Type": "redirect", "RedirectConfig": {"StatusCode": "HTTP_301"}}])[0] == "InvalidLoadBalancerAction"
    assert code(elb.create_listener, LoadBalancerArn=arn + "0", Protocol="HTTP", Port=80, DefaultActions=forward)[0] == "LoadBalancerNotFound"
    missing_tg = tg[:-4] + "0000"
    assert code(elb.create_listener, LoadBalancerArn=arn, Protocol="HTTP", Port=80,
                DefaultActions=[{"Type": "forward", "TargetGroupArn": missing_tg}])[0] == "TargetGroupNotFound"
    assert elb.describe_listeners(LoadBalancerArn=arn)["Listeners"] == [], "nothing half-written"
    listener = elb.create_listener(LoadBalancerArn=arn, Protocol="HTTP", Port=80, DefaultActions=forward)["Listeners"][0]["ListenerArn"]
    assert code(elb.create_listener, LoadBalancerArn=arn, Protocol="HTTP", Port=80, DefaultActions=forward)[0] == "DuplicateListener"
    path = [{"Field": "path-pattern", "Values": ["/a/*"]}]
    elb.create_rule(ListenerArn=listener, Priority=5, Conditions=path, Actions=forward)
    assert code(elb.create_rule, ListenerArn=listener, Priority=5, Conditions=path, Actions=forward)[0] == "PriorityInUse"
    assert code(elb.create_rule, ListenerArn=listener, Priority=6, Conditions=[{"Field": "path-pattern", "Values": list("abcdef")}],
                Actions=forward)[0] == "InvalidConfigurationRequest"
    assert code(elb.delete_target_group, TargetGroupArn=tg)[0] == "ResourceInUse"
    assert code(elb.register_targets, TargetGroupArn=tg, Targets=[{"Id": "not-an-ip"}])[0] == "InvalidTarget"
    assert elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"] == []
    # A member Stowage does not honour is refused by name, not ignored.
    assert code(elb.describe_target_health, TargetGroupArn=tg, Include=["AnomalyDetection"])[0] == "ValidationError"
    refused = code(elb.create_load_balancer, Name="pool", CustomerOwnedIpv4Pool="ipv4pool-coip-1")
    assert refused[0] == "ValidationError" and "CustomerOwnedIpv4Pool" in refused[1]
    rules = elb.describe_rules(ListenerArn=listener)["Rules"]
    assert [r["Priority"] for r in rules] == ["5", "default"] and rules[1]["IsDefault"]

    # Another tenant sees none of it and cannot act on it by ARN.
    theirs = elbv2(server, other_tenant)
    assert all(b["LoadBalancerName"] != "errors" for b in theirs.describe_load_balancers()["LoadBalancers"])
    assert code(theirs.describe_load_balancers, LoadBalancerArns=[arn])[0] == "LoadBalancerNotFound"
    # An ARN of another account is refused before it is looked up, as AWS does.
    assert code(theirs.delete_listener, ListenerArn=listener)[0] in ("AccessDeniedException", "ListenerNotFound")
    assert code(theirs.describe_target_health, TargetGroupArn=tg)[0] in ("AccessDeniedException", "TargetGroupNotFound")
    assert elb.describe_listeners(ListenerArns=[listener])["Listeners"], "still there"

    # Tags, and the CLI speaks the same door.
    elb.add_tags(ResourceArns=[arn, tg], Tags=[{"Key": "team", "Value": "shop"}])
    described = elb.describe_tags(ResourceArns=[arn, tg])["TagDescriptions"]
    assert all(d["Tags"] == [{"Key": "team", "Value": "shop"}] for d in described)
    env = dict(os.environ, AWS_ACCESS_KEY_ID=tenant.key_id, AWS_SECRET_ACCESS_KEY=tenant.secret)
    out = subprocess.run(["aws", "elbv2", "describe-load-balancers", "--names", "errors", "--endpoint-url", server.endpoint,
                          "--region", REGION, "--output", "json"], env=env, capture_output=True, text=True)
    assert out.returncode == 0 and json.loads(out.stdout)["LoadBalancers"][0]["LoadBalancerArn"] == arn, out.stderr
    elb.delete_listener(ListenerArn=listener)
    elb.delete_target_group(TargetGroupArn=tg)
    elb.delete_load_balancer(LoadBalancerArn=arn)
    assert code(elb.describe_load_balancers, Names=["errors"])[0] == "LoadBalancerNotFound"


# Issue 15, item 3: an ECS service behind the load balancer (real agent, real Podman, real HAProxy).
WEB_SCRIPT = ("mkdir -p /www/api /www/cgi-bin && hostname > /www/api/id && echo ok > /www/health && "
              "printf '#!/bin/sh\\nsleep 3\\necho Content-Type: text/plain\\necho\\necho slow-done\\n' > /www/cgi-bin/slow && "
              "chmod +x /www/cgi-bin/slow && exec httpd -f -p 8080 -h /www")


def web_definition(ecs, family, version):
    ecs.register_task_definition(family=family, containerDefinitions=[{
        "name": "web", "image": "localhost/busybox:latest", "memory": 32, "command": ["sh", "-c", WEB_SCRIPT],
        "environment": [{"name": "VERSION", "value": version}], "portMappings": [{"containerPort": 8080, "hostPort": 0}]}])


def test_a_service_behind_the_load_balancer_registers_drains_and_deploys_without_a_failed_request(server, tenant, lb, tmp_path, agents, need_engine):
    from conftest import cluster_with_agent, tasks_of
    elb = elbv2(server, tenant)
    ecs = cluster_with_agent(server, tenant, tmp_path, agents, "behind")
    balancer = elb.create_load_balancer(Name="front")["LoadBalancers"][0]
    tg = elb.create_target_group(Name="front-web", Protocol="HTTP", Port=8080, TargetType="instance",
                                 **health_check())["TargetGroups"][0]["TargetGroupArn"]
    elb.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "5"}])
    listener = elb.create_listener(LoadBalancerArn=balancer["LoadBalancerArn"], Protocol="HTTP", Port=18090, DefaultActions=[
        {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}])["Listeners"][0]["ListenerArn"]
    elb.create_rule(ListenerArn=listener, Priority=1, Conditions=[{"Field": "path-pattern", "Values": ["/api/*", "/cgi-bin/*"]}],
                    Actions=[{"Type": "forward", "TargetGroupArn": tg}])
    web_definition(ecs, "front", "1")
    with pytest.raises(ClientError) as bad:
        ecs.create_service(cluster="behind", serviceName="bad", taskDefinition="front", desiredCount=1,
                           loadBalancers=[{"targetGroupArn": tg, "containerName": "web", "containerPort": 9999}])
    assert "containerPort 9999" in bad.value.response["Error"]["Message"]
    ecs.create_service(cluster="behind", serviceName="web", taskDefinition="front", desiredCount=3,
                       loadBalancers=[{"targetGroupArn": tg, "containerName": "web", "containerPort": 8080}],
                       deploymentConfiguration={"minimumHealthyPercent": 100, "maximumPercent": 200})
    described = ecs.describe_services(cluster="behind", services=["web"])["services"][0]
    assert described["loadBalancers"] == [{"targetGroupArn": tg, "containerName": "web", "containerPort": 8080}]

    def healthy():
        return [h for h in states(elb, tg).values() if h["State"] == "healthy"]
    assert wait_for(lambda: len(healthy()) == 3 or None, seconds=120), states(elb, tg)
    address = balancer["DNSName"]
    ids = {get(f"http://{address}:18090/api/id")[1].strip() for _ in range(15)}
    assert len(ids) == 3, f"three tasks answer through the load balancer: {ids}"

    # A rolling deployment under a client loop: not one failed request.
    failures, answers, stop = [], [], threading.Event()

    def client():
        while not stop.is_set():
            code, body = get(f"http://{address}:18090/api/id", timeout=5)
            (answers if code == 200 else failures).append((code, body.strip()))
            time.sleep(0.05)  # the client's pace, about 20 requests a second
    loop = threading.Thread(target=client)
    loop.start()
    try:
        web_definition(ecs, "front", "2")
        ecs.update_service(cluster="behind", service="web", taskDefinition="front:2")

        def rolled():
            s = ecs.describe_services(cluster="behind", services=["web"])["services"][0]
            running = tasks_of(ecs, "behind", "web")
            done = s["deployments"][0]["rolloutState"] == "COMPLETED" and len(s["deployments"]) == 1
            return done and len(running) == 3 and all(t["taskDefinitionArn"].endswith("front:2") for t in running) or None
        assert wait_for(rolled, seconds=240), ecs.describe_services(cluster="behind", services=["web"])["services"][0]["events"][:5]
        # Still under the client loop until the old targets have drained out of the group (a 5 s delay).
        assert wait_for(lambda: len(states(elb, tg)) == 3 and len(healthy()) == 3 or None, seconds=60), states(elb, tg)
    finally:
        stop.set()
        loop.join()
    print(f"rolling deployment under load: {len(answers)} requests answered, {len(failures)} failed")
    assert answers and not failures, f"{len(failures)} failed of {len(answers) + len(failures)}: {failures[:5]}"
    new_ids = {get(f"http://{address}:18090/api/id")[1].strip() for _ in range(15)}
    assert len(new_ids) == 3 and not (new_ids & ids), "the new tasks serve, the old ones are gone"

    # Scale-in drains: a slow request in flight on a task being removed completes.
    results = []
    slow = [threading.Thread(target=lambda: results.append(get(f"http://{address}:18090/cgi-bin/slow", timeout=15))) for _ in range(3)]
    for t in slow:
        t.start()
    # In flight on the tasks (HAProxy's current sessions of the target groups) before the scale-in.
    assert wait_for(lambda: sum(int(r[4] or 0) for r in haproxy_stats(lb) if r[1] == "BACKEND") >= 3 or None, seconds=10, every=0.1)
    ecs.update_service(cluster="behind", service="web", desiredCount=1)
    for t in slow:
        t.join()
    assert [r for r in results if r != (200, "slow-done\n")] == [], results
    assert wait_for(lambda: len(tasks_of(ecs, "behind", "web")) == 1 or None, seconds=60)
    assert wait_for(lambda: len(states(elb, tg)) == 1 or None, seconds=60), states(elb, tg)


def exec_in(container_id, *command):
    """Runs a command in a container through the engine's exec API (Podman's Docker-compatible one)."""
    from conftest import SOCKET
    created = subprocess.run(["curl", "-s", "--unix-socket", SOCKET, "-X", "POST", "-H", "Content-Type: application/json",
                              "-d", json.dumps({"Cmd": list(command), "AttachStdout": True, "AttachStderr": True}),
                              f"http://d/v1.41/containers/{container_id}/exec"], capture_output=True, text=True, check=True).stdout
    exec_id = json.loads(created)["Id"]
    subprocess.run(["curl", "-s", "--unix-socket", SOCKET, "-X", "POST", "-H", "Content-Type: application/json",
                    "-d", json.dumps({"Detach": False}), f"http://d/v1.41/exec/{exec_id}/start"], capture_output=True, check=True)


def test_a_task_the_target_group_finds_unhealthy_is_replaced(server, tenant, lb, tmp_path, agents, need_engine):
    from conftest import cluster_with_agent, containers_of, tasks_of
    elb = elbv2(server, tenant)
    ecs = cluster_with_agent(server, tenant, tmp_path, agents, "sickly")
    balancer = elb.create_load_balancer(Name="sickly")["LoadBalancers"][0]
    tg = elb.create_target_group(Name="sickly-web", Protocol="HTTP", Port=8080, TargetType="instance",
                                 **health_check())["TargetGroups"][0]["TargetGroupArn"]
    elb.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "0"}])
    elb.create_listener(LoadBalancerArn=balancer["LoadBalancerArn"], Protocol="HTTP", Port=18091,
                        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
    web_definition(ecs, "sickly", "1")
    ecs.create_service(cluster="sickly", serviceName="web", taskDefinition="sickly", desiredCount=2, healthCheckGracePeriodSeconds=0,
                       loadBalancers=[{"targetGroupArn": tg, "containerName": "web", "containerPort": 8080}])
    assert wait_for(lambda: len([h for h in states(elb, tg).values() if h["State"] == "healthy"]) == 2 or None, seconds=120)
    first = {t["taskArn"] for t in tasks_of(ecs, "sickly", "web")}
    victim = sorted(first)[0]
    container = next(c for c in containers_of(agents[-1].arn) if c["Labels"].get("stowage.task") == victim)
    exec_in(container["Id"], "rm", "/www/health")

    def replaced():
        stopped = ecs.describe_tasks(cluster="sickly", tasks=[victim])["tasks"][0]
        running = {t["taskArn"] for t in tasks_of(ecs, "sickly", "web")}
        return stopped if stopped["desiredStatus"] == "STOPPED" and len(running) == 2 and victim not in running else None
    stopped = wait_for(replaced, seconds=120)
    assert stopped, states(elb, tg)
    assert stopped["stoppedReason"] == f"Task failed ELB health checks in (target-group {tg})"
    assert wait_for(lambda: len([h for h in states(elb, tg).values() if h["State"] == "healthy"]) == 2 or None, seconds=120)
