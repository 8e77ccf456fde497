"""RunTask/StopTask/DescribeTasks and CreateService/UpdateService/DescribeServices through the ECS door with boto3."""
import time

import botocore
import pytest

from conftest import register_instance, signed_request

RESOURCES = [
    {"name": "CPU", "type": "INTEGER", "integerValue": 2048},
    {"name": "MEMORY", "type": "INTEGER", "integerValue": 1024},
]
WEB = [{"name": "web", "image": "busybox", "memory": 300, "portMappings": [{"containerPort": 80, "hostPort": 0}]}]


def wait_for(condition, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    return condition()


def report_running(server, key, cluster, instance_arn, sequence):
    """Plays the agent with the instance's own credential: every task it should run is reported RUNNING and HEALTHY."""
    instance = instance_arn.split("/")[-1]
    status, desired = signed_request(server, key, "GET", f"/agent/v1/clusters/{cluster}/container-instances/{instance}/tasks")
    assert status == 200
    reports = [{"taskArn": t["taskArn"], "lastStatus": "STOPPED" if t["desiredStatus"] == "STOPPED" else "RUNNING",
                "healthStatus": "HEALTHY"} for t in desired["tasks"]]
    if reports:
        status, answer = signed_request(server, key, "POST", f"/agent/v1/clusters/{cluster}/container-instances/{instance}/state",
                                        {"sequence": sequence, "tasks": reports})
        assert status == 200, answer


def test_run_describe_list_stop_tasks(ecs):
    ecs.create_cluster(clusterName="tasks")
    instance = ecs.register_container_instance(cluster="tasks", totalResources=RESOURCES)["containerInstance"]
    ecs.register_task_definition(family="web", containerDefinitions=WEB)

    run = ecs.run_task(cluster="tasks", taskDefinition="web", count=4, startedBy="pytest")
    assert len(run["tasks"]) == 3, "three 300 MiB tasks fit in 1024 MiB"
    assert [f["reason"] for f in run["failures"]] == ["RESOURCE:MEMORY"]
    ports = {t["containers"][0]["networkBindings"][0]["hostPort"] for t in run["tasks"]}
    assert len(ports) == 3
    assert all(t["containerInstanceArn"] == instance["containerInstanceArn"] for t in run["tasks"])

    arns = ecs.list_tasks(cluster="tasks", startedBy="pytest")["taskArns"]
    assert sorted(arns) == sorted(t["taskArn"] for t in run["tasks"])
    described = ecs.describe_tasks(cluster="tasks", tasks=arns)
    assert {t["lastStatus"] for t in described["tasks"]} == {"PENDING"}
    assert described["failures"] == []

    stopped = ecs.stop_task(cluster="tasks", task=arns[0], reason="pytest says stop")["task"]
    assert stopped["desiredStatus"] == "STOPPED" and stopped["stoppedReason"] == "pytest says stop"
    assert ecs.list_tasks(cluster="tasks", desiredStatus="STOPPED")["taskArns"] == [arns[0]]

    desc = ecs.describe_container_instances(cluster="tasks", containerInstances=[instance["containerInstanceArn"]])
    assert desc["containerInstances"][0]["pendingTasksCount"] == 3

    with pytest.raises(ecs.exceptions.InvalidParameterException):
        ecs.run_task(cluster="tasks", taskDefinition="web", placementConstraints=[{"type": "memberOf", "expression": "attribute:x =="}])
    with pytest.raises(ecs.exceptions.ClusterNotFoundException):
        ecs.run_task(cluster="nowhere", taskDefinition="web")
    with pytest.raises(ecs.exceptions.ClientException):
        ecs.run_task(cluster="tasks", taskDefinition="never-registered")


def test_services_through_the_ecs_door(server, tenant, ecs):
    ecs.create_cluster(clusterName="svc")
    registered = [register_instance(server, tenant, "svc", totalResources=RESOURCES) for _ in range(2)]
    instances = [instance["containerInstanceArn"] for instance, _ in registered]
    keys = {instance["containerInstanceArn"]: key for instance, key in registered}
    ecs.register_task_definition(family="web", containerDefinitions=WEB)
    ecs.register_task_definition(family="web", containerDefinitions=WEB)
    created = ecs.create_service(cluster="svc", serviceName="web", taskDefinition="web:1", desiredCount=2,
                                 deploymentConfiguration={"maximumPercent": 200, "minimumHealthyPercent": 50,
                                                          "deploymentCircuitBreaker": {"enable": True, "rollback": True}})["service"]
    assert created["status"] == "ACTIVE" and created["desiredCount"] == 2
    assert created["deploymentConfiguration"]["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}

    sequence = [int(time.time() * 1000)]

    def converge(predicate):
        def check():
            sequence[0] += 1
            for arn in instances:
                sequence[0] += 1
                report_running(server, keys[arn], "svc", arn, sequence[0])
            service = ecs.describe_services(cluster="svc", services=["web"])["services"][0]
            return service if predicate(service) else None
        return wait_for(check)

    steady = converge(lambda s: s["runningCount"] == 2 and s["deployments"][0]["rolloutState"] == "COMPLETED")
    assert steady, "the service reached a steady state"
    assert any("steady state" in e["message"] for e in steady["events"])

    updated = ecs.update_service(cluster="svc", service="web", taskDefinition="web:2", desiredCount=3)["service"]
    assert updated["desiredCount"] == 3
    assert len(updated["deployments"]) == 2
    done = converge(lambda s: len(s["deployments"]) == 1 and s["deployments"][0]["taskDefinition"].endswith("web:2")
                    and s["deployments"][0]["rolloutState"] == "COMPLETED" and s["runningCount"] == 3)
    assert done, "the rolling update completed"
    running = ecs.list_tasks(cluster="svc", serviceName="web")["taskArns"]
    tasks = ecs.describe_tasks(cluster="svc", tasks=running)["tasks"]
    assert {t["taskDefinitionArn"].split("/")[-1] for t in tasks} == {"web:2"}
    assert all(t["healthStatus"] == "HEALTHY" for t in tasks)

    assert ecs.list_services(cluster="svc")["serviceArns"] == [created["serviceArn"]]
    missing = ecs.describe_services(cluster="svc", services=["nope"])
    assert missing["services"] == [] and missing["failures"][0]["reason"] == "MISSING"
    with pytest.raises(ecs.exceptions.ServiceNotFoundException):
        ecs.update_service(cluster="svc", service="nope", desiredCount=1)
    with pytest.raises(ecs.exceptions.InvalidParameterException):
        ecs.create_service(cluster="svc", serviceName="bad", taskDefinition="web", desiredCount=1,
                           deploymentConfiguration={"maximumPercent": 250})
    with pytest.raises(ecs.exceptions.InvalidParameterException):
        ecs.delete_service(cluster="svc", service="web")
    assert ecs.delete_service(cluster="svc", service="web", force=True)["service"]["status"] == "DRAINING"
