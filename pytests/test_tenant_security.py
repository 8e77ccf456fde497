"""Issue 23: the attacks an account with one tenant's keys (or one compromised agent host) can try on the shared
planes, performed against the real processes (server, worker, agent, `stowage lb` with HAProxy). Each test shows
the attack refused, that nothing changed, and where it matters that another tenant's traffic is unaffected.
docs/SECURITY.md maps each numbered item of the threat model to the test below that performs it."""
import json
import os
import time

import boto3
import pytest

from conftest import REGION, ecs_client, make_tenant, psql, signed_request, tenant_clients, wait_for



# ---------------------------------------------------------------------------------------------------------------
# Item 9: operator switches for what a host gives away. One agent runs with every --forbid-* switch and host paths
# allowed only under one directory. Tasks needing a forbidden setting are refused by the scheduler by name (RunTask
# and StartTask failures, a service's events) with nothing started; those that reach the agent anyway (an attribute
# added with PutAttributes, a symbolic link out of the allowed directory, the agent's own state directory) are
# stopped by the agent, naming the setting, before any container exists. The agent's private files are 0700/0600.
# ---------------------------------------------------------------------------------------------------------------
import stat as item9_stat
import uuid as item9_uuid

from conftest import cluster_with_agent as item9_cluster_with_agent, containers_of as item9_containers_of

ITEM9_PRIVILEGED = "com.amazonaws.ecs.capability.privileged-container"
ITEM9_BASE = {"name": "c", "image": "localhost/busybox:latest", "memory": 16, "command": ["sleep", "300"]}


def item9_attributes(ecs, cluster):
    instance = ecs.describe_container_instances(
        cluster=cluster, containerInstances=ecs.list_container_instances(cluster=cluster)["containerInstanceArns"])["containerInstances"][0]
    return instance["containerInstanceArn"], {a["name"]: a.get("value") for a in instance["attributes"]}


def item9_task_containers(instance, task_arn):
    return [c for c in item9_containers_of(instance) if c["Labels"].get("stowage.task") == task_arn]


def item9_stopped(ecs, cluster, task_arn):
    task = ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"][0]
    return task if task["lastStatus"] == "STOPPED" else None


def test_item9_forbidden_host_settings_are_never_placed_or_started(server, tenant, tmp_path, agents, need_engine):
    shared = tmp_path / "shared"
    (shared / "app").mkdir(parents=True)
    (shared / "escape").symlink_to("/etc")
    files = f"/dev/shm/stowage-item9-{item9_uuid.uuid4().hex[:8]}"
    # tmp_path is the allowed prefix; it also holds the agent's state directory (tmp_path/locked), which no switch allows.
    ecs = item9_cluster_with_agent(server, tenant, tmp_path, agents, "locked", extra=[
        "--forbid-host-access", "--host-path-prefix", str(tmp_path), "--allow-capability", "NET_BIND_SERVICE",
        "--config-files-dir", files])
    try:
        instance, attributes = item9_attributes(ecs, "locked")
        # What the instance allows, as attributes: ECS's privileged capability absent, the allow-list listed.
        assert ITEM9_PRIVILEGED not in attributes
        assert attributes["stowage.capability.host-settings"] == "advertised"
        assert attributes["stowage.capability.host-paths"] == "listed"
        assert attributes["stowage.capability.host-path.1"] == str(tmp_path)
        assert attributes["stowage.capability.linux-capabilities"] == "listed"
        assert "stowage.capability.linux-capability.NET_BIND_SERVICE" in attributes
        for name in ("devices", "host-pid-namespace", "host-ipc-namespace", "system-controls", "security-options"):
            assert f"stowage.capability.{name}" not in attributes

        mount = {"mountPoints": [{"sourceVolume": "h", "containerPath": "/h"}]}
        refused = {
            "privileged": ({"privileged": True}, {}, "privileged containers"),
            "devices": ({"linuxParameters": {"devices": [{"hostPath": "/dev/null"}]}}, {}, "devices"),
            "capability": ({"linuxParameters": {"capabilities": {"add": ["SYS_ADMIN"]}}}, {}, "added capability SYS_ADMIN"),
            "pid": ({}, {"pidMode": "host"}, "PID namespace"),
            "ipc": ({}, {"ipcMode": "host"}, "IPC namespace"),
            "sysctl": ({"systemControls": [{"namespace": "kernel.msgmax", "value": "65536"}]}, {}, "systemControls"),
            "seccomp": ({"dockerSecurityOptions": ["seccomp=unconfined"]}, {}, "dockerSecurityOptions"),
            "etc": (mount, {"volumes": [{"name": "h", "host": {"sourcePath": "/etc"}}]}, "host path /etc"),
            # `..` out of the allowed prefix, through a local volume over a host directory.
            "dotdot": (mount, {"volumes": [{"name": "h", "dockerVolumeConfiguration": {"scope": "task", "driver": "local",
                       "driverOpts": {"type": "none", "o": "bind", "device": f"{tmp_path}/../../etc"}}}]}, "host path"),
        }
        for family, (container, definition, words) in refused.items():
            ecs.register_task_definition(family=f"item9-{family}", containerDefinitions=[{**ITEM9_BASE, **container}], **definition)
            answer = ecs.run_task(cluster="locked", taskDefinition=f"item9-{family}")
            assert answer["tasks"] == [], family
            reason = answer["failures"][0]["reason"]
            assert reason.startswith("ATTRIBUTE: no container instance allows ") and words in reason, (family, reason)
        answer = ecs.start_task(cluster="locked", taskDefinition="item9-privileged", containerInstances=[instance])
        assert answer["tasks"] == [] and answer["failures"][0]["arn"] == instance
        assert answer["failures"][0]["reason"] == f"ATTRIBUTE: the container instance does not allow privileged containers ({ITEM9_PRIVILEGED})"
        # Nothing was started: no task row left behind, no container made.
        for status in ("RUNNING", "STOPPED"):
            assert ecs.list_tasks(cluster="locked", desiredStatus=status)["taskArns"] == []
        assert item9_containers_of(instance) == []

        # A service's events name the setting.
        ecs.create_service(cluster="locked", serviceName="priv", taskDefinition="item9-privileged", desiredCount=1)
        wanted = f"(service priv) was unable to place a task because no container instance allows privileged containers ({ITEM9_PRIVILEGED})."
        assert wait_for(lambda: any(e["message"] == wanted for e in
                                    ecs.describe_services(cluster="locked", services=["priv"])["services"][0]["events"]), seconds=20)
        ecs.update_service(cluster="locked", service="priv", desiredCount=0)

        # What the switches allow still runs here: an allowed host path, an allowed capability, a configuration file.
        ecs.register_task_definition(family="item9-allowed", containerDefinitions=[{
            **ITEM9_BASE, **mount, "mountPoints": mount["mountPoints"] + [{"sourceVolume": "conf", "containerPath": "/conf"}],
            "linuxParameters": {"capabilities": {"add": ["NET_BIND_SERVICE"]}}}],
            volumes=[{"name": "h", "host": {"sourcePath": str(shared / "app")}},
                     {"name": "conf", "dockerVolumeConfiguration": {"scope": "task", "driver": "stowage",
                                                                    "driverOpts": {"file:app.conf": "text:port=80"}}}])
        allowed = ecs.run_task(cluster="locked", taskDefinition="item9-allowed")["tasks"][0]
        assert wait_for(lambda: ecs.describe_tasks(cluster="locked", tasks=[allowed["taskArn"]])["tasks"][0]["lastStatus"] == "RUNNING", seconds=30)
        assert len(item9_task_containers(instance, allowed["taskArn"])) == 1

        # Past the scheduler, the agent judges again. A link out of the allowed directory, the agent's own state
        # directory, and privileged mode after a tenant adds ECS's attribute with PutAttributes: each is stopped
        # with the setting named, and gets no container.
        ecs.put_attributes(cluster="locked", attributes=[{"name": ITEM9_PRIVILEGED, "targetType": "container-instance", "targetId": instance}])
        past = {
            "item9-privileged": ("privileged containers (--forbid-privileged)", None),
            "item9-link": ("resolves to /etc through a symbolic link", str(shared / "escape")),
            "item9-own": ("the agent's own files", str(tmp_path / "locked")),
        }
        launched = {}
        for family, (words, path) in past.items():
            if path:
                ecs.register_task_definition(family=family, containerDefinitions=[{**ITEM9_BASE, **mount}],
                                             volumes=[{"name": "h", "host": {"sourcePath": path}}])
            answer = ecs.run_task(cluster="locked", taskDefinition=family)
            assert answer["failures"] == [], (family, answer["failures"])
            launched[family] = answer["tasks"][0]["taskArn"]
        for family, arn in launched.items():
            task = wait_for(lambda: item9_stopped(ecs, "locked", arn), seconds=20)
            assert task, family
            assert task["stoppedReason"].startswith("CannotStartContainerError: this container instance does not allow"), task["stoppedReason"]
            assert past[family][0] in task["stoppedReason"], (family, task["stoppedReason"])
            assert task["stopCode"] == "TaskFailedToStart"
            assert item9_task_containers(instance, arn) == [], family

        # Secrets on the host: the agent's state and the tmpfs tree of configuration files are its own alone.
        def mode(path):
            return item9_stat.S_IMODE(os.stat(path).st_mode)
        assert mode(tmp_path / "locked") == 0o700
        assert mode(tmp_path / "locked" / "agent-state.json") == 0o600
        task_dir = f"{files}/{allowed['taskArn'].rsplit('/', 1)[1]}"
        assert mode(files) == 0o700 and mode(task_dir) == 0o700
        assert open(f"{task_dir}/conf/app.conf").read() == "port=80"

        # A restarted agent states its host settings again: the attribute the tenant added does not survive it.
        agents[0].stop()
        agents[0].start()
        assert wait_for(lambda: ITEM9_PRIVILEGED not in item9_attributes(ecs, "locked")[1], seconds=20)
    finally:
        import shutil as item9_shutil
        item9_shutil.rmtree(files, ignore_errors=True)

