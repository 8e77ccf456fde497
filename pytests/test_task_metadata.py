"""Issue 13, item 6: the task metadata endpoint v4 and task-role credentials, read from inside a bridge-mode
container (real agent, real Podman), in ECS's JSON shape, and only for the container's own task."""
import json

import boto3
import pytest

from conftest import REGION, cluster_with_agent, ecs_client, wait_for


@pytest.fixture(autouse=True)
def engine(need_engine):
    """Every test here runs real containers."""


def test_a_bridge_container_reads_its_task_metadata_and_role_credentials(server, tenant, tmp_path, agents):
    ecs = ecs_client(server, tenant)
    iam = boto3.client("iam", endpoint_url=server.endpoint, region_name=REGION,
                       aws_access_key_id=tenant.key_id, aws_secret_access_key=tenant.secret)
    logs = boto3.client("logs", endpoint_url=server.endpoint, region_name=REGION,
                        aws_access_key_id=tenant.key_id, aws_secret_access_key=tenant.secret)
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName="meta-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    cluster_with_agent(server, tenant, tmp_path, agents, "meta")
    # Each answer on one line, tagged, so the test can pick it out of the shipped log.
    script = "; ".join([
        "sleep 2",
        'echo "self=$(wget -q -O - $ECS_CONTAINER_METADATA_URI_V4)"',
        'echo "task=$(wget -q -O - $ECS_CONTAINER_METADATA_URI_V4/task)"',
        'echo "stats=$(wget -q -O - $ECS_CONTAINER_METADATA_URI_V4/stats | head -c 4000)"',
        'echo "taskstats=$(wget -q -O - $ECS_CONTAINER_METADATA_URI_V4/task/stats | head -c 100)"',
        'echo "other=$(wget -q -O - ${ECS_CONTAINER_METADATA_URI_V4%/*}/0000000000000000000000000000000000000000/task 2>&1 | head -c 100)"',
        'echo "creds=$(wget -q -O - --header "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" $AWS_CONTAINER_CREDENTIALS_FULL_URI)"',
        'echo "uri=$ECS_CONTAINER_METADATA_URI_V4"',
        "sleep 600",
    ])
    app = {"name": "app", "image": "localhost/busybox:latest", "memory": 32, "command": ["sh", "-c", script],
           "portMappings": [{"containerPort": 8080}], "dockerLabels": {"tier": "web"},
           "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/meta", "awslogs-stream-prefix": "m",
                                                                     "awslogs-create-group": "true"}}}
    ecs.register_task_definition(family="meta", taskRoleArn=role["Arn"], networkMode="bridge", cpu="256", memory="128",
                                 containerDefinitions=[app])
    ecs.create_service(cluster="meta", serviceName="meta-svc", taskDefinition="meta", desiredCount=1)

    def printed():
        if not logs.describe_log_groups(logGroupNamePrefix="/meta")["logGroups"]:
            return None
        lines = [e["message"] for e in logs.filter_log_events(logGroupName="/meta")["events"]]
        return {line.split("=", 1)[0]: line.split("=", 1)[1] for line in lines if "=" in line} if any(
            line.startswith("uri=") for line in lines) else None

    found = wait_for(printed, seconds=90)
    assert found, "the container printed what the endpoints answered"
    task_arn = ecs.list_tasks(cluster="meta", serviceName="meta-svc")["taskArns"][0]
    task = ecs.describe_tasks(cluster="meta", tasks=[task_arn])["tasks"][0]
    assert found["uri"].startswith("http://169.254.170.2:"), "ECS's link-local address, reachable from the bridge network"

    me = json.loads(found["self"])
    assert me["Name"] == "app" and me["DockerId"] == task["containers"][0]["runtimeId"]
    assert me["ContainerARN"] == task["containers"][0]["containerArn"]
    assert me["KnownStatus"] == "RUNNING" and me["Labels"] == {"tier": "web"}
    assert me["Limits"] == {"CPU": 0, "Memory": 32}
    assert me["ImageID"].startswith("sha256:") or len(me["ImageID"]) == 64
    assert me["Networks"][0]["NetworkMode"] == "bridge" and me["Networks"][0]["IPv4Addresses"], me["Networks"]
    binding = task["containers"][0]["networkBindings"][0]
    assert me["Ports"] == [{"ContainerPort": 8080, "Protocol": "tcp", "HostPort": binding["hostPort"], "HostIp": "0.0.0.0"}]

    whole = json.loads(found["task"])
    assert whole["TaskARN"] == task_arn and whole["Family"] == "meta" and whole["Revision"] == "1"
    assert whole["Cluster"].endswith(":cluster/meta") and whole["ServiceName"] == "meta-svc"
    assert whole["Limits"] == {"CPU": 0.25, "Memory": 128} and whole["LaunchType"] == "EC2"
    assert [c["Name"] for c in whole["Containers"]] == ["app"]

    assert '"cpu_stats"' in found["stats"] and '"memory_stats"' in found["stats"], found["stats"]
    assert me["DockerId"] in found["taskstats"]
    assert "404" in found["other"] or found["other"] == "", "another path token reads nothing"

    credentials = json.loads(found["creds"])
    assert credentials["RoleArn"] == role["Arn"] and credentials["AccessKeyId"].startswith("ASIA"), \
        "task-role credentials reach a bridge-mode container"
    ecs.update_service(cluster="meta", service="meta-svc", desiredCount=0)
