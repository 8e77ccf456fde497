"""Issue 14, item 4: ECS `secrets` read at start with the task's execution role (real agent, real Podman): values
from Secrets Manager (whole and one JSON key) and Parameter Store reach the container's environment, appear in no
describe output and no log, and a role that may not read them stops the task with ECS's reason, an event and the
service's crash-loop backoff."""
import json
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

from conftest import ECS_TASKS_TRUST as TRUST, REGION, cluster_with_agent, ecs_client, tenant_clients, wait_for

@pytest.fixture(autouse=True)
def engine(need_engine):
    """Every test here runs real containers."""


def clients(server, tenant):
    return tenant_clients(server, tenant, "iam", "secretsmanager", "ssm", "logs")


def printed(logs, group):
    """The name=value lines the containers of a log group printed, once the last one (done=) is there."""
    if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
        return None
    lines = [e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]]
    found = dict(line.split("=", 1) for line in lines if "=" in line)
    return found if "done" in found else None


def awslogs(group):
    return {"logDriver": "awslogs", "options": {"awslogs-group": group, "awslogs-stream-prefix": "s", "awslogs-create-group": "true"}}


def test_a_service_reads_secrets_from_both_stores_with_its_execution_role(server, tenant, tmp_path, agents):
    iam, sm, ssm, logs = clients(server, tenant)
    password = "pw-" + uuid.uuid4().hex
    api_key = "key-" + uuid.uuid4().hex
    secret_arn = sm.create_secret(Name="svc/db", SecretString=json.dumps({"user": "app", "password": password}))["ARN"]
    ssm.put_parameter(Name="/svc/api-key", Value=api_key, Type="SecureString")
    ssm.put_parameter(Name="/svc/api-key", Value="newer", Type="SecureString", Overwrite=True)
    role = iam.create_role(RoleName="svc-exec", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]
    iam.put_role_policy(RoleName="svc-exec", PolicyName="read", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret_arn},
        {"Effect": "Allow", "Action": "ssm:GetParameters", "Resource": f"arn:aws:ssm:{REGION}:{tenant.account}:parameter/svc/*"}]}))
    ecs = cluster_with_agent(server, tenant, tmp_path, agents, "secrets")
    script = 'echo "json=$DB_JSON"; echo "password=$DB_PASSWORD"; echo "key=$API_KEY"; echo "latest=$API_LATEST"; echo "done=1"; sleep 600'
    app = {"name": "app", "image": "localhost/busybox:latest", "memory": 32, "command": ["sh", "-c", script],
           "logConfiguration": awslogs("/secrets"),
           "secrets": [{"name": "DB_JSON", "valueFrom": secret_arn},
                       {"name": "DB_PASSWORD", "valueFrom": f"{secret_arn}:password::"},
                       {"name": "API_KEY", "valueFrom": f"arn:aws:ssm:{REGION}:{tenant.account}:parameter/svc/api-key:1"},
                       {"name": "API_LATEST", "valueFrom": "/svc/api-key"}]}
    ecs.register_task_definition(family="secrets", executionRoleArn=role["Arn"], containerDefinitions=[app])
    ecs.create_service(cluster="secrets", serviceName="svc", taskDefinition="secrets", desiredCount=1)

    found = wait_for(lambda: printed(logs, "/secrets"), seconds=90)
    assert found, "the container printed its environment"
    assert json.loads(found["json"]) == {"user": "app", "password": password}
    assert found["password"] == password, "one JSON key of the secret"
    assert found["key"] == api_key, "a parameter version by ARN and selector"
    assert found["latest"] == "newer", "a parameter by name: its latest version"

    described = json.dumps(ecs.describe_task_definition(taskDefinition="secrets"), default=str)
    assert "svc/api-key" in described and password not in described and api_key not in described
    task = ecs.describe_tasks(cluster="secrets", tasks=ecs.list_tasks(cluster="secrets")["taskArns"])["tasks"][0]
    assert password not in json.dumps(task, default=str)
    for path in (server.log_path, f"{tmp_path / 'secrets'}.log"):
        text = open(path).read()
        assert password not in text and api_key not in text, f"{path} holds no secret value"


def test_a_role_that_may_not_read_stops_the_task_with_the_reason_an_event_and_backoff(server, tenant, other_tenant, tmp_path, agents):
    iam, sm, _, _ = clients(server, tenant)
    secret_arn = sm.create_secret(Name="locked", SecretString="nope")["ARN"]
    role = iam.create_role(RoleName="bare-exec", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]
    ecs = cluster_with_agent(server, tenant, tmp_path, agents, "denied")
    app = {"name": "app", "image": "localhost/busybox:latest", "memory": 32, "command": ["sleep", "600"],
           "secrets": [{"name": "LOCKED", "valueFrom": secret_arn}]}
    ecs.register_task_definition(family="denied", executionRoleArn=role["Arn"], containerDefinitions=[app])
    ecs.create_service(cluster="denied", serviceName="svc", taskDefinition="denied", desiredCount=1)

    stopped = wait_for(lambda: [t for t in (ecs.describe_tasks(cluster="denied", tasks=ecs.list_tasks(
        cluster="denied", desiredStatus="STOPPED")["taskArns"])["tasks"] if ecs.list_tasks(cluster="denied", desiredStatus="STOPPED")["taskArns"] else [])
        if t["lastStatus"] == "STOPPED"], seconds=60)
    assert stopped, "the task stopped"
    reason = stopped[0]["stoppedReason"]
    assert reason.startswith("ResourceInitializationError: unable to pull secrets or registry auth: unable to retrieve secret from asm")
    assert "AccessDeniedException" in reason and "secretsmanager:GetSecretValue" in reason and "assumed-role/bare-exec/" in reason
    assert stopped[0]["stopCode"] == "TaskFailedToStart"

    def events():
        return [e["message"] for e in ecs.describe_services(cluster="denied", services=["svc"])["services"][0]["events"]]
    assert wait_for(lambda: any("failed to start: ResourceInitializationError" in m for m in events()) or None, seconds=30)
    assert wait_for(lambda: any("backing off" in m for m in events()) or None, seconds=90), "the crash-loop backoff applies"

    # Another tenant's secret, named by its ARN, is refused when the task definition is registered (its value is
    # never read, and a task never starts to try).
    other_arn = boto3.client("secretsmanager", endpoint_url=server.endpoint, region_name=REGION, aws_access_key_id=other_tenant.key_id,
                             aws_secret_access_key=other_tenant.secret).create_secret(Name="theirs", SecretString="private")["ARN"]
    iam.put_role_policy(RoleName="bare-exec", PolicyName="all", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}))
    app["secrets"] = [{"name": "THEIRS", "valueFrom": other_arn}]
    with pytest.raises(ClientError) as refused:
        ecs.register_task_definition(family="foreign", executionRoleArn=role["Arn"], containerDefinitions=[app])
    assert refused.value.response["Error"]["Code"] == "ClientException" and "not the caller's" in refused.value.response["Error"]["Message"]
    assert "foreign" not in ecs.list_task_definition_families()["families"]


def test_registration_checks_references_and_requires_an_execution_role(server, tenant):
    ecs = ecs_client(server, tenant)
    base = {"name": "app", "image": "busybox", "memory": 32}
    for extra, role, words in [
        ({"secrets": [{"name": "X", "valueFrom": "/ok"}]}, None, "executionRoleArn is required"),
        ({"secrets": [{"name": "X", "valueFrom": "arn:aws:s3:::bucket/key"}]}, "arn:aws:iam::%s:role/r", "neither a Systems Manager"),
        ({"secrets": [{"name": "X", "valueFrom": "bad name"}]}, "arn:aws:iam::%s:role/r", "not a valid parameter name"),
        ({"secrets": [{"name": "X", "valueFrom": "/a"}, {"name": "X", "valueFrom": "/b"}]}, "arn:aws:iam::%s:role/r", "given twice"),
        ({"repositoryCredentials": {"credentialsParameter": "/a/parameter"}}, "arn:aws:iam::%s:role/r", "Secrets Manager secret ARN"),
    ]:
        kwargs = {"family": "checked", "containerDefinitions": [{**base, **extra}]}
        if role:
            kwargs["executionRoleArn"] = role % tenant.account
        with pytest.raises(ClientError) as e:
            ecs.register_task_definition(**kwargs)
        assert e.value.response["Error"]["Code"] == "ClientException" and words in e.value.response["Error"]["Message"], e.value.response
    with pytest.raises(ClientError):
        ecs.describe_task_definition(taskDefinition="checked")
