"""End to end with real processes (server, worker, agents) and real containers through Podman's Docker API."""
import collections
import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

import boto3

from conftest import BIN, HTTPD, REGION, SOCKET, Agent, containers_of, docker, ecs_client, psql, running_healthy, signed_request, tasks_of, wait_for


@pytest.fixture(autouse=True)
def engine(need_engine):
    """Every test here runs real containers."""

def test_service_runs_healthy_serves_and_replaces_a_killed_container(server, tenant, tmp_path, agents):
    ecs = ecs_client(server, tenant)
    ecs.create_cluster(clusterName="e2e-web")
    agents.append(Agent(server, tenant, "e2e-web", tmp_path / "agent"))
    ecs.register_task_definition(family="httpd", containerDefinitions=[HTTPD])
    ecs.create_service(cluster="e2e-web", serviceName="web", taskDefinition="httpd", desiredCount=3)
    tasks = wait_for(lambda: running_healthy(ecs, "e2e-web", "web", 3))
    assert tasks, "three tasks RUNNING and HEALTHY"
    port = tasks[0]["containers"][0]["networkBindings"][0]["hostPort"]
    assert urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html").read().decode().strip() == "hello from stowage"

    victim = tasks[0]
    docker("POST", f"/containers/{victim['containers'][0]['runtimeId']}/kill")
    stopped = wait_for(lambda: [t for t in tasks_of(ecs, "e2e-web", "web", "STOPPED")
                                if t["taskArn"] == victim["taskArn"] and t["lastStatus"] == "STOPPED"])
    assert stopped[0]["stoppedReason"] == "Essential container in task exited"
    assert stopped[0]["stopCode"] == "EssentialContainerExited"
    assert stopped[0]["containers"][0]["exitCode"] == 137
    replaced = wait_for(lambda: running_healthy(ecs, "e2e-web", "web", 3))
    assert replaced and victim["taskArn"] not in {t["taskArn"] for t in replaced}
    events = ecs.describe_services(cluster="e2e-web", services=["web"])["services"][0]["events"]
    assert any("has started 1 tasks" in e["message"] for e in events)


def test_failing_health_check_gets_the_task_replaced(server, tenant, tmp_path, agents):
    ecs = ecs_client(server, tenant)
    ecs.create_cluster(clusterName="e2e-sick")
    agents.append(Agent(server, tenant, "e2e-sick", tmp_path / "agent"))
    sick = dict(HTTPD, healthCheck={"command": ["CMD-SHELL", "test -f /tmp/never"], "interval": 5, "timeout": 2, "retries": 1})
    ecs.register_task_definition(family="sick", containerDefinitions=[sick])
    ecs.create_service(cluster="e2e-sick", serviceName="sick", taskDefinition="sick", desiredCount=1)
    replaced = wait_for(lambda: [t for t in tasks_of(ecs, "e2e-sick", "sick", "STOPPED")
                                 if t.get("stoppedReason") == "Task failed container health checks"])
    assert replaced, "the UNHEALTHY task was stopped and replaced"
    assert replaced[0]["healthStatus"] == "UNHEALTHY"


def test_missing_image_and_crash_loops_are_visible(server, tenant, tmp_path, agents):
    ecs = ecs_client(server, tenant)
    ecs.create_cluster(clusterName="e2e-bad")
    agents.append(Agent(server, tenant, "e2e-bad", tmp_path / "agent"))
    assert wait_for(lambda: ecs.list_container_instances(cluster="e2e-bad")["containerInstanceArns"])
    ghost = {k: v for k, v in HTTPD.items() if k != "healthCheck"}
    ecs.register_task_definition(family="ghost", containerDefinitions=[dict(ghost, image="localhost/ghost:1")])
    run = ecs.run_task(cluster="e2e-bad", taskDefinition="ghost")
    arn = run["tasks"][0]["taskArn"]
    stopped = wait_for(lambda: [t for t in ecs.describe_tasks(cluster="e2e-bad", tasks=[arn])["tasks"] if t["lastStatus"] == "STOPPED"])
    assert stopped[0]["stopCode"] == "TaskFailedToStart"
    assert "CannotPullContainerError" in stopped[0]["stoppedReason"]

    crash = {"name": "crash", "image": "localhost/busybox:latest", "memory": 16, "command": ["sh", "-c", "sleep 0.5; exit 3"]}
    ecs.register_task_definition(family="crash", containerDefinitions=[crash])
    ecs.create_service(cluster="e2e-bad", serviceName="crash", taskDefinition="crash", desiredCount=1)
    message = wait_for(lambda: [e["message"] for e in ecs.describe_services(cluster="e2e-bad", services=["crash"])["services"][0]["events"]
                                if "backing off" in e["message"]], seconds=90)
    assert message, "a crash loop shows in the event log"
    assert "exited 3" in message[0] and "three times" in message[0]


def test_killed_agent_reattaches_without_duplicates(server, tenant, tmp_path, agents):
    ecs = ecs_client(server, tenant)
    ecs.create_cluster(clusterName="e2e-restart")
    agent = Agent(server, tenant, "e2e-restart", tmp_path / "agent")
    agents.append(agent)
    ecs.register_task_definition(family="httpd", containerDefinitions=[HTTPD])
    ecs.create_service(cluster="e2e-restart", serviceName="web", taskDefinition="httpd", desiredCount=2)
    # A task that prints numbered lines steadily: each number must reach its log stream once, across the restart.
    counter = {"name": "counter", "image": "localhost/busybox:latest", "memory": 16,
               "command": ["sh", "-c", "i=0; while true; do echo \"n $i\"; i=$((i+1)); sleep 0.1; done"],
               "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/e2e-restart", "awslogs-stream-prefix": "count"}}}
    ecs.register_task_definition(family="counter", containerDefinitions=[counter])
    logs = boto3.client("logs", endpoint_url=server.endpoint, region_name=REGION,
                        aws_access_key_id=tenant.key_id, aws_secret_access_key=tenant.secret)

    def shipped():
        """Every number in the task's stream, in order, as many times as it was stored."""
        numbers, token = [], None
        for _ in range(50):
            try:
                page = logs.get_log_events(logGroupName="/ecs/e2e-restart", logStreamName=f"count/counter/{counting.split('/')[-1]}",
                                           startFromHead=True, **({"nextToken": token} if token else {}))
            except logs.exceptions.ResourceNotFoundException:
                return []
            numbers += [int(e["message"].split()[1]) for e in page["events"]]
            if page["nextForwardToken"] == token:
                return numbers
            token = page["nextForwardToken"]
        raise AssertionError("the stream does not end")

    def printed():
        """The numbers the container wrote, as the engine holds them (whatever the agent did)."""
        (container,) = [c for c in containers_of(agent.arn) if c["Labels"].get("stowage.task") == counting]
        raw = subprocess.run(["curl", "-s", "--unix-socket", SOCKET, f"http://d/v1.41/containers/{container['Id']}/logs?stdout=true"],
                             capture_output=True, check=True).stdout
        return [int(n) for n in re.findall(rb"n (\d+)\n", raw)]

    before = wait_for(lambda: running_healthy(ecs, "e2e-restart", "web", 2))
    assert before
    counting = ecs.run_task(cluster="e2e-restart", taskDefinition="counter")["tasks"][0]["taskArn"]
    assert wait_for(lambda: len(shipped()) >= 5), "the counter's lines are shipped"
    instance = agent.arn
    agent.stop(signal.SIGKILL)
    assert len([c for c in containers_of(instance) if c["State"] == "running"]) == 3, "containers outlive the agent"
    at_kill = max(printed())
    assert wait_for(lambda: max(printed()) >= at_kill + 10, seconds=20, every=0.2), "lines are printed while the agent is down"
    written_while_down = set(range(at_kill + 1, at_kill + 11))
    agent.start()
    # Restarted: registered again (its second "agent running") and polled twice since, so the first answer's tasks
    # were taken up (adopted or, were adoption broken, started anew) before anything is counted.
    assert wait_for(lambda: open(agent.log.name).read().count("agent running") >= 2 or None, seconds=30)

    def heartbeat():
        return psql(server, f"SELECT last_heartbeat_at FROM instance_heartbeats WHERE instance_id = '{instance.split('/')[-1]}'")
    for _ in range(2):
        last = heartbeat()
        assert wait_for(lambda: heartbeat() != last or None, seconds=30, every=0.2), "the restarted agent polls"
    assert ecs.list_container_instances(cluster="e2e-restart")["containerInstanceArns"] == [instance], "same instance, no new one"
    assert agent.arn == instance
    after = wait_for(lambda: running_healthy(ecs, "e2e-restart", "web", 2))
    assert {t["taskArn"] for t in after} == {t["taskArn"] for t in before}, "the same tasks, adopted"
    assert len(containers_of(instance)) == 3, "none duplicated, none orphaned"

    # Lines printed after the restart arrive, and with them every earlier one exactly once: those shipped before the
    # kill are not sent again, those printed while the agent was down are not lost.
    at_restart = max(printed())
    numbers = wait_for(lambda: (lambda ns: ns if ns and max(ns) >= at_restart + 5 else None)(shipped()), seconds=30)
    assert numbers, "the restarted agent ships the counter's new lines"
    twice = sorted(n for n, times in collections.Counter(numbers).items() if times > 1)
    assert not twice, f"{len(twice)} of {len(set(numbers))} lines stored more than once, e.g. {twice[:5]}"
    assert written_while_down <= set(numbers), "the lines printed while the agent was down are shipped"
    assert numbers == list(range(max(numbers) + 1)), "every number once, in order, none skipped"
    positions = tmp_path / "agent" / "log-positions.json"
    assert positions.stat().st_mode & 0o777 == 0o600, "saved with the agent's state, readable by the agent only"


def test_a_lost_agent_has_its_tasks_rescheduled_to_another(server, tenant, tmp_path, agents):
    ecs = ecs_client(server, tenant)
    ecs.create_cluster(clusterName="e2e-lost")
    first = Agent(server, tenant, "e2e-lost", tmp_path / "first", zone="a")
    agents.append(first)
    wait_for(lambda: ecs.list_container_instances(cluster="e2e-lost")["containerInstanceArns"])
    ecs.register_task_definition(family="httpd", containerDefinitions=[HTTPD])
    ecs.create_service(cluster="e2e-lost", serviceName="web", taskDefinition="httpd", desiredCount=2)
    assert wait_for(lambda: running_healthy(ecs, "e2e-lost", "web", 2))
    second = Agent(server, tenant, "e2e-lost", tmp_path / "second", zone="b")
    agents.append(second)
    wait_for(lambda: len(ecs.list_container_instances(cluster="e2e-lost")["containerInstanceArns"]) == 2)
    lost_instance = first.arn
    first.stop()
    moved = wait_for(lambda: (lambda ts: ts if ts and all(t["containerInstanceArn"] == second.arn for t in ts) else None)(
        running_healthy(ecs, "e2e-lost", "web", 2)), seconds=90)
    assert moved, "both tasks run on the second agent's instance"
    described = ecs.describe_container_instances(cluster="e2e-lost", containerInstances=[lost_instance])["containerInstances"][0]
    assert described["agentConnected"] is False
    stopped = tasks_of(ecs, "e2e-lost", "web", "STOPPED")
    assert any(t.get("stoppedReason", "").startswith("Host lost") for t in stopped)
    # The lost host comes back: its stale containers are removed, nothing is duplicated.
    first.start()
    assert wait_for(lambda: len(containers_of(lost_instance)) == 0, seconds=30), "stale containers of the returning host are removed"
    assert wait_for(lambda: running_healthy(ecs, "e2e-lost", "web", 2))


def test_logs_come_back_through_boto3_and_cpu_burn_shows_in_metrics(server, tenant, tmp_path, agents):
    ecs = ecs_client(server, tenant)
    ecs.create_cluster(clusterName="e2e-telemetry")
    agents.append(Agent(server, tenant, "e2e-telemetry", tmp_path / "agent"))
    assert wait_for(lambda: ecs.list_container_instances(cluster="e2e-telemetry")["containerInstanceArns"])
    talker = {"name": "talker", "image": "localhost/busybox:latest", "memory": 16, "cpu": 128,
              "command": ["sh", "-c", "i=0; while true; do echo \"line $i\"; i=$((i+1)); sleep 0.2; done"],
              "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/e2e", "awslogs-stream-prefix": "talk"}}}
    burner = {"name": "burner", "image": "localhost/busybox:latest", "memory": 16, "cpu": 512,
              "command": ["sh", "-c", "while true; do :; done"]}
    ecs.register_task_definition(family="chatty", containerDefinitions=[talker, burner])
    task = ecs.run_task(cluster="e2e-telemetry", taskDefinition="chatty")["tasks"][0]
    task_id = task["taskArn"].split("/")[-1]

    logs = boto3.client("logs", endpoint_url=server.endpoint, region_name=REGION,
                        aws_access_key_id=tenant.key_id, aws_secret_access_key=tenant.secret)
    stream = f"talk/talker/{task_id}"

    def enough_lines():
        try:
            events = logs.get_log_events(logGroupName="/ecs/e2e", logStreamName=stream, startFromHead=True)["events"]
        except logs.exceptions.ResourceNotFoundException:
            return None
        return events if len(events) >= 5 else None

    events = wait_for(enough_lines, seconds=60)
    assert events, "the container's lines reached GetLogEvents"
    assert [e["message"] for e in events[:3]] == ["line 0", "line 1", "line 2"]
    assert all(e["timestamp"] <= e["ingestionTime"] + 1000 for e in events)
    page = logs.get_log_events(logGroupName="/ecs/e2e", logStreamName=stream, startFromHead=True, limit=2)
    assert [e["message"] for e in page["events"]] == ["line 0", "line 1"]
    following = logs.get_log_events(logGroupName="/ecs/e2e", logStreamName=stream, nextToken=page["nextForwardToken"], limit=2)
    assert [e["message"] for e in following["events"]] == ["line 2", "line 3"]
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.get_log_events(logGroupName="/ecs/none", logStreamName=stream)

    def burning():
        status, body = signed_request(server, tenant, "GET", f"/v1/clusters/e2e-telemetry/tasks/{task_id}/metrics")
        assert status == 200, body
        burns = [d for d in body["datapoints"] if d["containerName"] == "burner" and (d.get("cpuPercentOfHost") or 0) > 20]
        return burns or None

    burns = wait_for(burning, seconds=60)
    assert burns, "a busy loop shows as CPU use"
    assert burns[-1]["cpuPercentOfReservation"] > burns[-1]["cpuPercentOfHost"], "512 units is a quarter of this 2-core host"
    assert burns[-1]["memoryBytes"] > 0
    ecs.stop_task(cluster="e2e-telemetry", task=task["taskArn"])


def test_target_tracking_scales_out_on_cpu_burn_and_back_in_when_it_stops(server, tenant, tmp_path, agents):
    """Real containers burn CPU until the test has seen them scaled out: target tracking at 50% scales 1 -> 3, then back to 1."""
    ecs = ecs_client(server, tenant)
    aas = boto3.client("application-autoscaling", endpoint_url=server.endpoint, region_name=REGION,
                       aws_access_key_id=tenant.key_id, aws_secret_access_key=tenant.secret)
    cw = boto3.client("cloudwatch", endpoint_url=server.endpoint, region_name=REGION,
                      aws_access_key_id=tenant.key_id, aws_secret_access_key=tenant.secret)
    ecs.create_cluster(clusterName="e2e-scale")
    agents.append(Agent(server, tenant, "e2e-scale", tmp_path / "agent"))
    assert wait_for(lambda: ecs.list_container_instances(cluster="e2e-scale")["containerInstanceArns"])
    # The burn goes on until the test has seen what it causes (three tasks running and counted), then stops when
    # the test writes a file on a host volume: the scale-in is waited on from the moment the load is gone (it comes
    # with the first minute's datapoint below 45%), not from a deadline guessed for a loaded machine. The loop forks
    # nothing: one that ran `date` every turn had its containers OOM-killed in their 16 MiB, again and again.
    control = tmp_path / "control"
    control.mkdir()
    burner = {"name": "burner", "image": "localhost/busybox:latest", "memory": 16, "cpu": 256,
              "mountPoints": [{"sourceVolume": "control", "containerPath": "/control", "readOnly": True}],
              "command": ["sh", "-c", "while [ ! -e /control/stop ]; do :; done; while true; do sleep 1; done"]}
    ecs.register_task_definition(family="burner", containerDefinitions=[burner],
                                 volumes=[{"name": "control", "host": {"sourcePath": str(control)}}])
    ecs.create_service(cluster="e2e-scale", serviceName="hot", taskDefinition="burner", desiredCount=1)
    assert wait_for(lambda: tasks_of(ecs, "e2e-scale", "hot"), seconds=60)
    rid = "service/e2e-scale/hot"
    aas.register_scalable_target(ServiceNamespace="ecs", ResourceId=rid, ScalableDimension="ecs:service:DesiredCount",
                                 MinCapacity=1, MaxCapacity=3)
    aas.put_scaling_policy(PolicyName="cpu50", ServiceNamespace="ecs", ResourceId=rid, ScalableDimension="ecs:service:DesiredCount",
                           PolicyType="TargetTrackingScaling", TargetTrackingScalingPolicyConfiguration={
                               "TargetValue": 50, "ScaleOutCooldown": 10, "ScaleInCooldown": 10,
                               "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}})

    def desired():
        return ecs.describe_services(cluster="e2e-scale", services=["hot"])["services"][0]["desiredCount"]

    assert wait_for(lambda: desired() == 3, seconds=120), "a busy loop at 4x its 256-unit reservation scales out to the maximum"
    stats = cw.get_metric_statistics(Namespace="AWS/ECS", MetricName="CPUUtilization",
                                     Dimensions=[{"Name": "ClusterName", "Value": "e2e-scale"}, {"Name": "ServiceName", "Value": "hot"}],
                                     StartTime=time.time() - 600, EndTime=time.time() + 60, Period=60, Statistics=["Average", "Maximum"])
    assert any(d["Average"] > 50 for d in stats["Datapoints"]), stats
    # Three tasks actually RUNNING (not only desired), and the RunningTaskCount rollup saw them while they were.
    assert wait_for(lambda: [t for t in tasks_of(ecs, "e2e-scale", "hot") if t["lastStatus"] == "RUNNING"][2:], seconds=60)

    def running_max():
        points = cw.get_metric_statistics(Namespace="AWS/ECS", MetricName="RunningTaskCount",
                                          Dimensions=[{"Name": "ClusterName", "Value": "e2e-scale"}, {"Name": "ServiceName", "Value": "hot"}],
                                          StartTime=time.time() - 600, EndTime=time.time() + 60, Period=60, Statistics=["Maximum"])["Datapoints"]
        return max((d["Maximum"] for d in points), default=0)

    assert wait_for(lambda: running_max() == 3, seconds=30), running_max()
    (control / "stop").touch()
    burn_stopped = time.time()
    def cpu_minutes():
        points = cw.get_metric_statistics(Namespace="AWS/ECS", MetricName="CPUUtilization",
                                          Dimensions=[{"Name": "ClusterName", "Value": "e2e-scale"}, {"Name": "ServiceName", "Value": "hot"}],
                                          StartTime=time.time() - 600, EndTime=time.time() + 60, Period=60, Statistics=["Average"])["Datapoints"]
        return sorted((p["Timestamp"].strftime("%H:%M"), round(p["Average"], 1)) for p in points)

    assert wait_for(lambda: desired() == 1, seconds=200), (
        f"when the burn stops (at {time.strftime('%H:%M:%S', time.gmtime(burn_stopped))}) the service scales back in; "
        f"CPU by minute {cpu_minutes()}, activities {[a['Cause'] for a in aas.describe_scaling_activities(ServiceNamespace='ecs', ResourceId=rid)['ScalingActivities']]}")
    activities = aas.describe_scaling_activities(ServiceNamespace="ecs", ResourceId=rid)["ScalingActivities"]
    causes = [a["Cause"] for a in activities]
    assert any("CPUUtilization averaged" in c and "above the target 50" in c and "-> 3" in c for c in causes), causes
    assert any("below 90% of the target 50" in c and "-> 1" in c for c in causes), causes
    assert all(a["StatusCode"] == "Successful" for a in activities)
    events = [e["message"] for e in ecs.describe_services(cluster="e2e-scale", services=["hot"])["services"][0]["events"]]
    assert any("auto scaling set the desired count from 1 to 3" in m for m in events), events
    aas.deregister_scalable_target(ServiceNamespace="ecs", ResourceId=rid, ScalableDimension="ecs:service:DesiredCount")
    ecs.update_service(cluster="e2e-scale", service="hot", desiredCount=0)


def test_task_role_credentials_reach_boto3_through_the_agent(server, tenant, tmp_path, agents):
    ecs = ecs_client(server, tenant)
    iam = boto3.client("iam", endpoint_url=server.endpoint, region_name=REGION,
                       aws_access_key_id=tenant.key_id, aws_secret_access_key=tenant.secret)
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName="app-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    iam.put_role_policy(RoleName="app-role", PolicyName="list", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecs:ListClusters", "Resource": "*"}]}))
    ecs.create_cluster(clusterName="e2e-role")
    agents.append(Agent(server, tenant, "e2e-role", tmp_path / "agent"))
    assert wait_for(lambda: ecs.list_container_instances(cluster="e2e-role")["containerInstanceArns"])
    script = ('echo "uri=$AWS_CONTAINER_CREDENTIALS_FULL_URI"; echo "token=$AWS_CONTAINER_AUTHORIZATION_TOKEN"; '
              'wget -q -O - --header "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" "$AWS_CONTAINER_CREDENTIALS_FULL_URI"; '
              'echo; sleep 600')
    app = {"name": "app", "image": "localhost/busybox:latest", "memory": 16, "command": ["sh", "-c", script],
           "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/role", "awslogs-stream-prefix": "app"}}}
    ecs.register_task_definition(family="roled", taskRoleArn=role["Arn"], networkMode="host", containerDefinitions=[app])
    ecs.create_service(cluster="e2e-role", serviceName="roled", taskDefinition="roled", desiredCount=1)
    logs = boto3.client("logs", endpoint_url=server.endpoint, region_name=REGION,
                        aws_access_key_id=tenant.key_id, aws_secret_access_key=tenant.secret)

    def printed():
        lines = [e["message"] for e in logs.filter_log_events(logGroupName="/ecs/role")["events"]] \
            if logs.describe_log_groups(logGroupNamePrefix="/ecs/role")["logGroups"] else []
        return lines if any(line.startswith("{") for line in lines) else None

    lines = wait_for(printed, seconds=60)
    assert lines, "the container printed what the credentials endpoint answered"
    uri = next(line[4:] for line in lines if line.startswith("uri="))
    token = next(line[6:] for line in lines if line.startswith("token="))
    answer = json.loads(next(line for line in lines if line.startswith("{")))
    task_id = uri.rsplit("/", 1)[-1]
    assert uri.startswith("http://169.254.170.2:") and answer["RoleArn"] == role["Arn"] and answer["AccessKeyId"].startswith("ASIA")

    # The credentials the container got are the role's, for this task's session.
    sts = boto3.client("sts", endpoint_url=server.endpoint, region_name=REGION, aws_access_key_id=answer["AccessKeyId"],
                       aws_secret_access_key=answer["SecretAccessKey"], aws_session_token=answer["Token"])
    assert sts.get_caller_identity()["Arn"] == f"arn:aws:sts::{tenant.account}:assumed-role/app-role/{task_id}"

    # boto3 finds them by itself from the two variables the task has (its container credentials provider).
    probe = ("import boto3, sys; s = boto3.Session(region_name='us-east-1'); e = sys.argv[1]; "
             "print(s.client('sts', endpoint_url=e).get_caller_identity()['Arn']); "
             "print(len(s.client('ecs', endpoint_url=e).list_clusters()['clusterArns']))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONTAINER_CREDENTIALS_FULL_URI=uri, AWS_CONTAINER_AUTHORIZATION_TOKEN=token,
               AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_CONFIG_FILE="/dev/null")
    out = subprocess.run(["python3", "-c", probe, server.endpoint], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    arn, clusters = out.stdout.split()
    assert arn == f"arn:aws:sts::{tenant.account}:assumed-role/app-role/{task_id}" and int(clusters) >= 1
    # The role's policy is all the task gets.
    with pytest.raises(Exception) as e:
        boto3.client("ecs", endpoint_url=server.endpoint, region_name=REGION, aws_access_key_id=answer["AccessKeyId"],
                     aws_secret_access_key=answer["SecretAccessKey"], aws_session_token=answer["Token"]).create_cluster(clusterName="x")
    assert "AccessDeniedException" in str(e.value)
    # Another task's token does not open this task's credentials.
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(urllib.request.Request(uri, headers={"Authorization": "0" * 64}))
    assert e.value.code == 401

    # Deleting the role is allowed, as in IAM; the next refresh fails and says so in the service's events.
    iam.delete_role_policy(RoleName="app-role", PolicyName="list")
    iam.delete_role(RoleName="app-role")
    instance = ecs.list_container_instances(cluster="e2e-role")["containerInstanceArns"][0].split("/")[-1]
    status, refused = signed_request(server, agents[-1].key, "GET",
                                     f"/agent/v1/clusters/e2e-role/container-instances/{instance}/tasks/{task_id}/credentials")
    assert status == 403 and "does not exist" in refused["message"], refused
    events = ecs.describe_services(cluster="e2e-role", services=["roled"])["services"][0]["events"]
    assert any("could not refresh task role credentials" in ev["message"] for ev in events)
