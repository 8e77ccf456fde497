"""The access matrix through the running server: for every action of the ECS door, a principal without
permission is refused, one whose policy names only cluster "a"'s resources succeeds there and is refused on
cluster "b", and a principal of another account cannot touch any of it."""
import json
import pathlib
import re

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import REGION, ecs_client

RESOURCES = [{"name": "CPU", "type": "INTEGER", "integerValue": 4096}, {"name": "MEMORY", "type": "INTEGER", "integerValue": 4096}]


def boto(server, name, key_id, secret):
    return boto3.client(name, endpoint_url=server.endpoint, region_name=REGION, aws_access_key_id=key_id,
                        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}))


class World:
    """Two clusters, a and b, each with what every action needs; `t` below is "a" or "b"."""

    def __init__(self, ecs, account):
        self.account = account
        self.arn = lambda rest: f"arn:aws:ecs:{REGION}:{account}:{rest}"
        self.instance, self.spare, self.task = {}, {}, {}
        for t in ("a", "b"):
            for name in (t, f"del-{t}"):
                ecs.create_cluster(clusterName=name)
            for revision in range(3):
                ecs.register_task_definition(family=f"f{t}", containerDefinitions=[{"name": "c", "image": "busybox", "memory": 16}])
            ecs.deregister_task_definition(taskDefinition=f"f{t}:3")
            self.instance[t] = ecs.register_container_instance(cluster=t, totalResources=RESOURCES)["containerInstance"]["containerInstanceArn"]
            self.spare[t] = ecs.register_container_instance(cluster=t, totalResources=RESOURCES)["containerInstance"]["containerInstanceArn"]
            self.task[t] = ecs.run_task(cluster=t, taskDefinition=f"f{t}:1")["tasks"][0]["taskArn"]
            for name in ("svc", "gone"):
                ecs.create_service(cluster=t, serviceName=name, taskDefinition=f"f{t}:1", desiredCount=0)
            for name in ("pool", "gone"):
                ecs.create_capacity_provider(name=f"{t}-{name}")

    def scope(self, t):
        """Everything of cluster t, as a narrowly scoped policy names it."""
        return [self.arn(f"cluster/{t}"), self.arn(f"cluster/new-{t}"), self.arn(f"cluster/del-{t}"), self.arn(f"service/{t}/*"),
                self.arn(f"task/{t}/*"), self.arn(f"container-instance/{t}/*"), self.arn(f"task-definition/f{t}:*"),
                self.arn(f"capacity-provider/{t}-*")]


# (action, call(ecs, world, t)); account-wide actions (resource "*") have no sibling.
ACTIONS = [
    ("CreateCluster", lambda e, w, t: e.create_cluster(clusterName=f"new-{t}")),
    ("DescribeClusters", lambda e, w, t: e.describe_clusters(clusters=[w.arn(f"cluster/{t}")])),
    ("ListClusters", None),
    ("UpdateCluster", lambda e, w, t: e.update_cluster(cluster=w.arn(f"cluster/{t}"), settings=[{"name": "containerInsights", "value": "enabled"}])),
    ("UpdateClusterSettings", lambda e, w, t: e.update_cluster_settings(cluster=w.arn(f"cluster/{t}"), settings=[{"name": "containerInsights", "value": "disabled"}])),
    ("TagResource", lambda e, w, t: e.tag_resource(resourceArn=w.arn(f"cluster/{t}"), tags=[{"key": "env", "value": "x"}])),
    ("ListTagsForResource", lambda e, w, t: e.list_tags_for_resource(resourceArn=w.arn(f"cluster/{t}"))),
    ("UntagResource", lambda e, w, t: e.untag_resource(resourceArn=w.arn(f"cluster/{t}"), tagKeys=["env"])),
    ("RegisterTaskDefinition", lambda e, w, t: e.register_task_definition(family=f"f{t}", containerDefinitions=[{"name": "c", "image": "busybox", "memory": 16}])),
    ("DescribeTaskDefinition", lambda e, w, t: e.describe_task_definition(taskDefinition=w.arn(f"task-definition/f{t}:1"))),
    ("ListTaskDefinitions", None),
    ("ListTaskDefinitionFamilies", None),
    ("DeregisterTaskDefinition", lambda e, w, t: e.deregister_task_definition(taskDefinition=w.arn(f"task-definition/f{t}:2"))),
    ("DeleteTaskDefinitions", lambda e, w, t: e.delete_task_definitions(taskDefinitions=[w.arn(f"task-definition/f{t}:3")])),
    ("RegisterContainerInstance", lambda e, w, t: e.register_container_instance(cluster=w.arn(f"cluster/{t}"), totalResources=RESOURCES)),
    ("DescribeContainerInstances", lambda e, w, t: e.describe_container_instances(cluster=w.arn(f"cluster/{t}"), containerInstances=[w.instance[t]])),
    ("ListContainerInstances", lambda e, w, t: e.list_container_instances(cluster=w.arn(f"cluster/{t}"))),
    ("UpdateContainerInstancesState", lambda e, w, t: e.update_container_instances_state(cluster=w.arn(f"cluster/{t}"), containerInstances=[w.instance[t]], status="ACTIVE")),
    ("PutAttributes", lambda e, w, t: e.put_attributes(cluster=w.arn(f"cluster/{t}"), attributes=[{"name": "zone", "value": "z1", "targetId": w.instance[t]}])),
    ("ListAttributes", lambda e, w, t: e.list_attributes(cluster=w.arn(f"cluster/{t}"), targetType="container-instance")),
    ("DeleteAttributes", lambda e, w, t: e.delete_attributes(cluster=w.arn(f"cluster/{t}"), attributes=[{"name": "zone", "targetId": w.instance[t]}])),
    ("RunTask", lambda e, w, t: e.run_task(cluster=w.arn(f"cluster/{t}"), taskDefinition=w.arn(f"task-definition/f{t}:1"))),
    ("StartTask", lambda e, w, t: e.start_task(cluster=w.arn(f"cluster/{t}"), taskDefinition=w.arn(f"task-definition/f{t}:1"), containerInstances=[w.instance[t]])),
    ("DescribeTasks", lambda e, w, t: e.describe_tasks(cluster=w.arn(f"cluster/{t}"), tasks=[w.task[t]])),
    ("ListTasks", lambda e, w, t: e.list_tasks(cluster=w.arn(f"cluster/{t}"))),
    ("StopTask", lambda e, w, t: e.stop_task(cluster=w.arn(f"cluster/{t}"), task=w.task[t])),
    ("CreateService", lambda e, w, t: e.create_service(cluster=w.arn(f"cluster/{t}"), serviceName="new", taskDefinition=w.arn(f"task-definition/f{t}:1"), desiredCount=0)),
    ("UpdateService", lambda e, w, t: e.update_service(cluster=w.arn(f"cluster/{t}"), service=w.arn(f"service/{t}/svc"), desiredCount=0)),
    ("DescribeServices", lambda e, w, t: e.describe_services(cluster=w.arn(f"cluster/{t}"), services=[w.arn(f"service/{t}/svc")])),
    ("ListServices", lambda e, w, t: e.list_services(cluster=w.arn(f"cluster/{t}"))),
    ("DeleteService", lambda e, w, t: e.delete_service(cluster=w.arn(f"cluster/{t}"), service=w.arn(f"service/{t}/gone"), force=True)),
    ("DeregisterContainerInstance", lambda e, w, t: e.deregister_container_instance(cluster=w.arn(f"cluster/{t}"), containerInstance=w.spare[t], force=True)),
    ("DeleteCluster", lambda e, w, t: e.delete_cluster(cluster=w.arn(f"cluster/del-{t}"))),
    ("UpdateTaskProtection", lambda e, w, t: e.update_task_protection(cluster=w.arn(f"cluster/{t}"), tasks=[w.task[t]], protectionEnabled=True)),
    ("GetTaskProtection", lambda e, w, t: e.get_task_protection(cluster=w.arn(f"cluster/{t}"), tasks=[w.task[t]])),
    ("CreateCapacityProvider", lambda e, w, t: e.create_capacity_provider(name=f"{t}-new")),
    ("DescribeCapacityProviders", lambda e, w, t: e.describe_capacity_providers(capacityProviders=[w.arn(f"capacity-provider/{t}-pool")])),
    ("UpdateCapacityProvider", lambda e, w, t: e.update_capacity_provider(name=f"{t}-pool")),
    ("PutClusterCapacityProviders", lambda e, w, t: e.put_cluster_capacity_providers(
        cluster=w.arn(f"cluster/{t}"), capacityProviders=[f"{t}-pool"], defaultCapacityProviderStrategy=[])),
    ("DeleteCapacityProvider", lambda e, w, t: e.delete_capacity_provider(capacityProvider=w.arn(f"capacity-provider/{t}-gone"))),
    ("PutAccountSetting", None),
    ("PutAccountSettingDefault", None),
    ("DeleteAccountSetting", None),
    ("ListAccountSettings", None),
]

ACCOUNT_WIDE = {
    "ListClusters": lambda e: e.list_clusters(),
    "ListTaskDefinitions": lambda e: e.list_task_definitions(),
    "ListTaskDefinitionFamilies": lambda e: e.list_task_definition_families(),
    "PutAccountSetting": lambda e: e.put_account_setting(name="containerInsights", value="enabled"),
    "PutAccountSettingDefault": lambda e: e.put_account_setting_default(name="containerInsights", value="disabled"),
    "DeleteAccountSetting": lambda e: e.delete_account_setting(name="containerInsights"),
    "ListAccountSettings": lambda e: e.list_account_settings(effectiveSettings=True),
}


def ecs_door_actions():
    """Every ECS operation the door declares (Sources/StowageAPI/ECS/ECSOperations.swift)."""
    source = (pathlib.Path(__file__).parents[1] / "Sources/StowageAPI/ECS/ECSOperations.swift").read_text()
    table = source[source.index("enum ECSOperations"):]
    return set(re.findall(r'Operation\.json\(\.ecs, "([A-Za-z]+)"', table))


def denied(call):
    with pytest.raises(ClientError) as e:
        call()
    assert e.value.response["Error"]["Code"] == "AccessDeniedException", e.value.response
    return str(e.value)


def test_every_ecs_action_is_scoped_by_policy(server, tenant, other_tenant):
    admin = ecs_client(server, tenant)
    world = World(admin, tenant.account)
    iam = boto(server, "iam", tenant.key_id, tenant.secret)
    keys = {}
    for name in ("nobody", "scoped"):
        iam.create_user(UserName=name)
        k = iam.create_access_key(UserName=name)["AccessKey"]
        keys[name] = boto(server, "ecs", k["AccessKeyId"], k["SecretAccessKey"])
    nobody, scoped = keys["nobody"], keys["scoped"]
    outsider = boto(server, "ecs", other_tenant.key_id, other_tenant.secret)

    assert {a for a, _ in ACTIONS} == ecs_door_actions(), "the matrix covers every action of the ECS door"
    for action, call in ACTIONS:
        iam.put_user_policy(UserName="scoped", PolicyName="only", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": f"ecs:{action}", "Resource": "*" if call is None else world.scope("a")}]}))
        if call is None:
            list_call = ACCOUNT_WIDE[action]
            message = denied(lambda: list_call(nobody))
            assert f"ecs:{action}" in message
            list_call(scoped)
            # Another account lists its own (empty) account, never this one's resources.
            assert tenant.account not in json.dumps(list_call(outsider), default=str), action
            continue
        message = denied(lambda: call(nobody, world, "a"))
        assert f"ecs:{action}" in message and tenant.account in message, message
        call(scoped, world, "a")
        message = denied(lambda: call(scoped, world, "b"))
        assert f"ecs:{action}" in message and any(m in message for m in ("/b", "new-b", "del-b", "fb:")), (action, message)
        if action in ("CreateCluster", "RegisterTaskDefinition", "CreateCapacityProvider"):
            # Names resolve in the caller's own account: the outsider creates its own, and ours are untouched.
            call(outsider, world, "a")
            continue
        if action == "UpdateCapacityProvider":
            # A bare name is the outsider's own provider, which it does not have.
            with pytest.raises(ClientError) as missing:
                call(outsider, world, "a")
            assert "does not exist" in missing.value.response["Error"]["Message"], missing.value.response
            continue
        try:
            denied(lambda: call(outsider, world, "a"))
        except AssertionError as error:
            raise AssertionError(f"{action}: {error}")
    # The sibling cluster b was never changed by the scoped principal.
    assert admin.describe_services(cluster="b", services=["gone"])["services"][0]["status"] == "ACTIVE"
    assert admin.describe_clusters(clusters=["del-b"])["clusters"][0]["status"] == "ACTIVE"
    assert [p["name"] for p in admin.describe_capacity_providers(capacityProviders=["b-gone"])["capacityProviders"]] == ["b-gone"]
