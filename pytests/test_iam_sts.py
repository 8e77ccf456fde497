"""IAM and STS through the installed boto3 (query protocol: form-encoded requests, XML answers), enforcement of
role-scoped policies on the ECS door, temporary credentials, the audit trail and quotas."""
import json
import subprocess
import threading
import time
import urllib.parse
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import BIN, REGION, ecs_client, make_tenant, psql, register_instance, signed_request, wait_for

NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"})


def client(server, name, key_id, secret, token=None):
    return boto3.client(name, endpoint_url=server.endpoint, region_name=REGION, aws_access_key_id=key_id,
                        aws_secret_access_key=secret, aws_session_token=token, config=NO_RETRY)


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


class Keys:
    """Credentials in the shape conftest's signed_request takes."""
    def __init__(self, key_id, secret):
        self.key_id, self.secret = key_id, secret


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def new_user(iam, name):
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def test_role_scoped_to_one_service_through_sts(server, tenant):
    admin = ecs_client(server, tenant)
    iam = client(server, "iam", tenant.key_id, tenant.secret)
    admin.create_cluster(clusterName="prod")
    admin.register_task_definition(family="web", containerDefinitions=[{"name": "c", "image": "busybox", "memory": 16}])
    for name in ("web", "api"):
        admin.create_service(cluster="prod", serviceName=name, taskDefinition="web", desiredCount=0)
    web_arn = f"arn:aws:ecs:{REGION}:{tenant.account}:service/prod/web"
    api_arn = f"arn:aws:ecs:{REGION}:{tenant.account}:service/prod/api"

    # A CI user with no policies of its own, and a role it may assume that can update one service.
    ci_key, ci_secret = new_user(iam, "deployer")
    user_arn = iam.get_user(UserName="deployer")["User"]["Arn"]
    assert user_arn == f"arn:aws:iam::{tenant.account}:user/deployer"
    trust = policy({"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "sts:AssumeRole"})
    role = iam.create_role(RoleName="deploy-web", AssumeRolePolicyDocument=trust, MaxSessionDuration=7200)["Role"]
    assert role["Arn"] == f"arn:aws:iam::{tenant.account}:role/deploy-web"
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Action"] == "sts:AssumeRole"  # botocore decoded it
    iam.put_role_policy(RoleName="deploy-web", PolicyName="update-web",
                        PolicyDocument=policy({"Effect": "Allow", "Action": "ecs:UpdateService", "Resource": web_arn}))
    assert iam.list_role_policies(RoleName="deploy-web")["PolicyNames"] == ["update-web"]

    ci_ecs = client(server, "ecs", ci_key, ci_secret)
    with pytest.raises(ClientError) as e:
        ci_ecs.update_service(cluster="prod", service="web", desiredCount=1)
    assert code(e) == "AccessDeniedException" and "ecs:UpdateService" in str(e.value) and web_arn in str(e.value)

    sts = client(server, "sts", ci_key, ci_secret)
    assert sts.get_caller_identity()["Arn"] == user_arn
    creds = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="ci-run-42", DurationSeconds=900)["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and creds["SessionToken"]
    session = (creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    assumed = client(server, "sts", *session).get_caller_identity()
    assert assumed["Arn"] == f"arn:aws:sts::{tenant.account}:assumed-role/deploy-web/ci-run-42"
    assert assumed["Account"] == tenant.account

    role_ecs = client(server, "ecs", *session)
    out = role_ecs.update_service(cluster="prod", service="web", desiredCount=2)["service"]
    assert out["desiredCount"] == 2
    with pytest.raises(ClientError) as e:
        role_ecs.update_service(cluster="prod", service="api", desiredCount=2)
    assert code(e) == "AccessDeniedException" and api_arn in str(e.value)
    with pytest.raises(ClientError) as e:
        role_ecs.delete_cluster(cluster="prod")
    assert code(e) == "AccessDeniedException"
    assert admin.describe_services(cluster="prod", services=["api"])["services"][0]["desiredCount"] == 0

    # A session policy narrows the role: this session may only describe.
    narrow = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="narrow", Policy=policy(
        {"Effect": "Allow", "Action": "ecs:DescribeServices", "Resource": "*"}))["Credentials"]
    with pytest.raises(ClientError) as e:
        client(server, "ecs", narrow["AccessKeyId"], narrow["SecretAccessKey"], narrow["SessionToken"]).update_service(
            cluster="prod", service="web", desiredCount=3)
    assert code(e) == "AccessDeniedException"

    # Someone the trust policy does not name cannot assume the role; bad durations and names are refused.
    eve_key, eve_secret = new_user(iam, "eve")
    with pytest.raises(ClientError) as e:
        client(server, "sts", eve_key, eve_secret).assume_role(RoleArn=role["Arn"], RoleSessionName="x1")
    assert code(e) == "AccessDenied" or code(e) == "AccessDeniedException"
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=role["Arn"], RoleSessionName="long", DurationSeconds=7201)
    assert code(e) == "ValidationError"
    # boto3 checks the 900-second minimum itself; the REST door is checked the same way on the server.
    ci = Keys(ci_key, ci_secret)
    status, err = signed_request(server, ci, "POST", "/v1/sts/AssumeRole",
                                 {"RoleArn": role["Arn"], "RoleSessionName": "short", "DurationSeconds": 899})
    assert status == 400 and err["__type"] == "ValidationError", err
    status, out = signed_request(server, ci, "POST", "/v1/sts/GetCallerIdentity", {})
    assert status == 200 and out["Arn"] == user_arn

    # Forged and expired tokens.
    with pytest.raises(ClientError) as e:
        client(server, "ecs", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"] + "x").list_clusters()
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as e:
        client(server, "ecs", creds["AccessKeyId"], creds["SecretAccessKey"]).list_clusters()
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    fresh = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="expiring", DurationSeconds=900)["Credentials"]
    psql(server, f"UPDATE sts_sessions SET expires_at = now() - interval '1 second' WHERE access_key_id = '{fresh['AccessKeyId']}'")
    with pytest.raises(ClientError) as e:
        client(server, "ecs", fresh["AccessKeyId"], fresh["SecretAccessKey"], fresh["SessionToken"]).list_clusters()
    assert code(e) == "ExpiredTokenException"

    # Every call is on record, allowed or denied, by principal and action.
    query = urllib.parse.urlencode({"principalArn": f"arn:aws:sts::{tenant.account}:assumed-role/deploy-web/ci-run-42",
                                    "action": "ecs:UpdateService"})
    status, found = signed_request(server, tenant, "GET", f"/v1/audit/events?{query}")
    assert status == 200, found
    outcomes = sorted((ev["allowed"], tuple(ev["resources"])) for ev in found["events"])
    assert outcomes == [(False, (api_arn,)), (True, (web_arn,))], found
    denied = [ev for ev in found["events"] if not ev["allowed"]][0]
    assert denied["errorCode"] == "AccessDeniedException" and denied["sourceIp"] and denied["requestId"]
    status, by_resource = signed_request(server, tenant, "GET", "/v1/audit/events?" + urllib.parse.urlencode({"resource": api_arn}))
    assert status == 200 and all(api_arn in ev["resources"] for ev in by_resource["events"]) and by_resource["events"]


def test_iam_entities_policies_versions_groups_and_keys(server, tenant, other_tenant):
    iam = client(server, "iam", tenant.key_id, tenant.secret)
    doc = policy({"Sid": "Read", "Effect": "Allow", "Action": ["ecs:Describe*", "ecs:List*"], "Resource": "*"})
    created = iam.create_policy(PolicyName="ecs-read", PolicyDocument=doc, Description="read ECS")["Policy"]
    arn = created["Arn"]
    assert arn == f"arn:aws:iam::{tenant.account}:policy/ecs-read" and created["DefaultVersionId"] == "v1"
    for i in range(2, 6):
        v = iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc, SetAsDefault=(i == 3))["PolicyVersion"]
        assert v["VersionId"] == f"v{i}"
    with pytest.raises(ClientError) as e:
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc)
    assert code(e) == "LimitExceeded"
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [v["VersionId"] for v in versions if v["IsDefaultVersion"]] == ["v3"] and len(versions) == 5
    with pytest.raises(ClientError) as e:
        iam.delete_policy_version(PolicyArn=arn, VersionId="v3")
    assert code(e) == "DeleteConflict"
    iam.delete_policy_version(PolicyArn=arn, VersionId="v5")
    got = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
    assert got["Document"]["Statement"][0]["Sid"] == "Read"

    # Malformed documents say what and where; nothing is written.
    bad = '{"Version": "2012-10-17",\n "Statement": [{"Effect": "Allow",\n  "Action": "ecs:*",\n  "Resource": "*",\n  "Condition": {"StringSortOf": {"ecs:cluster": "x"}}}]}'
    with pytest.raises(ClientError) as e:
        iam.create_policy(PolicyName="bad", PolicyDocument=bad)
    assert code(e) == "MalformedPolicyDocument" and "Line 5" in e.value.response["Error"]["Message"]
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as e:
        iam.create_policy(PolicyName="bad2", PolicyDocument=policy({"Effect": "Allow", "Action": "ecs:*", "Resource": "*cluster*"}))
    assert code(e) == "MalformedPolicyDocument"
    with pytest.raises(ClientError) as e:
        iam.create_role(RoleName="r", AssumeRolePolicyDocument=policy({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}))
    assert code(e) == "MalformedPolicyDocument"
    assert [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]] == ["ecs-read"]
    assert not any(r["RoleName"] == "r" for r in iam.list_roles()["Roles"])

    # Groups carry policies to their members.
    reader_key, reader_secret = new_user(iam, "reader")
    reader_ecs = client(server, "ecs", reader_key, reader_secret)
    with pytest.raises(ClientError) as e:
        reader_ecs.list_clusters()
    assert code(e) == "AccessDeniedException"
    iam.create_group(GroupName="readers")
    iam.attach_group_policy(GroupName="readers", PolicyArn=arn)
    iam.add_user_to_group(GroupName="readers", UserName="reader")
    assert [u["UserName"] for u in iam.get_group(GroupName="readers")["Users"]] == ["reader"]
    assert reader_ecs.list_clusters()["clusterArns"] == []
    with pytest.raises(ClientError) as e:
        reader_ecs.create_cluster(clusterName="nope")
    assert code(e) == "AccessDeniedException"
    with pytest.raises(ClientError) as e:
        iam.delete_policy(PolicyArn=arn)
    assert code(e) == "DeleteConflict"
    with pytest.raises(ClientError) as e:
        iam.delete_group(GroupName="readers")
    assert code(e) == "DeleteConflict"
    iam.remove_user_from_group(GroupName="readers", UserName="reader")
    with pytest.raises(ClientError) as e:
        reader_ecs.list_clusters()
    assert code(e) == "AccessDeniedException"

    # Built-in managed policies attach like any other; unknown ones do not.
    iam.attach_user_policy(UserName="reader", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    assert reader_ecs.list_clusters()["clusterArns"] == []
    assert [p["PolicyArn"] for p in iam.list_attached_user_policies(UserName="reader")["AttachedPolicies"]] == \
        ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    with pytest.raises(ClientError) as e:
        iam.attach_user_policy(UserName="reader", PolicyArn="arn:aws:iam::aws:policy/NoSuchThing")
    assert code(e) == "NoSuchEntity"

    # Access keys: inactive keys stop working, and come back.
    iam.update_access_key(UserName="reader", AccessKeyId=reader_key, Status="Inactive")
    with pytest.raises(ClientError) as e:
        reader_ecs.list_clusters()
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert iam.list_access_keys(UserName="reader")["AccessKeyMetadata"][0]["Status"] == "Inactive"
    iam.update_access_key(UserName="reader", AccessKeyId=reader_key, Status="Active")
    assert reader_ecs.list_clusters()["clusterArns"] == []
    with pytest.raises(ClientError) as e:
        iam.delete_user(UserName="reader")
    assert code(e) == "DeleteConflict"
    iam.delete_access_key(UserName="reader", AccessKeyId=reader_key)
    iam.detach_user_policy(UserName="reader", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    iam.delete_user(UserName="reader")
    with pytest.raises(ClientError) as e:
        iam.get_user(UserName="reader")
    assert code(e) == "NoSuchEntity" and e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404

    # Another account sees none of it.
    other = client(server, "iam", other_tenant.key_id, other_tenant.secret)
    assert [p["PolicyName"] for p in other.list_policies(Scope="Local")["Policies"]] == []
    with pytest.raises(ClientError) as e:
        other.get_policy(PolicyArn=arn)
    assert code(e) in ("AccessDeniedException", "AccessDenied")


def test_rest_iam_and_pass_role(server, tenant):
    status, out = signed_request(server, tenant, "POST", "/v1/iam/CreateUser", {"UserName": "td-author"})
    assert status == 200 and out["User"]["UserName"] == "td-author"
    status, out = signed_request(server, tenant, "POST", "/v1/iam/CreateRole", {
        "RoleName": "app", "AssumeRolePolicyDocument": policy({"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                                                               "Action": "sts:AssumeRole"})})
    assert status == 200, out
    role_arn = out["Role"]["Arn"]
    status, out = signed_request(server, tenant, "POST", "/v1/iam/PutUserPolicy", {
        "UserName": "td-author", "PolicyName": "td", "PolicyDocument": policy({"Effect": "Allow", "Action": "ecs:RegisterTaskDefinition", "Resource": "*"})})
    assert status == 200, out
    status, key = signed_request(server, tenant, "POST", "/v1/iam/CreateAccessKey", {"UserName": "td-author"})
    author = client(server, "ecs", key["AccessKey"]["AccessKeyId"], key["AccessKey"]["SecretAccessKey"])
    definition = dict(family="app", taskRoleArn=role_arn, containerDefinitions=[{"name": "c", "image": "busybox", "memory": 16}])
    with pytest.raises(ClientError) as e:
        author.register_task_definition(**definition)
    assert code(e) == "AccessDeniedException" and "iam:PassRole" in str(e.value)
    signed_request(server, tenant, "POST", "/v1/iam/PutUserPolicy", {
        "UserName": "td-author", "PolicyName": "pass", "PolicyDocument": policy({"Effect": "Allow", "Action": "iam:PassRole", "Resource": role_arn})})
    assert author.register_task_definition(**definition)["taskDefinition"]["taskRoleArn"] == role_arn
    status, err = signed_request(server, tenant, "POST", "/v1/iam/NoSuchAction", {})
    assert status == 400 and err["__type"] == "InvalidAction"


def test_quotas_limit_counts_and_rates(server):
    tenant = make_tenant(server.env)
    for name, value in (("clusters", "2"), ("tasks-per-service", "5"), ("api-read-rps", "1")):
        subprocess.run([BIN, "admin", "set-quota", "--account", tenant.account, "--name", name, "--value", value],
                       env=server.env, check=True, capture_output=True)
    ecs = client(server, "ecs", tenant.key_id, tenant.secret)
    ecs.create_cluster(clusterName="one")
    ecs.create_cluster(clusterName="two")
    with pytest.raises(ClientError) as e:
        ecs.create_cluster(clusterName="three")
    assert code(e) == "LimitExceededException" and "limit of 2" in str(e.value)
    ecs.register_task_definition(family="q", containerDefinitions=[{"name": "c", "image": "busybox", "memory": 16}])
    with pytest.raises(ClientError) as e:
        ecs.create_service(cluster="one", serviceName="big", taskDefinition="q", desiredCount=6)
    assert code(e) == "LimitExceededException"
    # Eight reads at once against a bucket of one per second: one is admitted, the rest are throttled. The bucket's
    # refill is what is under test, so this waits on the clock: 1.1 s fills the one-read bucket whatever came before.
    time.sleep(1.1)
    outcomes = []

    def read():
        try:
            ecs.list_clusters()
            outcomes.append("ok")
        except ClientError as error:
            outcomes.append(error.response["Error"]["Code"])
    threads = [threading.Thread(target=read) for _ in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert outcomes.count("ThrottlingException") >= 6 and set(outcomes) <= {"ok", "ThrottlingException"}, outcomes
    # The bucket refills: a second later reads are admitted again (the refill rate is under test: 1.2 s on the clock).
    # Nothing half-written: the refused cluster does not exist.
    time.sleep(1.2)
    assert sorted(a.split("/")[-1] for a in ecs.list_clusters()["clusterArns"]) == ["one", "two"]


def test_agent_polls_have_their_own_rate_bucket_apart_from_the_tenants_writes(server):
    """A tenant's hosts must not spend the write quota its people need, nor be throttled by them."""
    tenant = make_tenant(server.env)
    subprocess.run([BIN, "admin", "set-quota", "--account", tenant.account, "--name", "api-write-rps", "--value", "1"],
                   env=server.env, check=True, capture_output=True)
    patient = boto3.client("ecs", endpoint_url=server.endpoint, region_name=REGION, aws_access_key_id=tenant.key_id,
                           aws_secret_access_key=tenant.secret, config=Config(retries={"max_attempts": 10, "mode": "standard"}))
    patient.create_cluster(clusterName="fleet")
    instance, instance_key = register_instance(server, tenant, "fleet", versionInfo={"agentVersion": "test"})
    arn = instance["containerInstanceArn"]
    ecs = client(server, "ecs", tenant.key_id, tenant.secret)
    time.sleep(1.1)  # the one-write-a-second bucket refills (the rate is under test): the burst starts from a full one
    polls, writes = [], []

    def poll():
        polls.append(signed_request(server, instance_key, "GET", f"/agent/v1/clusters/fleet/container-instances/{arn.split('/')[-1]}/tasks?wait=0")[0])

    def write(i):
        try:
            ecs.create_cluster(clusterName=f"w{i}")
            writes.append("ok")
        except ClientError as error:
            writes.append(error.response["Error"]["Code"])
    threads = [threading.Thread(target=poll) for _ in range(12)] + [threading.Thread(target=write, args=(i,)) for i in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert polls == [200] * 12, f"agent polls are never throttled by the write bucket: {polls}"
    assert writes.count("ThrottlingException") >= 2, f"the tenant's own writes are still limited: {writes}"


def test_agent_identity_is_limited_to_its_cluster(server, tenant):
    out = subprocess.run([BIN, "admin", "create-agent", "--account", tenant.account, "--cluster", "edge"],
                         env=server.env, check=True, capture_output=True, text=True).stdout
    keys = dict(line.split(" = ", 1) for line in out.splitlines())
    admin = ecs_client(server, tenant)
    admin.create_cluster(clusterName="edge")
    admin.create_cluster(clusterName="core")
    agent = client(server, "ecs", keys["aws_access_key_id"], keys["aws_secret_access_key"])
    resources = [{"name": "CPU", "type": "INTEGER", "integerValue": 1024}, {"name": "MEMORY", "type": "INTEGER", "integerValue": 1024}]
    inst = agent.register_container_instance(cluster="edge", totalResources=resources)["containerInstance"]
    assert inst["status"] == "ACTIVE"
    with pytest.raises(ClientError) as e:
        agent.register_container_instance(cluster="core", totalResources=resources)
    assert code(e) == "AccessDeniedException"
    with pytest.raises(ClientError) as e:
        agent.list_clusters()
    assert code(e) == "AccessDeniedException"
    inst_id = inst["containerInstanceArn"].split("/")[-1]
    # The cluster-wide agent key registers hosts; only an instance's own credential speaks for that instance.
    agent_key = Keys(keys["aws_access_key_id"], keys["aws_secret_access_key"])
    status, answer = signed_request(server, agent_key, "GET", f"/agent/v1/clusters/edge/container-instances/{inst_id}/tasks?wait=0")
    assert status == 403 and answer["__type"] == "AccessDeniedException", answer
    second, second_key = register_instance(server, agent_key, "edge")
    second_id = second["containerInstanceArn"].split("/")[-1]
    status, answer = signed_request(server, second_key, "GET", f"/agent/v1/clusters/edge/container-instances/{second_id}/tasks?wait=0")
    assert status == 200, answer
