"""Issue 25: Fargate's rules and capacity providers through boto3. Fargate task definitions are refused in ECS's words
with nothing written; capacity providers are created, described, attached to clusters and deleted; a service's
base/weight strategy over FARGATE and FARGATE_SPOT instances (real agents) divides its tasks as ECS documents, and
draining the spot instance interrupts its tasks with ECS's Spot reason and replaces them on FARGATE."""
import botocore.exceptions
import pytest

from conftest import Agent, tasks_of, wait_for

SLEEPER = {"name": "app", "image": "localhost/busybox:latest", "command": ["sleep", "600"], "stopTimeout": 2}
FARGATE = {"networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512"}


def refused(call):
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call()
    return caught.value.response["Error"]


def test_fargate_rules_are_ecss_and_nothing_is_written(ecs):
    ecs.create_cluster(clusterName="rules")
    cases = [
        (dict(FARGATE, networkMode="bridge"), "Fargate only supports network mode 'awsvpc'."),
        ({k: v for k, v in FARGATE.items() if k != "cpu"}, "Fargate requires that 'cpu' be defined at the task level."),
        (dict(FARGATE, cpu="1 vCPU", memory="1 GB"),
         "No Fargate configuration exists for given values: 1024 CPU, 1024 memory. See the Amazon ECS documentation for the valid values."),
        (dict(FARGATE, volumes=[{"name": "h", "host": {"sourcePath": "/srv"}}]), "host.sourcePath should not be set for volumes in Fargate."),
        (dict(FARGATE, placementConstraints=[{"type": "memberOf", "expression": "attribute:a == b"}]), "placement constraints"),
        (dict(FARGATE, runtimePlatform={"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE"}),
         "runtimePlatform.operatingSystemFamily WINDOWS_SERVER_2022_CORE is refused"),
    ]
    for extra, message in cases:
        error = refused(lambda: ecs.register_task_definition(family="nope", containerDefinitions=[SLEEPER], **extra))
        assert error["Code"] in {"ClientException", "InvalidParameterException"} and message in error["Message"], error
    privileged = refused(lambda: ecs.register_task_definition(family="nope", containerDefinitions=[dict(SLEEPER, privileged=True)], **FARGATE))
    assert "do not support privileged containers" in privileged["Message"], privileged
    assert ecs.list_task_definitions(familyPrefix="nope")["taskDefinitionArns"] == []

    # 2 GB is one of 0.25 vCPU's sizes: the definition says it may run as Fargate.
    fargate = ecs.register_task_definition(family="ok", containerDefinitions=[SLEEPER], **dict(FARGATE, memory="2 GB"))["taskDefinition"]
    assert fargate["compatibilities"] == ["EC2", "EXTERNAL", "FARGATE"] and fargate["memory"] == "2048"
    bridge = ecs.register_task_definition(family="bridge", containerDefinitions=[dict(SLEEPER, memory=32)])["taskDefinition"]
    assert "FARGATE" not in bridge["compatibilities"]
    vpc = {"awsvpcConfiguration": {"subnets": ["subnet-a"]}}
    launches = [
        (dict(taskDefinition="bridge", launchType="FARGATE"), "Task definition does not support launch_type FARGATE."),
        (dict(taskDefinition="bridge", networkConfiguration=vpc),
         "Network Configuration is not valid for the given networkMode of this task definition."),
        (dict(taskDefinition="ok", networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-a"], "securityGroups": ["sg-1"]}}),
         "securityGroups is refused"),
        (dict(taskDefinition="ok", networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-a"], "assignPublicIp": "ENABLED"}}),
         "assignPublicIp ENABLED is refused"),
        (dict(taskDefinition="ok", launchType="FARGATE", platformVersion="1.3.0"), "platformVersion 1.3.0 is refused"),
        (dict(taskDefinition="ok", launchType="FARGATE", capacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}]),
         "Specifying both a launch type and capacity provider strategy is not supported."),
        (dict(taskDefinition="ok", capacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}]),
         "not associated with the cluster"),
    ]
    for kwargs, message in launches:
        error = refused(lambda: ecs.run_task(cluster="rules", **kwargs))
        assert error["Code"] == "InvalidParameterException" and message in error["Message"], (kwargs, error)
        error = refused(lambda: ecs.create_service(cluster="rules", serviceName="s", desiredCount=1, **kwargs))
        assert message in error["Message"], (kwargs, error)
    assert ecs.list_tasks(cluster="rules")["taskArns"] == [] and ecs.list_services(cluster="rules")["serviceArns"] == []


def test_capacity_providers_and_a_clusters_strategy(ecs, tenant):
    made = ecs.create_capacity_provider(name="gpu-pool", tags=[{"key": "team", "value": "ml"}])["capacityProvider"]
    assert made["capacityProviderArn"] == f"arn:aws:ecs:us-east-1:{tenant.account}:capacity-provider/gpu-pool" and made["status"] == "ACTIVE"
    for name, message in [("fargate-pool", "cannot start with 'aws', 'ecs', or 'fargate'"), ("FARGATE", "cannot start with"),
                          ("gpu-pool", "already exists")]:
        assert message in refused(lambda: ecs.create_capacity_provider(name=name))["Message"]
    asg = refused(lambda: ecs.create_capacity_provider(name="asg", autoScalingGroupProvider={
        "autoScalingGroupArn": "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:x:autoScalingGroupName/y"}))
    assert "autoScalingGroupProvider is refused" in asg["Message"], asg
    assert "autoScalingGroupProvider is refused" in refused(lambda: ecs.update_capacity_provider(name="gpu-pool", autoScalingGroupProvider={
        "managedScaling": {"status": "ENABLED"}}))["Message"]

    listed = ecs.describe_capacity_providers(include=["TAGS"])["capacityProviders"]
    assert [p["name"] for p in listed] == ["FARGATE", "FARGATE_SPOT", "gpu-pool"]
    assert listed[2]["tags"] == [{"key": "team", "value": "ml"}] and listed[0]["type"] == "FARGATE"
    missing = ecs.describe_capacity_providers(capacityProviders=["gpu-pool", "nowhere"])
    assert [p["name"] for p in missing["capacityProviders"]] == ["gpu-pool"] and missing["failures"][0]["reason"] == "MISSING"
    # `cluster` narrows Describe to the providers made for that cluster, and Delete to the provider of that cluster.
    ecs.create_cluster(clusterName="capc")
    ecs.create_capacity_provider(name="capc-pool", cluster="capc")
    assert [p["name"] for p in ecs.describe_capacity_providers(cluster="capc")["capacityProviders"]] == ["capc-pool"]
    assert "capc-pool" in refused(lambda: ecs.delete_capacity_provider(capacityProvider="capc-pool", cluster="rules"))["Message"]
    assert ecs.delete_capacity_provider(capacityProvider="capc-pool", cluster="capc")["capacityProvider"]["status"] == "INACTIVE"

    ecs.create_cluster(clusterName="cap")
    bad = [
        (["FARGATE", "FARGATE_SPOT"], [{"capacityProvider": "FARGATE", "base": 1}, {"capacityProvider": "FARGATE_SPOT", "base": 1}],
         "Only one capacity provider"),
        (["FARGATE"], [{"capacityProvider": "FARGATE", "weight": 1001}], "between 0 and 1000"),
        (["FARGATE"], [{"capacityProvider": "FARGATE", "base": 100001}], "between 0 and 100000"),
        (["FARGATE"], [{"capacityProvider": "FARGATE_SPOT", "weight": 1}], "not associated with the cluster"),
        (["nowhere"], [], "does not exist: nowhere"),
        # Another account's provider by ARN is not read as this account's provider of the same name.
        (["arn:aws:ecs:us-east-1:999999999999:capacity-provider/gpu-pool"], [], "is not one of this account's"),
    ]
    for providers, strategy, message in bad:
        error = refused(lambda: ecs.put_cluster_capacity_providers(cluster="cap", capacityProviders=providers,
                                                                   defaultCapacityProviderStrategy=strategy))
        assert message in error["Message"], error
    assert ecs.describe_clusters(clusters=["cap"])["clusters"][0]["capacityProviders"] == [], "nothing was written"

    strategy = [{"capacityProvider": "gpu-pool", "weight": 1, "base": 1}]
    cluster = ecs.put_cluster_capacity_providers(cluster="cap", capacityProviders=["FARGATE", "gpu-pool"],
                                                 defaultCapacityProviderStrategy=strategy)["cluster"]
    assert cluster["capacityProviders"] == ["FARGATE", "gpu-pool"] and cluster["defaultCapacityProviderStrategy"] == strategy
    in_use = refused(lambda: ecs.delete_capacity_provider(capacityProvider="gpu-pool"))
    assert in_use["Code"] == "ResourceInUseException" and "cap" in in_use["Message"], in_use
    ecs.put_cluster_capacity_providers(cluster="cap", capacityProviders=[], defaultCapacityProviderStrategy=[])
    assert ecs.delete_capacity_provider(capacityProvider="gpu-pool")["capacityProvider"]["status"] == "INACTIVE"
    assert [p["name"] for p in ecs.describe_capacity_providers()["capacityProviders"]] == ["FARGATE", "FARGATE_SPOT"]

    # A service keeps what it was launched with and shows it; UpdateService changes it with a new deployment.
    ecs.register_task_definition(family="vpc", containerDefinitions=[SLEEPER], **FARGATE)
    ecs.put_cluster_capacity_providers(cluster="cap", capacityProviders=["FARGATE", "FARGATE_SPOT"], defaultCapacityProviderStrategy=[])
    network = {"awsvpcConfiguration": {"subnets": ["subnet-a", "subnet-b"]}}
    service = ecs.create_service(cluster="cap", serviceName="vpc", taskDefinition="vpc", desiredCount=0, launchType="FARGATE",
                                 networkConfiguration=network)["service"]
    assert service["launchType"] == "FARGATE" and service["platformVersion"] == "1.4.0"
    assert service["networkConfiguration"] == {"awsvpcConfiguration": {"subnets": ["subnet-a", "subnet-b"], "assignPublicIp": "DISABLED"}}
    spot_only = [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]
    updated = ecs.update_service(cluster="cap", service="vpc", capacityProviderStrategy=spot_only)["service"]
    assert updated["capacityProviderStrategy"] == spot_only and "launchType" not in updated and len(updated["deployments"]) == 2
    foreign = refused(lambda: ecs.update_service(cluster="cap", service="vpc", capacityProviderStrategy=[{"capacityProvider": "elsewhere", "weight": 1}]))
    assert "not associated with the cluster" in foreign["Message"], foreign
    assert ecs.describe_services(cluster="cap", services=["vpc"])["services"][0]["capacityProviderStrategy"] == spot_only

    made = ecs.create_cluster(clusterName="spotty", capacityProviders=["FARGATE_SPOT"],
                              defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}])["cluster"]
    assert made["capacityProviders"] == ["FARGATE_SPOT"]
    assert ecs.describe_clusters(clusters=["spotty"])["clusters"][0]["defaultCapacityProviderStrategy"] == [
        {"capacityProvider": "FARGATE_SPOT", "weight": 1}]


def by_provider(tasks):
    counts = {}
    for t in tasks:
        counts[t.get("capacityProviderName")] = counts.get(t.get("capacityProviderName"), 0) + 1
    return counts


def test_a_strategy_divides_a_service_and_spot_tasks_move_to_fargate_when_interrupted(server, tenant, tmp_path, agents, need_engine, ecs):
    ecs.create_cluster(clusterName="spot")
    agents.append(Agent(server, tenant, "spot", tmp_path / "fargate", extra=("--capacity-provider", "FARGATE")))
    agents.append(Agent(server, tenant, "spot", tmp_path / "spot", zone="b", extra=("--capacity-provider", "FARGATE_SPOT")))
    assert wait_for(lambda: len(ecs.list_container_instances(cluster="spot")["containerInstanceArns"]) == 2)
    on_demand, spot = agents[0].arn, agents[1].arn
    # Strategy: FARGATE takes the first 2 tasks, the rest go 1:3 (ECS's example: 2 + 2 on FARGATE, 6 on FARGATE_SPOT).
    strategy = [{"capacityProvider": "FARGATE", "base": 2, "weight": 1}, {"capacityProvider": "FARGATE_SPOT", "weight": 3}]
    ecs.put_cluster_capacity_providers(cluster="spot", capacityProviders=["FARGATE", "FARGATE_SPOT"], defaultCapacityProviderStrategy=strategy)
    ecs.register_task_definition(family="sleeper", containerDefinitions=[SLEEPER], **FARGATE)
    # Neither a launch type nor a strategy: the cluster's default strategy is the service's.
    service = ecs.create_service(cluster="spot", serviceName="web", taskDefinition="sleeper", desiredCount=10)["service"]
    assert service["capacityProviderStrategy"] == strategy and service["platformVersion"] == "1.4.0"
    assert "launchType" not in service

    running = wait_for(lambda: (lambda ts: ts if len(ts) == 10 and all(t["lastStatus"] == "RUNNING" for t in ts) else None)(
        tasks_of(ecs, "spot", "web")), seconds=120)
    assert running, tasks_of(ecs, "spot", "web")
    assert by_provider(running) == {"FARGATE": 4, "FARGATE_SPOT": 6}
    for t in running:
        assert t["launchType"] == "FARGATE" and t["platformVersion"] == "1.4.0"
        assert t["containerInstanceArn"] == (on_demand if t["capacityProviderName"] == "FARGATE" else spot)

    # Six fit on the on-demand instance alone (its 2048 CPU units): scale in, then reclaim the spot capacity.
    ecs.update_service(cluster="spot", service="web", desiredCount=6)
    six = wait_for(lambda: (lambda ts: ts if len(ts) == 6 and all(t["lastStatus"] == "RUNNING" for t in ts) else None)(
        tasks_of(ecs, "spot", "web")), seconds=60)
    assert six
    on_spot = {t["taskArn"] for t in six if t["capacityProviderName"] == "FARGATE_SPOT"}
    assert on_spot, by_provider(six)
    ecs.update_container_instances_state(cluster="spot", containerInstances=[spot], status="DRAINING")

    def interrupted():
        stopped = tasks_of(ecs, "spot", "web", status="STOPPED")
        mine = [t for t in stopped if t["taskArn"] in on_spot]
        return mine if len(mine) == len(on_spot) and all(t["lastStatus"] == "STOPPED" for t in mine) else None
    stopped = wait_for(interrupted, seconds=60)
    assert stopped, tasks_of(ecs, "spot", "web", status="STOPPED")
    for t in stopped:
        assert t["stoppedReason"] == "Your Spot Task was interrupted." and t["stopCode"] == "SpotInterruption", t
    replaced = wait_for(lambda: (lambda ts: ts if len(ts) == 6 and all(t["lastStatus"] == "RUNNING" for t in ts) else None)(
        tasks_of(ecs, "spot", "web")), seconds=90)
    assert replaced and by_provider(replaced) == {"FARGATE": 6}, replaced and by_provider(replaced)
    assert all(t["containerInstanceArn"] == on_demand for t in replaced)
