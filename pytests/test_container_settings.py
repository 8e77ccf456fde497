"""Issue 13, items 3 and 4: volumes and the container settings a task definition asks for are applied by the
engine (real Podman, real agent, boto3), or the task fails with a reason that says why — never dropped."""
import json
import os
import urllib.parse

import boto3
import pytest

from conftest import REGION, cluster_with_agent, docker, signed_request, wait_for


@pytest.fixture(autouse=True)
def engine(need_engine):
    """Every test here runs real containers."""


BUSYBOX = "localhost/busybox:latest"


def logs_client(server, tenant):
    return boto3.client("logs", endpoint_url=server.endpoint, region_name=REGION,
                        aws_access_key_id=tenant.key_id, aws_secret_access_key=tenant.secret)


def awslogs(group, prefix):
    return {"logDriver": "awslogs", "options": {"awslogs-group": group, "awslogs-stream-prefix": prefix,
                                                "awslogs-create-group": "true"}}


def printed(logs, group, until):
    """The lines shipped to the group once one of them starts with `until`."""
    def lines():
        if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
            return None
        found = [e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]]
        return found if any(line.startswith(until) for line in found) else None
    return wait_for(lines, seconds=90) or []


def value(lines, key):
    hits = [line[len(key) + 1:] for line in lines if line.startswith(key + "=")]
    assert hits, f"{key} was not printed: {lines}"
    return hits[0]


def task_volumes(arn):
    return docker("GET", "/volumes?filters=" + urllib.parse.quote(json.dumps({"label": [f"stowage.task={arn}"]})))["Volumes"]


def started(ecs, cluster, family, **extra):
    arn = ecs.run_task(cluster=cluster, taskDefinition=family, **extra)["tasks"][0]["taskArn"]
    return arn


def described(ecs, cluster, arn):
    return ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]


def stopped(ecs, cluster, arn):
    return wait_for(lambda: (lambda t: t if t["lastStatus"] == "STOPPED" else None)(described(ecs, cluster, arn)), seconds=90)


def test_volumes_and_hardening_are_applied_by_the_engine(server, tenant, tmp_path, agents):
    ecs = cluster_with_agent(server, tenant, tmp_path, agents, "settings")
    logs = logs_client(server, tenant)
    host_dir = tmp_path / "host-data"
    host_dir.mkdir()
    (host_dir / "greeting.txt").write_text("hello from the host\n")

    probe = " ; ".join([
        "echo host=$(cat /data/greeting.txt)",
        "touch /rootfs-probe 2>/dev/null && echo rootfs=writable || echo rootfs=read-only",
        "echo scratch=$(touch /scratch/x && echo writable)",
        "echo tmpfs=$(grep ' /scratch ' /proc/mounts | cut -d' ' -f3)",
        "echo nofile=$(ulimit -n)",
        "echo uid=$(id -u)",
        "echo hostname=$(hostname)",
        "echo extrahost=$(grep -w db.internal /etc/hosts | awk '{print $1}')",
        "echo somaxconn=$(cat /proc/sys/net/core/somaxconn)",
        "echo shm=$(df -k /dev/shm | tail -1 | awk '{print $2}')",
        "echo pid1=$(cat /proc/1/cmdline | tr '\\0' ' ')",
        "echo caps=$(grep CapBnd /proc/self/status | cut -f2)",
        "while [ ! -f /shared/note ]; do sleep 0.2; done; echo shared=$(cat /shared/note)",
        "sleep 0.5; echo sibling=$(ps | grep -c '[s]leep 4242')",
        "echo done=1",
        "sleep 600",
    ])
    main = {
        "name": "main", "image": BUSYBOX, "command": ["sh", "-c", probe], "essential": True,
        "mountPoints": [{"sourceVolume": "hostdata", "containerPath": "/data", "readOnly": True},
                        {"sourceVolume": "scratchpad", "containerPath": "/shared", "readOnly": True}],
        "readonlyRootFilesystem": True, "user": "1234:1234", "hostname": "web-1",
        "ulimits": [{"name": "nofile", "softLimit": 512, "hardLimit": 512}],
        "extraHosts": [{"hostname": "db.internal", "ipAddress": "10.1.2.3"}],
        "systemControls": [{"namespace": "net.core.somaxconn", "value": "1024"}],
        "dockerLabels": {"team": "payments"},
        "linuxParameters": {"tmpfs": [{"containerPath": "/scratch", "size": 8, "mountOptions": ["mode=1777"]}],
                            "initProcessEnabled": True, "sharedMemorySize": 16,
                            "capabilities": {"add": ["SYS_TIME"], "drop": ["CHOWN"]}},
        "logConfiguration": awslogs("/settings/main", "s"),
    }
    writer = {"name": "writer", "image": BUSYBOX, "essential": False,
              "command": ["sh", "-c", "echo written-by-writer > /shared/note; sleep 4242"],
              "mountPoints": [{"sourceVolume": "scratchpad", "containerPath": "/shared"}]}
    ecs.register_task_definition(
        family="settings", memory="256", cpu="512", pidMode="task", containerDefinitions=[main, writer],
        volumes=[{"name": "hostdata", "host": {"sourcePath": str(host_dir)}}, {"name": "scratchpad"}])
    arn = started(ecs, "settings", "settings")
    lines = printed(logs, "/settings/main", "done=")
    assert lines, "the probe printed its findings"
    assert value(lines, "host") == "hello from the host"
    assert value(lines, "rootfs") == "read-only"
    assert value(lines, "scratch") == "writable"
    assert value(lines, "tmpfs") == "tmpfs"
    assert value(lines, "nofile") == "512"
    assert value(lines, "uid") == "1234"
    assert value(lines, "hostname") == "web-1"
    assert value(lines, "extrahost") == "10.1.2.3"
    assert value(lines, "somaxconn") == "1024"
    assert value(lines, "shm") == str(16 * 1024)
    assert "init" in value(lines, "pid1") or "catatonit" in value(lines, "pid1"), value(lines, "pid1")
    bounding = int(value(lines, "caps"), 16)
    assert bounding & (1 << 25) and not bounding & 1, "SYS_TIME (bit 25) added, CHOWN (bit 0) dropped"
    assert int(value(lines, "sibling")) >= 1, "pidMode task: main sees the writer's process"
    assert value(lines, "shared") == "written-by-writer"

    task = described(ecs, "settings", arn)
    ids = {c["name"]: c["runtimeId"] for c in task["containers"]}
    inspected = docker("GET", f"/containers/{ids['main']}/json")
    assert inspected["Config"]["Labels"]["team"] == "payments"
    assert inspected["HostConfig"]["Memory"] == 256 << 20, "the task's memory caps a container without its own"
    assert inspected["HostConfig"]["NanoCpus"] == 500_000_000, "the task's 512 CPU units cap each container at half a CPU"
    volumes = task_volumes(arn)
    assert [v["Name"] for v in volumes] == [f"stowage-{arn.split('/')[-1]}-scratchpad"]

    ecs.stop_task(cluster="settings", task=arn)
    assert stopped(ecs, "settings", arn)
    gone = wait_for(lambda: task_volumes(arn) == [])
    assert gone, "the task's own volume is removed with it"


def test_shared_volumes_volumes_from_and_a_tty_container(server, tenant, tmp_path, agents):
    ecs = cluster_with_agent(server, tenant, tmp_path, agents, "shared")
    logs = logs_client(server, tenant)
    name = f"cache{os.getpid()}"
    source = {"name": "source", "image": BUSYBOX, "memory": 16, "essential": False,
              "command": ["sh", "-c", "echo kept > /cache/mark; sleep 600"],
              "mountPoints": [{"sourceVolume": name, "containerPath": "/cache"}]}
    reader = {"name": "reader", "image": BUSYBOX, "memory": 16, "pseudoTerminal": True, "interactive": True,
              "volumesFrom": [{"sourceContainer": "source", "readOnly": True}],
              "command": ["sh", "-c", "while [ ! -f /cache/mark ]; do sleep 0.2; done; echo mark=$(cat /cache/mark); "
                          "touch /cache/other 2>/dev/null && echo from=rw || echo from=ro; echo tty=$(tty); sleep 600"],
              "logConfiguration": awslogs("/shared/reader", "r")}
    ecs.register_task_definition(family="shared", containerDefinitions=[source, reader], volumes=[
        {"name": name, "dockerVolumeConfiguration": {"scope": "shared", "autoprovision": True, "driver": "local",
                                                        "labels": {"purpose": "test"}}}])
    arn = started(ecs, "shared", "shared")
    lines = printed(logs, "/shared/reader", "tty=")
    assert value(lines, "mark") == "kept"
    assert value(lines, "from") == "ro"
    assert value(lines, "tty").startswith("/dev/pts/"), "pseudoTerminal gave a TTY, and its output still ships"
    ecs.stop_task(cluster="shared", task=arn)
    assert stopped(ecs, "shared", arn)
    volume = docker("GET", f"/volumes/{name}")
    assert volume["Labels"].get("purpose") == "test", "a shared volume outlives its task"
    docker("DELETE", f"/volumes/{name}")

    # A shared volume that does not exist, without autoprovision, fails the task and says which.
    ecs.register_task_definition(family="missing-volume", containerDefinitions=[dict(source, essential=True)], volumes=[
        {"name": name, "dockerVolumeConfiguration": {"scope": "shared", "autoprovision": False}}])
    failed = stopped(ecs, "shared", started(ecs, "shared", "missing-volume"))
    assert failed["stopCode"] == "TaskFailedToStart"
    assert "does not exist" in failed["stoppedReason"] and "autoprovision" in failed["stoppedReason"], failed["stoppedReason"]


def test_settings_the_host_refuses_fail_the_task_with_the_reason(server, tenant, tmp_path, agents):
    ecs = cluster_with_agent(server, tenant, tmp_path, agents, "refusals")
    # vm.* is not namespaced: the engine refuses to set it for one container.
    sysctl = {"name": "app", "image": BUSYBOX, "memory": 16, "command": ["sleep", "60"],
              "systemControls": [{"namespace": "vm.swappiness", "value": "10"}]}
    ecs.register_task_definition(family="sysctl", containerDefinitions=[sysctl])
    failed = stopped(ecs, "refusals", started(ecs, "refusals", "sysctl"))
    assert failed["stopCode"] == "TaskFailedToStart"
    assert failed["stoppedReason"].startswith("CannotCreateContainerError") or "CannotStartContainerError" in failed["stoppedReason"]
    assert "vm.swappiness" in failed["stoppedReason"] or "sysctl" in failed["stoppedReason"], failed["stoppedReason"]

    # A log driver the engine does not have fails the task by name; none of it is silently dropped.
    splunk = {"name": "app", "image": BUSYBOX, "memory": 16, "command": ["sleep", "60"],
              "logConfiguration": {"logDriver": "splunk", "options": {"splunk-url": "http://127.0.0.1:1"}}}
    ecs.register_task_definition(family="splunk", containerDefinitions=[splunk])
    failed = stopped(ecs, "refusals", started(ecs, "refusals", "splunk"))
    assert failed["stopCode"] == "TaskFailedToStart" and "splunk" in failed["stoppedReason"], failed["stoppedReason"]


@pytest.mark.parametrize("container, top, message", [
    ({"mountPoints": [{"sourceVolume": "nope", "containerPath": "/x"}]}, {}, "does not declare"),
    ({"mountPoints": [{"sourceVolume": "v", "containerPath": "relative"}]}, {"volumes": [{"name": "v"}]}, "absolute"),
    ({"ulimits": [{"name": "nofiles", "softLimit": 1, "hardLimit": 1}]}, {}, "unknown ulimit"),
    ({"ulimits": [{"name": "nofile", "softLimit": 10, "hardLimit": 1}]}, {}, "softLimit"),
    ({"linuxParameters": {"capabilities": {"add": ["NET_ADMINN"]}}}, {}, "NET_ADMINN"),
    ({"linuxParameters": {"swappiness": 101}}, {}, "swappiness"),
    ({"linuxParameters": {"tmpfs": [{"containerPath": "/t", "size": 0}]}}, {}, "tmpfs.size"),
    ({"hostname": "h"}, {"networkMode": "host"}, "host network mode"),
    ({"dockerLabels": {"stowage.task": "x"}}, {}, "reserved"),
    ({"volumesFrom": [{"sourceContainer": "app"}]}, {}, "not another container"),
    ({}, {"volumes": [{"name": "v", "host": {"sourcePath": "/srv"}, "dockerVolumeConfiguration": {"scope": "task"}}]}, "both"),
    ({}, {"volumes": [{"name": "v", "dockerVolumeConfiguration": {"scope": "task", "autoprovision": True}}]}, "autoprovision"),
    ({}, {"volumes": [{"name": "v", "efsVolumeConfiguration": {"fileSystemId": "fs-1"}}]}, "volumes[0].efsVolumeConfiguration"),
    ({}, {"pidMode": "task", "ipcMode": "container"}, "ipcMode"),
    ({"linuxParameters": {"initProcessEnabled": True}}, {"pidMode": "host"}, "initProcessEnabled"),
])
def test_invalid_settings_are_refused_at_registration(ecs, container, top, message):
    family = f"bad-settings-{abs(hash(message)) % 10**8}"
    base = {"name": "app", "image": BUSYBOX, "memory": 16, "command": ["true"]}
    with pytest.raises(Exception) as refused:
        ecs.register_task_definition(family=family, containerDefinitions=[dict(base, **container)], **top)
    error = refused.value.response["Error"]
    assert error["Code"] in {"ClientException", "InvalidParameterException"}, error
    assert message in error["Message"], error["Message"]
    assert ecs.list_task_definitions(familyPrefix=family)["taskDefinitionArns"] == []


def test_a_restart_policy_restarts_the_container_in_place(server, tenant, tmp_path, agents):
    """ECS's restartPolicy: a container that ran its restartAttemptPeriod (the minimum, 60 s) and exits is started
    again in place — same task, same container, its own files kept. The period then counts from the restart: exiting
    sooner after it ends the task as usual, as exiting sooner after the first start does. One period (ECS allows none
    shorter) is the whole wait: a second restart would only wait out another."""
    ecs = cluster_with_agent(server, tenant, tmp_path, agents, "restarts")
    # The first run leaves a file in the container's own layer and exits 3 after the period; the restarted one finds
    # the file (so it is the same container) and exits 4 when the test writes a file on a host volume.
    control = tmp_path / "control"
    control.mkdir()
    script = ("if [ -e /restarted ]; then while [ ! -e /control/exit ]; do sleep 1; done; exit 4; fi; "
              "touch /restarted; sleep 61; exit 3")
    worker = {"name": "worker", "image": BUSYBOX, "memory": 16, "command": ["sh", "-c", script],
              "mountPoints": [{"sourceVolume": "control", "containerPath": "/control", "readOnly": True}],
              "restartPolicy": {"enabled": True, "ignoredExitCodes": [0], "restartAttemptPeriod": 60}}
    ecs.register_task_definition(family="restarts", containerDefinitions=[worker],
                                 volumes=[{"name": "control", "host": {"sourcePath": str(control)}}])
    arn = started(ecs, "restarts", "restarts")
    first = wait_for(lambda: (lambda t: t if t["lastStatus"] == "RUNNING" else None)(described(ecs, "restarts", arn)))
    runtime_id = first["containers"][0]["runtimeId"]
    path = f"/v1/clusters/restarts/tasks/{arn.split('/')[-1]}"

    def count():
        status, body = signed_request(server, tenant, "GET", path)
        assert status == 200, body
        return body["task"]["containers"][0].get("restartCount")
    assert count() == 0
    once = wait_for(lambda: count() == 1, seconds=120, every=1)
    assert once, described(ecs, "restarts", arn)
    task = described(ecs, "restarts", arn)
    assert task["lastStatus"] == "RUNNING" and task["taskArn"] == arn
    assert task["containers"][0]["runtimeId"] == runtime_id, "restarted in place, not replaced"
    # boto3 keeps only ECS's modelled members: the count reaches it in the container's reason.
    assert task["containers"][0]["reason"] == "restarted in place 1 time, last after exit code 3", task["containers"][0]
    assert len(ecs.list_tasks(cluster="restarts")["taskArns"]) == 1, "no second task"

    # Seconds after the restart, well inside a new period: a crash, so the task stops, not a second restart.
    (control / "exit").touch()
    ended = stopped(ecs, "restarts", arn)
    assert ended, f"an exit sooner than the period after the restart ends the task: {described(ecs, 'restarts', arn)}"
    assert ended["stopCode"] == "EssentialContainerExited" and ended["containers"][0]["exitCode"] == 4, ended
    assert ended["containers"][0]["runtimeId"] == runtime_id, "the restarted container itself exited"
    assert count() == 1, "not restarted a second time"
    assert ecs.list_tasks(cluster="restarts", desiredStatus="STOPPED")["taskArns"] == [arn], "no other task"

    # Exiting before the attempt period is a crash, not a restart: the task stops as without a policy.
    quick = dict(worker, command=["sh", "-c", "exit 4"], mountPoints=[])
    ecs.register_task_definition(family="quick-crash", containerDefinitions=[quick])
    crashed = stopped(ecs, "restarts", started(ecs, "restarts", "quick-crash"))
    assert crashed["stopCode"] == "EssentialContainerExited" and crashed["containers"][0]["exitCode"] == 4
    assert "restarted" not in crashed["containers"][0].get("reason", "")
