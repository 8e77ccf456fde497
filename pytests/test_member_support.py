"""Stowage runs what it is told or says no: every member of the checked ECS request shapes is honoured or refused,
botocore's model has no member the table forgets, and a refused member is answered with its name, writing nothing."""
import json
import os
import subprocess

import botocore.exceptions
import botocore.session
import pytest

from conftest import BIN, signed_request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def table():
    return json.loads(subprocess.run([BIN, "members"], capture_output=True, text=True, check=True).stdout)


def test_every_member_of_botocores_shapes_is_honoured_or_refused():
    model = botocore.session.get_session().get_service_model("ecs")
    members = table()
    assert members, "the table names shapes"
    for shape, listed in members.items():
        modelled = set(model.shape_for(shape).members)
        assert modelled - set(listed) == set(), f"{shape}: members in botocore's model that Stowage neither honours nor refuses"
        assert set(listed) - modelled == set(), f"{shape}: listed members botocore's model does not have"
        for member, entry in listed.items():
            assert entry["status"] in {"honoured", "refused"} and (entry.get("how") or entry.get("why")), (shape, member)


def test_the_docs_table_is_the_servers_table():
    generated = subprocess.run([BIN, "members", "--markdown"], capture_output=True, text=True, check=True).stdout
    with open(os.path.join(ROOT, "docs", "ECS-MEMBERS.md")) as f:
        assert f.read() == generated, "docs/ECS-MEMBERS.md is stale: regenerate it with `stowage members --markdown`"


BASE = {"name": "app", "image": "busybox", "memory": 32, "command": ["sleep", "1"]}


@pytest.mark.parametrize("container, top, named", [
    ({"firelensConfiguration": {"type": "fluentbit"}}, {}, "containerDefinitions[0].firelensConfiguration"),
    ({"credentialSpecs": ["credentialspec:file://gmsa.json"]}, {}, "containerDefinitions[0].credentialSpecs"),
    ({"links": ["other"]}, {}, "containerDefinitions[0].links"),
    ({"portMappings": [{"containerPortRange": "8000-8010"}]}, {}, "containerDefinitions[0].portMappings[0].containerPortRange"),
    ({}, {"runtimePlatform": {"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE"}}, "runtimePlatform"),
    ({}, {"volumes": [{"name": "data", "efsVolumeConfiguration": {"fileSystemId": "fs-1"}}]}, "volumes[0].efsVolumeConfiguration"),
    ({}, {"ephemeralStorage": {"sizeInGiB": 30}}, "ephemeralStorage"),
    ({}, {"requiresCompatibilities": ["MANAGED_INSTANCES"]}, "requiresCompatibilities MANAGED_INSTANCES"),
])
def test_a_refused_member_is_named_and_nothing_is_written(ecs, container, top, named):
    family = "refused-" + named.split(".")[-1].split(" ")[0].replace("[", "").replace("]", "")
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        ecs.register_task_definition(family=family, containerDefinitions=[dict(BASE, **container)], **top)
    error = refused.value.response["Error"]
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Code"] in {"InvalidParameterException", "ClientException"}
    assert named in error["Message"] and "refused" in error["Message"], error["Message"]
    assert ecs.list_task_definitions(familyPrefix=family)["taskDefinitionArns"] == [], "nothing was written"


def test_members_that_ask_for_nothing_pass_and_the_rest_door_refuses_too(server, tenant, ecs):
    # false and empty lists ask for nothing, so a generated template that spells out defaults still registers.
    ecs.register_task_definition(family="defaults", containerDefinitions=[
        dict(BASE, privileged=False, readonlyRootFilesystem=False, mountPoints=[], dockerLabels={})], volumes=[])
    status, body = signed_request(server, tenant, "POST", "/v1/task-definitions", {
        "family": "rest-refused", "containerDefinitions": [dict(BASE, credentialSpecs=["credentialspec:file://x.json"])]})
    assert status == 400 and "containerDefinitions[0].credentialSpecs is refused" in body["message"], body
    status, body = signed_request(server, tenant, "POST", "/v1/task-definitions", {
        "family": "rest-refused", "containerDefinitions": [dict(BASE, madeUpMember=1)]})
    assert status == 400 and "madeUpMember is not a member of ContainerDefinition" in body["message"], body


def test_services_tasks_and_clusters_refuse_what_they_would_ignore(ecs):
    ecs.create_cluster(clusterName="members")
    ecs.register_task_definition(family="members", containerDefinitions=[BASE])
    lb = [{"loadBalancerName": "classic", "containerName": "app", "containerPort": 80}]
    cases = [
        (lambda: ecs.create_service(cluster="members", serviceName="lb", taskDefinition="members", desiredCount=1,
                                    loadBalancers=lb), "loadBalancerName is refused"),
        (lambda: ecs.create_service(cluster="members", serviceName="cd", taskDefinition="members", desiredCount=1,
                                    deploymentController={"type": "CODE_DEPLOY"}), "deploymentController type CODE_DEPLOY is refused"),
        (lambda: ecs.run_task(cluster="members", taskDefinition="members", overrides={
            "executionRoleArn": "arn:aws:iam::123456789012:role/other"}), "overrides.executionRoleArn is refused"),
        (lambda: ecs.run_task(cluster="members", taskDefinition="members", overrides={
            "containerOverrides": [{"name": "app", "environmentFiles": [{"value": "arn:aws:s3:::b/e.env", "type": "s3"}]}]}),
         "overrides.containerOverrides[0].environmentFiles is refused"),
        (lambda: ecs.create_cluster(clusterName="cp", capacityProviders=["FARGATE"], serviceConnectDefaults={"namespace": "n"}),
         "serviceConnectDefaults is refused"),
        (lambda: ecs.create_service(cluster="members", serviceName="alarmed", taskDefinition="members", desiredCount=1,
                                    deploymentConfiguration={"alarms": {"alarmNames": ["a"], "enable": True, "rollback": True}}),
         "deploymentConfiguration.alarms is refused"),
        (lambda: ecs.create_service(cluster="members", serviceName="bg", taskDefinition="members", desiredCount=1,
                                    deploymentConfiguration={"strategy": "BLUE_GREEN"}),
         "deploymentConfiguration.strategy BLUE_GREEN is refused"),
    ]
    for call, message in cases:
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            call()
        assert message in refused.value.response["Error"]["Message"], refused.value.response["Error"]
    assert ecs.list_services(cluster="members")["serviceArns"] == [], "no service was written"
    assert ecs.list_tasks(cluster="members")["taskArns"] == [], "no task was written"
    assert all(not arn.endswith("/cp") for arn in ecs.list_clusters()["clusterArns"])
    # The default controller, spelled out, is what Stowage does: accepted.
    ecs.create_service(cluster="members", serviceName="ok", taskDefinition="members", desiredCount=0,
                       deploymentController={"type": "ECS"})
