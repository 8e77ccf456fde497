"""Issue 13, item 8: every ECS response Stowage sends is checked against botocore's output shape (required
members, types, enums, no member the model lacks), and the lists ECS always returns are there even when empty,
so client code written against ECS (`td["containerDefinitions"][0]["mountPoints"]`) does not hit KeyError."""
import json

import boto3
import botocore.exceptions
import botocore.session
import pytest

from conftest import Agent, ecs_client, wait_for

MODEL = botocore.session.get_session().get_service_model("ecs")

# Lists ECS returns even when empty, by shape: client code indexes them without a check.
ALWAYS = {
    "ContainerDefinition": ["portMappings", "environment", "mountPoints", "volumesFrom", "systemControls"],
    "TaskDefinition": ["containerDefinitions", "volumes", "placementConstraints", "compatibilities", "requiresAttributes"],
    "Task": ["attachments", "containers", "tags"],
    "Container": ["networkBindings", "networkInterfaces"],
    "TaskOverride": ["containerOverrides", "inferenceAcceleratorOverrides"],
    "Service": ["loadBalancers", "serviceRegistries", "placementConstraints", "placementStrategy", "events", "deployments"],
    "Deployment": ["failedTasks", "rolloutState", "rolloutStateReason"],
    "Cluster": ["statistics", "tags", "settings", "capacityProviders", "defaultCapacityProviderStrategy"],
    "ContainerInstance": ["attributes", "registeredResources", "remainingResources", "attachments", "tags"],
}

# Stowage's own additions, which botocore ignores: a container's restarts in place under its restartPolicy.
EXTENSIONS = {"Container": {"restartCount"}}


def problems(value, shape, path="$"):
    """What in `value` does not fit botocore's `shape`."""
    found = []
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: a {shape.name} must be an object, got {type(value).__name__}"]
        for required in shape.required_members:
            if required not in value:
                found.append(f"{path}.{required}: required by {shape.name}, missing")
        for member in ALWAYS.get(shape.name, []):
            if member not in value:
                found.append(f"{path}.{member}: ECS always returns it ({shape.name}), missing")
        for key, item in value.items():
            if key in EXTENSIONS.get(shape.name, ()):
                continue
            if key not in shape.members:
                found.append(f"{path}.{key}: {shape.name} has no such member")
            elif item is not None:
                found += problems(item, shape.members[key], f"{path}.{key}")
    elif kind == "list":
        if not isinstance(value, list):
            return [f"{path}: must be a list"]
        for i, item in enumerate(value):
            found += problems(item, shape.member, f"{path}[{i}]")
    elif kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: must be a map"]
        for key, item in value.items():
            found += problems(item, shape.value, f"{path}.{key}")
    elif kind == "string":
        if not isinstance(value, str):
            found.append(f"{path}: must be a string, got {value!r}")
        elif shape.enum and value not in shape.enum:
            found.append(f"{path}: {value!r} is not one of {shape.enum}")
    elif kind in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            found.append(f"{path}: must be an integer, got {value!r}")
    elif kind in ("double", "float"):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            found.append(f"{path}: must be a number, got {value!r}")
    elif kind == "boolean":
        if not isinstance(value, bool):
            found.append(f"{path}: must be a boolean, got {value!r}")
    elif kind == "timestamp":
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            found.append(f"{path}: must be epoch seconds, got {value!r}")
    return found


@pytest.fixture
def recorded(server, tenant):
    """An ECS client whose raw response bodies are kept, by action."""
    ecs = ecs_client(server, tenant)
    bodies = []

    def keep(http_response, model, **_):
        if http_response.status_code == 200 and model.output_shape is not None:
            bodies.append((model.name, json.loads(http_response.content or b"{}")))
    ecs.meta.events.register("after-call.ecs.*", keep)
    return ecs, bodies


def test_every_response_fits_botocores_output_shape(server, tenant, tmp_path, agents, recorded, need_engine):
    ecs, bodies = recorded
    ecs.create_cluster(clusterName="shapes", tags=[{"key": "team", "value": "a"}])
    agents.append(Agent(server, tenant, "shapes", tmp_path / "agent"))
    assert wait_for(lambda: ecs.list_container_instances(cluster="shapes")["containerInstanceArns"])
    ecs.register_task_definition(family="shapes", containerDefinitions=[
        {"name": "app", "image": "localhost/busybox:latest", "memory": 16, "command": ["sleep", "600"]}])
    ecs.describe_task_definition(taskDefinition="shapes", include=["TAGS"])
    ecs.list_task_definitions()
    ecs.list_task_definition_families()
    ecs.create_service(cluster="shapes", serviceName="svc", taskDefinition="shapes", desiredCount=1)
    assert wait_for(lambda: ecs.list_tasks(cluster="shapes", serviceName="svc", desiredStatus="RUNNING")["taskArns"])
    task_arn = ecs.list_tasks(cluster="shapes", serviceName="svc")["taskArns"][0]
    wait_for(lambda: ecs.describe_tasks(cluster="shapes", tasks=[task_arn])["tasks"][0]["lastStatus"] == "RUNNING")
    ecs.describe_tasks(cluster="shapes", tasks=[task_arn, "0" * 32], include=["TAGS"])
    ecs.describe_services(cluster="shapes", services=["svc", "missing"], include=["TAGS"])
    ecs.describe_clusters(clusters=["shapes", "missing"], include=["SETTINGS", "STATISTICS", "TAGS"])
    instances = ecs.list_container_instances(cluster="shapes")["containerInstanceArns"]
    ecs.describe_container_instances(cluster="shapes", containerInstances=instances, include=["TAGS"])
    ecs.list_attributes(cluster="shapes", targetType="container-instance")
    ecs.run_task(cluster="shapes", taskDefinition="shapes", count=1)
    ecs.list_services(cluster="shapes")
    ecs.list_clusters()
    ecs.update_task_protection(cluster="shapes", tasks=[task_arn], protectionEnabled=True, expiresInMinutes=5)
    ecs.get_task_protection(cluster="shapes", tasks=[task_arn])
    ecs.update_task_protection(cluster="shapes", tasks=[task_arn], protectionEnabled=False)
    ecs.update_service(cluster="shapes", service="svc", desiredCount=0)
    ecs.tag_resource(resourceArn=task_arn, tags=[{"key": "k", "value": "v"}])
    ecs.list_tags_for_resource(resourceArn=task_arn)
    ecs.stop_task(cluster="shapes", task=task_arn)

    assert len({name for name, _ in bodies}) >= 19, sorted({name for name, _ in bodies})
    found = []
    for name, body in bodies:
        found += [f"{name} {p}" for p in problems(body, MODEL.operation_model(name).output_shape)]
    assert not found, "\n".join(sorted(set(found)))


def test_tags_follow_services_and_tasks(ecs):
    ecs.create_cluster(clusterName="tagged")
    ecs.register_task_definition(family="tagged", containerDefinitions=[
        {"name": "app", "image": "localhost/busybox:latest", "memory": 16}])
    service = ecs.create_service(cluster="tagged", serviceName="svc", taskDefinition="tagged", desiredCount=0,
                                 tags=[{"key": "a", "value": "1"}])["service"]["serviceArn"]
    ecs.tag_resource(resourceArn=service, tags=[{"key": "b", "value": "2"}])
    ecs.untag_resource(resourceArn=service, tagKeys=["a"])
    assert ecs.list_tags_for_resource(resourceArn=service)["tags"] == [{"key": "b", "value": "2"}]
    described = ecs.describe_services(cluster="tagged", services=["svc"], include=["TAGS"])["services"][0]
    assert described["tags"] == [{"key": "b", "value": "2"}]


def test_a_task_role_may_be_given_by_name(ecs, tenant):
    registered = ecs.register_task_definition(family="role-by-name", taskRoleArn="app-role", containerDefinitions=[
        {"name": "app", "image": "localhost/busybox:latest", "memory": 16}])["taskDefinition"]
    assert registered["taskRoleArn"] == f"arn:aws:iam::{tenant.account}:role/app-role"


def test_counts_and_events_say_what_happened_to_unplaceable_tasks(ecs):
    """A service in a cluster with no instance: its tasks wait, the events say they could not be placed (never
    "has started"), the service's and the cluster's pending counts agree, and scaling to 0 ends them."""
    ecs.create_cluster(clusterName="empty")
    ecs.register_task_definition(family="waits", containerDefinitions=[
        {"name": "app", "image": "localhost/busybox:latest", "memory": 16}])
    ecs.create_service(cluster="empty", serviceName="waits", taskDefinition="waits", desiredCount=2)

    def events():
        return [e["message"] for e in ecs.describe_services(cluster="empty", services=["waits"])["services"][0]["events"]]
    assert wait_for(lambda: any("unable to place" in m for m in events()), seconds=30), events()
    assert not any("has started" in m for m in events()), events()
    service = ecs.describe_services(cluster="empty", services=["waits"])["services"][0]
    cluster = ecs.describe_clusters(clusters=["empty"])["clusters"][0]
    assert service["pendingCount"] == cluster["pendingTasksCount"] == 2
    ecs.update_service(cluster="empty", service="waits", desiredCount=0)
    assert wait_for(lambda: ecs.describe_services(cluster="empty", services=["waits"])["services"][0]["pendingCount"] == 0, seconds=30)
    assert ecs.describe_clusters(clusters=["empty"])["clusters"][0]["pendingTasksCount"] == 0


def test_account_settings_are_kept_effective_and_honoured_or_refused(tenant, recorded):
    ecs, bodies = recorded
    root = f"arn:aws:iam::{tenant.account}:root"
    effective = {s["name"]: s for s in ecs.list_account_settings(effectiveSettings=True)["settings"]}
    assert effective["containerInsights"]["value"] == "disabled" and effective["containerInsights"]["type"] == "aws_managed"
    assert effective["taskLongArnFormat"]["value"] == "enabled"

    ecs.put_account_setting_default(name="containerInsights", value="enhanced")
    assert ecs.create_cluster(clusterName="insightful")["cluster"]["settings"] == [{"name": "containerInsights", "value": "enhanced"}], \
        "a new cluster takes the account's containerInsights"
    mine = ecs.put_account_setting(name="containerInsights", value="disabled")["setting"]
    assert mine["principalArn"] != root and mine["value"] == "disabled"
    effective = {s["name"]: s for s in ecs.list_account_settings(effectiveSettings=True)["settings"]}
    assert effective["containerInsights"]["value"] == "disabled", "the principal's own setting wins over the account default"
    assert ecs.create_cluster(clusterName="plain")["cluster"]["settings"] == [{"name": "containerInsights", "value": "disabled"}]
    assert [s["name"] for s in ecs.list_account_settings()["settings"]] == ["containerInsights"]
    assert ecs.list_account_settings(principalArn=root)["settings"][0]["value"] == "enhanced"
    assert ecs.delete_account_setting(name="containerInsights")["setting"]["value"] == "disabled"
    assert {s["name"]: s["value"] for s in ecs.list_account_settings(effectiveSettings=True)["settings"]}["containerInsights"] == "enhanced"

    # A value Stowage would keep and not act on is refused by name.
    for name, value in (("taskLongArnFormat", "disabled"), ("awsvpcTrunking", "enabled"), ("noSuchSetting", "on")):
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            ecs.put_account_setting(name=name, value=value)
        assert refused.value.response["Error"]["Code"] == "InvalidParameterException" and name in refused.value.response["Error"]["Message"]
    found = []
    for name, body in bodies:
        found += [f"{name} {p}" for p in problems(body, MODEL.operation_model(name).output_shape)]
    assert not found, "\n".join(found)


def test_a_request_signed_for_another_region_is_refused_not_answered_with_wrong_arns(server, tenant):
    """ARNs name the installation's region (us-east-1 here): a client configured for another region is told,
    instead of being handed ARNs that do not name the region it asked."""
    elsewhere = ecs_client(server, tenant, region="eu-west-1")
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        elsewhere.list_clusters()
    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidSignatureException" and "us-east-1" in error["Message"] and "eu-west-1" in error["Message"]
    iam = boto3.client("iam", endpoint_url=server.endpoint, region_name="eu-west-1",
                       aws_access_key_id=tenant.key_id, aws_secret_access_key=tenant.secret)
    assert "Users" in iam.list_users(), "IAM is global, as in AWS"
