"""Issue 25: a Fargate task definition runs as written on Stowage's own host (real agent, real Podman). Its task gets
a network namespace and an address of its own (awsvpc): its two containers talk over localhost, DescribeTasks shows
the ENI attachment with the private address, the task metadata endpoint and secrets reach it, and the address is
reachable from the host while no host port is taken."""
import json
import platform
import subprocess
import uuid

from conftest import ECS_TASKS_TRUST as TRUST, REGION, Agent, ecs_client, tenant_clients, wait_for
import pytest


@pytest.fixture(autouse=True)
def engine(need_engine):
    """Every test here runs real containers."""


ARCH = "ARM64" if platform.machine() in ("aarch64", "arm64") else "X86_64"

# The shape of AWS's documented Fargate web server example (two containers, awslogs, secrets from Parameter Store),
# with the local busybox image: nothing here may reach the internet.
WEB = "mkdir -p /www && echo \"hello $GREETING\" > /www/greeting && exec httpd -f -p 80 -h /www"
SIDECAR = ("for i in $(seq 1 60); do body=$(wget -q -O- http://localhost:80/greeting) && break; sleep 1; done; "
           "echo \"SIDECAR $body\"; echo \"META $(wget -q -O- $ECS_CONTAINER_METADATA_URI_V4)\"; "
           "echo \"TASK $(wget -q -O- $ECS_CONTAINER_METADATA_URI_V4/task)\"; exec sleep 600")


def fargate_definition(role_arn, parameter_arn):
    log = {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/fargate-web", "awslogs-region": REGION,
                                               "awslogs-stream-prefix": "ecs", "awslogs-create-group": "true"}}
    return {
        "family": "fargate-web",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "runtimePlatform": {"operatingSystemFamily": "LINUX", "cpuArchitecture": ARCH},
        "executionRoleArn": role_arn,
        "containerDefinitions": [
            {"name": "web", "image": "localhost/busybox:latest", "essential": True, "command": ["sh", "-c", WEB], "stopTimeout": 3,
             "portMappings": [{"containerPort": 80, "protocol": "tcp"}], "logConfiguration": log,
             "secrets": [{"name": "GREETING", "valueFrom": parameter_arn}]},
            {"name": "sidecar", "image": "localhost/busybox:latest", "essential": False, "command": ["sh", "-c", SIDECAR], "stopTimeout": 3,
             "logConfiguration": log},
        ],
    }


def test_a_fargate_task_definition_runs_unchanged_with_an_address_of_its_own(server, tenant, tmp_path, agents):
    iam, ssm, logs = tenant_clients(server, tenant, "iam", "ssm", "logs")
    greeting = "g-" + uuid.uuid4().hex[:8]
    ssm.put_parameter(Name="/fargate/greeting", Value=greeting, Type="SecureString")
    parameter_arn = f"arn:aws:ssm:{REGION}:{tenant.account}:parameter/fargate/greeting"
    role = iam.create_role(RoleName="fargate-exec", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]
    iam.put_role_policy(RoleName="fargate-exec", PolicyName="read", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ssm:GetParameters", "Resource": parameter_arn}]}))
    ecs = ecs_client(server, tenant)
    ecs.create_cluster(clusterName="fargate")
    agents.append(Agent(server, tenant, "fargate", tmp_path / "fargate", extra=("--capacity-provider", "FARGATE")))
    instances = wait_for(lambda: ecs.list_container_instances(cluster="fargate")["containerInstanceArns"], seconds=60)
    assert instances
    attributes = {a["name"]: a.get("value") for a in
                  ecs.describe_container_instances(cluster="fargate", containerInstances=instances)["containerInstances"][0]["attributes"]}
    assert "ecs.capability.task-eni" in attributes, attributes
    subnet = attributes["stowage.task-subnet"]
    assert subnet.startswith("100.") and subnet.endswith(".0/24"), subnet

    definition = ecs.register_task_definition(**fargate_definition(role["Arn"], parameter_arn))["taskDefinition"]
    assert "FARGATE" in definition["compatibilities"]
    run = ecs.run_task(cluster="fargate", taskDefinition="fargate-web", launchType="FARGATE", platformVersion="LATEST",
                       networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-0123456789abcdef0"], "assignPublicIp": "DISABLED"}})
    assert not run["failures"], run["failures"]
    arn = run["tasks"][0]["taskArn"]

    def running():
        task = ecs.describe_tasks(cluster="fargate", tasks=[arn])["tasks"][0]
        address = [d["value"] for a in task.get("attachments", []) for d in a["details"] if d["name"] == "privateIPv4Address"]
        return task if task["lastStatus"] == "RUNNING" and address else None
    task = wait_for(running, seconds=90)
    assert task, ecs.describe_tasks(cluster="fargate", tasks=[arn])["tasks"][0]
    assert task["launchType"] == "FARGATE"
    attachment = task["attachments"][0]
    assert attachment["type"] == "ElasticNetworkInterface" and attachment["status"] == "ATTACHED", attachment
    details = {d["name"]: d["value"] for d in attachment["details"]}
    address = details["privateIPv4Address"]
    assert address.rsplit(".", 1)[0] == subnet.rsplit(".", 1)[0], (address, subnet)
    assert details["networkInterfaceId"].startswith("eni-")
    web = next(c for c in task["containers"] if c["name"] == "web")
    assert web["networkInterfaces"][0]["privateIpv4Address"] == address
    assert not web.get("networkBindings"), "an awsvpc task takes no host port"

    # The task's own address answers from the host, on the container port.
    answer = subprocess.run(["curl", "-s", "-m", "5", f"http://{address}:80/greeting"], capture_output=True, text=True)
    assert answer.stdout.strip() == f"hello {greeting}", answer

    # The sidecar reached the web container on localhost (one namespace) and the metadata endpoint shows awsvpc.
    stream = f"ecs/sidecar/{arn.split('/')[-1]}"

    def sidecar_lines():
        try:
            events = logs.get_log_events(logGroupName="/ecs/fargate-web", logStreamName=stream, startFromHead=True)["events"]
        except logs.exceptions.ResourceNotFoundException:
            return None
        lines = {e["message"].split(" ", 1)[0]: e["message"].split(" ", 1)[1] for e in events if " " in e["message"]}
        return lines if {"SIDECAR", "META", "TASK"} <= set(lines) else None
    lines = wait_for(sidecar_lines, seconds=60)
    assert lines, "the sidecar logged what it saw"
    assert lines["SIDECAR"] == f"hello {greeting}", lines
    meta = json.loads(lines["META"])
    assert meta["Networks"][0]["NetworkMode"] == "awsvpc" and meta["Networks"][0]["IPv4Addresses"] == [address], meta
    assert json.loads(lines["TASK"])["LaunchType"] == "FARGATE", lines["TASK"]

    ecs.stop_task(cluster="fargate", task=arn)
    assert wait_for(lambda: ecs.describe_tasks(cluster="fargate", tasks=[arn])["tasks"][0]["lastStatus"] == "STOPPED", seconds=60)
    # Nothing of the task stays on the host: its namespace holder went with its containers.
    from conftest import containers_of
    assert wait_for(lambda: not [c for c in containers_of(agents[-1].arn) if (c.get("Labels") or {}).get("stowage.task") == arn],
                    seconds=30), containers_of(agents[-1].arn)
    gone = subprocess.run(["curl", "-s", "-m", "2", f"http://{address}:80/greeting"], capture_output=True, text=True)
    assert gone.returncode != 0, "the address no longer answers"
