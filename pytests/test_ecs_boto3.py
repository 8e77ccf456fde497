"""The ECS door driven by boto3, a client that signs its own requests."""
import time

import botocore
import pytest

from conftest import ecs_client

WEB = [{"name": "web", "image": "busybox", "memory": 64, "portMappings": [{"containerPort": 80}],
        "healthCheck": {"command": ["CMD-SHELL", "wget -q -O- localhost || exit 1"]}}]
RESOURCES = [
    {"name": "CPU", "type": "INTEGER", "integerValue": 2048},
    {"name": "MEMORY", "type": "INTEGER", "integerValue": 3768},
    {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22"]},
]


def test_cluster_lifecycle(ecs, tenant):
    created = ecs.create_cluster(clusterName="py", tags=[{"key": "env", "value": "test"}])["cluster"]
    assert created["clusterArn"] == f"arn:aws:ecs:us-east-1:{tenant.account}:cluster/py"
    assert created["status"] == "ACTIVE"
    assert ecs.create_cluster(clusterName="py")["cluster"]["clusterArn"] == created["clusterArn"]

    described = ecs.describe_clusters(clusters=["py", "missing"], include=["TAGS"])
    assert [c["clusterName"] for c in described["clusters"]] == ["py"]
    assert described["clusters"][0]["tags"] == [{"key": "env", "value": "test"}]
    assert described["failures"][0]["reason"] == "MISSING"

    pages = ecs.get_paginator("list_clusters").paginate(PaginationConfig={"PageSize": 1})
    assert [arn for page in pages for arn in page["clusterArns"]] == [created["clusterArn"]]

    assert ecs.delete_cluster(cluster="py")["cluster"]["status"] == "INACTIVE"
    assert ecs.list_clusters()["clusterArns"] == []
    with pytest.raises(ecs.exceptions.ClusterNotFoundException):
        ecs.delete_cluster(cluster="py")


def test_task_definitions(ecs, tenant):
    first = ecs.register_task_definition(family="web", containerDefinitions=WEB)["taskDefinition"]
    assert first["revision"] == 1 and first["status"] == "ACTIVE"
    assert first["containerDefinitions"][0]["essential"] is True
    assert first["containerDefinitions"][0]["healthCheck"]["interval"] == 30
    assert ecs.register_task_definition(family="web", containerDefinitions=WEB)["taskDefinition"]["revision"] == 2

    assert ecs.describe_task_definition(taskDefinition="web")["taskDefinition"]["revision"] == 2
    assert ecs.describe_task_definition(taskDefinition=first["taskDefinitionArn"])["taskDefinition"]["revision"] == 1
    assert ecs.list_task_definition_families()["families"] == ["web"]

    gone = ecs.deregister_task_definition(taskDefinition="web:2")["taskDefinition"]
    assert gone["status"] == "INACTIVE"
    assert ecs.list_task_definitions(familyPrefix="web")["taskDefinitionArns"] == [first["taskDefinitionArn"]]
    with pytest.raises(ecs.exceptions.ClientException):
        ecs.describe_task_definition(taskDefinition="nope")
    with pytest.raises(ecs.exceptions.ClientException) as bad:
        ecs.register_task_definition(family="web", containerDefinitions=[{"name": "x", "image": "busybox"}])
    assert "memory" in str(bad.value)


def test_container_instance_register_drain_deregister(ecs):
    ecs.create_cluster(clusterName="hosts")
    instance = ecs.register_container_instance(cluster="hosts", totalResources=RESOURCES,
                                               attributes=[{"name": "zone", "value": "a"}])["containerInstance"]
    arn = instance["containerInstanceArn"]
    assert instance["status"] == "ACTIVE" and instance["agentConnected"] is True
    assert ecs.list_container_instances(cluster="hosts")["containerInstanceArns"] == [arn]

    drained = ecs.update_container_instances_state(cluster="hosts", containerInstances=[arn], status="DRAINING")
    assert drained["containerInstances"][0]["status"] == "DRAINING"
    assert ecs.list_container_instances(cluster="hosts", status="DRAINING")["containerInstanceArns"] == [arn]
    assert ecs.list_container_instances(cluster="hosts", status="ACTIVE")["containerInstanceArns"] == []

    with pytest.raises(botocore.exceptions.ClientError) as refused:
        ecs.delete_cluster(cluster="hosts")
    assert refused.value.response["Error"]["Code"] == "ClusterContainsContainerInstancesException"

    assert ecs.deregister_container_instance(cluster="hosts", containerInstance=arn)["containerInstance"]["status"] == "INACTIVE"
    assert ecs.describe_clusters(clusters=["hosts"])["clusters"][0]["registeredContainerInstancesCount"] == 0
    assert ecs.delete_cluster(cluster="hosts")["cluster"]["status"] == "INACTIVE"


def test_bad_signatures_and_unknown_keys(server, tenant):
    wrong = ecs_client(server, tenant, secret="x" * 40)
    with pytest.raises(botocore.exceptions.ClientError) as bad:
        wrong.list_clusters()
    assert bad.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert bad.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

    stranger = ecs_client(server, tenant, key_id="AKIAAAAAAAAAAAAAAAAA")
    with pytest.raises(botocore.exceptions.ClientError) as unknown:
        stranger.list_clusters()
    assert unknown.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_another_tenant_is_denied(server, ecs, other_tenant):
    arn = ecs.create_cluster(clusterName="mine")["cluster"]["clusterArn"]
    td = ecs.register_task_definition(family="mine", containerDefinitions=WEB)["taskDefinition"]["taskDefinitionArn"]
    theirs = ecs_client(server, other_tenant)
    assert theirs.list_clusters()["clusterArns"] == []
    for call in (lambda: theirs.describe_clusters(clusters=[arn]),
                 lambda: theirs.delete_cluster(cluster=arn),
                 lambda: theirs.describe_task_definition(taskDefinition=td),
                 lambda: theirs.tag_resource(resourceArn=arn, tags=[{"key": "k", "value": "v"}])):
        with pytest.raises(botocore.exceptions.ClientError) as denied:
            call()
        assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert ecs.describe_clusters(clusters=["mine"], include=["TAGS"])["clusters"][0]["tags"] == []


def test_request_id_header(ecs):
    response = ecs.list_clusters()
    assert response["ResponseMetadata"]["RequestId"]


def test_deleted_task_definitions_are_purged_by_the_worker(ecs):
    ecs.register_task_definition(family="purge", containerDefinitions=WEB)
    ecs.deregister_task_definition(taskDefinition="purge:1")
    deleted = ecs.delete_task_definitions(taskDefinitions=["purge:1"])
    assert deleted["taskDefinitions"][0]["status"] == "DELETE_IN_PROGRESS"
    assert deleted["failures"] == []
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            ecs.describe_task_definition(taskDefinition="purge:1")
        except ecs.exceptions.ClientException:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the worker did not purge the deleted revision")
    assert ecs.list_task_definitions(status="DELETE_IN_PROGRESS")["taskDefinitionArns"] == []
