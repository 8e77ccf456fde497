"""Issue 14, item 5: configuration volumes (real agent, real Podman). A `dockerVolumeConfiguration` with driver
`stowage` names files from parameters, secrets (or one JSON key) and inline text; the agent writes them on a tmpfs
with their mode and owner and mounts them read-only. A changed value rolls the service (the default) or rewrites
the files of running tasks in place (opt-in)."""
import json
import time
import os
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ECS_TASKS_TRUST as TRUST, REGION, cluster_with_agent, ecs_client, tenant_clients, wait_for

@pytest.fixture(autouse=True)
def engine(need_engine):
    """Every test here runs real containers."""


def clients(server, tenant):
    return tenant_clients(server, tenant, "iam", "secretsmanager", "ssm", "logs")


def execution_role(iam, tenant, name):
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]
    iam.put_role_policy(RoleName=name, PolicyName="read", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "ssm:GetParameters"], "Resource": "*"}]}))
    return role["Arn"]


def lines_of(logs, group, task_id=None):
    """The lines a log group's streams hold (of one task's stream when task_id is given), oldest first."""
    if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
        return []
    kwargs = {"logGroupName": group}
    if task_id:
        kwargs["logStreamNamePrefix"] = f"s/app/{task_id}"
    return [e["message"] for e in logs.filter_log_events(**kwargs)["events"]]


def awslogs(group):
    return {"logDriver": "awslogs", "options": {"awslogs-group": group, "awslogs-stream-prefix": "s", "awslogs-create-group": "true"}}


def running_task_ids(ecs, cluster):
    arns = ecs.list_tasks(cluster=cluster, desiredStatus="RUNNING")["taskArns"]
    tasks = ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []
    return {t["taskArn"].rsplit("/", 1)[1] for t in tasks if t["lastStatus"] == "RUNNING"}


def test_files_from_a_parameter_a_secret_key_and_text_on_tmpfs_and_a_change_rolls_the_service(server, tenant, tmp_path, agents):
    iam, sm, ssm, logs = clients(server, tenant)
    password = "pw-" + uuid.uuid4().hex
    secret_arn = sm.create_secret(Name="cfg/db", SecretString=json.dumps({"user": "app", "password": password}))["ARN"]
    ssm.put_parameter(Name="/cfg/app.conf", Value="level=info", Type="String")
    role = execution_role(iam, tenant, "cfg-exec")
    ecs = cluster_with_agent(server, tenant, tmp_path, agents, "cfgvol")
    script = ("echo conf=$(cat /etc/app/app.conf); echo password=$(cat /etc/app/db/password); echo motd=$(cat /etc/app/motd); "
              "echo stat=$(stat -c '%a:%u:%g' /etc/app/db/password); echo confstat=$(stat -c '%a:%u' /etc/app/app.conf); "
              "echo mount=$(mount | grep ' /etc/app '); "
              "if touch /etc/app/new 2>/dev/null; then echo writable=yes; else echo writable=no; fi; echo done=1; sleep 600")
    volume = {"name": "config", "dockerVolumeConfiguration": {"scope": "task", "driver": "stowage", "driverOpts": {
        "file:app.conf": "parameter:/cfg/app.conf",
        "file:db/password": f"secret:{secret_arn}:password::",
        "file:motd": "text:hello from stowage",
        "mode:db/password": "0400", "uid:db/password": "1000", "gid:db/password": "1000"}}}
    app = {"name": "app", "image": "localhost/busybox:latest", "memory": 32, "command": ["sh", "-c", script],
           "logConfiguration": awslogs("/cfgvol"), "mountPoints": [{"sourceVolume": "config", "containerPath": "/etc/app"}]}
    ecs.register_task_definition(family="cfgvol", executionRoleArn=role, containerDefinitions=[app], volumes=[volume])
    ecs.create_service(cluster="cfgvol", serviceName="svc", taskDefinition="cfgvol", desiredCount=1,
                       deploymentConfiguration={"minimumHealthyPercent": 0, "maximumPercent": 100})

    first = wait_for(lambda: running_task_ids(ecs, "cfgvol"), seconds=90)
    assert first and len(first) == 1
    (first_id,) = first

    def printed(task_id):
        found = dict(line.split("=", 1) for line in lines_of(logs, "/cfgvol", task_id) if "=" in line)
        return found if "done" in found else None
    found = wait_for(lambda: printed(first_id), seconds=60)
    assert found, "the container printed its files"
    assert found["conf"] == "level=info"
    assert found["password"] == password, "one JSON key of the secret"
    assert found["motd"] == "hello from stowage"
    assert found["stat"] == "400:1000:1000", "the secret file's mode and owner"
    assert found["confstat"] == "444:0", "the default mode and owner"
    assert found["mount"].startswith("tmpfs on /etc/app type tmpfs (ro"), f"on a tmpfs, read-only: {found['mount']}"
    assert found["writable"] == "no"

    described = json.dumps(ecs.describe_task_definition(taskDefinition="cfgvol"), default=str)
    assert "parameter:/cfg/app.conf" in described and password not in described

    # The agent restarts (as make dev's Ctrl-C and start do): it adopts the running task with its volume, whose
    # secrets it does not fetch again, and never stops it (static stability). Bounded watch: a stop comes at once.
    container = ecs.describe_tasks(cluster="cfgvol", tasks=[first_id])["tasks"][0]["containers"][0]["runtimeId"]
    agents[-1].stop()
    agents[-1].start()
    stopped = wait_for(lambda: ecs.describe_tasks(cluster="cfgvol", tasks=[first_id])["tasks"][0]["lastStatus"] == "STOPPED" or None,
                       seconds=15)
    task = ecs.describe_tasks(cluster="cfgvol", tasks=[first_id])["tasks"][0]
    assert not stopped and task["containers"][0]["runtimeId"] == container, task.get("stoppedReason")

    # A new value rolls the service: a new deployment whose task reads it, announced in the events.
    ssm.put_parameter(Name="/cfg/app.conf", Value="level=debug", Type="String", Overwrite=True)

    def rolled():
        ids = running_task_ids(ecs, "cfgvol")
        return ids if ids and first_id not in ids else None
    second = wait_for(rolled, seconds=120)
    assert second, "a new task replaced the first"
    (second_id,) = second
    found = wait_for(lambda: printed(second_id), seconds=60)
    assert found and found["conf"] == "level=debug" and found["password"] == password
    service = ecs.describe_services(cluster="cfgvol", services=["svc"])["services"][0]
    assert any("the value of parameter /cfg/app.conf changed" in e["message"] for e in service["events"]), service["events"][:5]
    assert service["taskDefinition"].endswith("cfgvol:1"), "the same revision, deployed again"

    # The first task's files are gone from the agent's tmpfs once it stopped.
    agent_dir = "/dev/shm/stowage-agent"
    assert wait_for(lambda: not os.path.exists(f"{agent_dir}/{first_id}") or None, seconds=30), "a stopped task's files are removed"


def test_in_place_volumes_update_running_tasks_without_a_deployment(server, tenant, tmp_path, agents):
    iam, sm, ssm, logs = clients(server, tenant)
    ssm.put_parameter(Name="/live/flags", Value="v1", Type="String")
    sm.create_secret(Name="live/token", SecretString="t1")
    secret_arn = sm.describe_secret(SecretId="live/token")["ARN"]
    role = execution_role(iam, tenant, "live-exec")
    ecs = cluster_with_agent(server, tenant, tmp_path, agents, "livevol", extra=("--config-refresh-interval", "1"))
    script = "while true; do echo flags=$(cat /conf/flags) token=$(cat /conf/token); sleep 1; done"
    volume = {"name": "conf", "dockerVolumeConfiguration": {"scope": "task", "driver": "stowage", "driverOpts": {
        "file:flags": "parameter:/live/flags", "file:token": f"secret:{secret_arn}", "updates": "in-place"}}}
    app = {"name": "app", "image": "localhost/busybox:latest", "memory": 32, "command": ["sh", "-c", script],
           "logConfiguration": awslogs("/livevol"), "mountPoints": [{"sourceVolume": "conf", "containerPath": "/conf"}]}
    ecs.register_task_definition(family="livevol", executionRoleArn=role, containerDefinitions=[app], volumes=[volume])
    ecs.create_service(cluster="livevol", serviceName="svc", taskDefinition="livevol", desiredCount=1)
    ids = wait_for(lambda: running_task_ids(ecs, "livevol"), seconds=90)
    assert ids
    (task_id,) = ids
    assert wait_for(lambda: "flags=v1 token=t1" in lines_of(logs, "/livevol", task_id) or None, seconds=60)

    ssm.put_parameter(Name="/live/flags", Value="v2", Type="String", Overwrite=True)
    sm.put_secret_value(SecretId="live/token", SecretString="t2")
    assert wait_for(lambda: "flags=v2 token=t2" in lines_of(logs, "/livevol", task_id) or None, seconds=60), \
        "the running task sees the new values"
    assert running_task_ids(ecs, "livevol") == {task_id}, "the same task, not a new one"
    service = ecs.describe_services(cluster="livevol", services=["svc"])["services"][0]
    assert len(service["deployments"]) == 1
    assert not any("changed" in e["message"] for e in service["events"])


def test_bad_driver_options_are_refused_by_name(server, tenant):
    ecs = ecs_client(server, tenant)
    app = {"name": "app", "image": "busybox", "memory": 32, "mountPoints": [{"sourceVolume": "c", "containerPath": "/c"}]}
    role = f"arn:aws:iam::{tenant.account}:role/any"
    cases = [
        ({"file:a": "parameter:/x", "colour": "red"}, "colour"),
        ({"file:../escape": "text:x"}, "../escape"),
        ({"file:a": "nothing:x"}, "file:a"),
        ({"file:a": "text:x", "mode": "999"}, "mode"),
        ({"file:a": "text:x", "uid:b": "1"}, "uid:b"),
        ({"file:a": "text:x", "updates": "sometimes"}, "updates"),
        ({"file:a": "secret:not-an-arn"}, "not-an-arn"),
        ({}, "names no file"),
    ]
    for options, words in cases:
        volume = {"name": "c", "dockerVolumeConfiguration": {"scope": "task", "driver": "stowage", "driverOpts": options}}
        with pytest.raises(ClientError) as raised:
            ecs.register_task_definition(family="badvol", executionRoleArn=role, containerDefinitions=[app], volumes=[volume])
        error = raised.value.response["Error"]
        assert error["Code"] == "ClientException" and words in error["Message"], (options, error)
    # A parameter-backed volume without an execution role has no one to read it with.
    volume = {"name": "c", "dockerVolumeConfiguration": {"scope": "task", "driver": "stowage", "driverOpts": {"file:a": "parameter:/x"}}}
    with pytest.raises(ClientError) as raised:
        ecs.register_task_definition(family="badvol", containerDefinitions=[app], volumes=[volume])
    assert "executionRoleArn" in raised.value.response["Error"]["Message"]
    # A shared-scope stowage volume would outlive its task's values.
    volume["dockerVolumeConfiguration"]["scope"] = "shared"
    with pytest.raises(ClientError):
        ecs.register_task_definition(family="badvol", executionRoleArn=role, containerDefinitions=[app], volumes=[volume])
    with pytest.raises(ClientError):
        ecs.describe_task_definition(taskDefinition="badvol")
    # Text-only volumes need no role.
    volume = {"name": "c", "dockerVolumeConfiguration": {"scope": "task", "driver": "stowage", "driverOpts": {"file:a": "text:x"}}}
    assert ecs.register_task_definition(family="textvol", containerDefinitions=[app], volumes=[volume])["taskDefinition"]["revision"] == 1
