"""Parameter Store and Secrets Manager through boto3, the AWS CLI and REST against a real server and PostgreSQL:
versions, labels, stages, recovery windows, AWS's error codes, tenant isolation, IAM on every read, and values
that never appear in clear in the database, the logs or the audit trail."""
import json
import os
import re
import subprocess
import urllib.parse
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

from conftest import REGION, aws_cli, psql, signed_request, wait_for


def client(server, tenant, name, key_id=None, secret=None):
    return boto3.client(name, endpoint_url=server.endpoint, region_name=REGION,
                        aws_access_key_id=key_id or tenant.key_id, aws_secret_access_key=secret or tenant.secret)


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def test_parameters_versions_labels_selectors_history_and_paths(server, tenant):
    ssm = client(server, tenant, "ssm")
    assert ssm.put_parameter(Name="/app/db/host", Value="db.internal", Type="String")["Version"] == 1
    ssm.put_parameter(Name="/app/db/password", Value="hunter2", Type="SecureString", Description="db password")
    ssm.put_parameter(Name="/app/hosts", Value="a,b,c", Type="StringList")
    ssm.put_parameter(Name="plain", Value="x", Type="String")
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name="/app/db/host", Value="other", Type="String")
    assert code(e) == "ParameterAlreadyExists"
    assert ssm.put_parameter(Name="/app/db/host", Value="db2.internal", Overwrite=True)["Version"] == 2

    p = ssm.get_parameter(Name="/app/db/host")["Parameter"]
    assert (p["Value"], p["Version"], p["Type"], p["DataType"]) == ("db2.internal", 2, "String", "text")
    assert p["ARN"] == f"arn:aws:ssm:{REGION}:{tenant.account}:parameter/app/db/host"
    assert ssm.get_parameter(Name="/app/db/host:1")["Parameter"]["Value"] == "db.internal"
    assert ssm.get_parameter(Name="/app/db/host:1")["Parameter"]["Selector"] == ":1"
    assert ssm.get_parameter(Name=p["ARN"])["Parameter"]["Value"] == "db2.internal"
    # A SecureString without decryption shows its ciphertext form, never the value.
    hidden = ssm.get_parameter(Name="/app/db/password")["Parameter"]["Value"]
    assert hidden != "hunter2" and "hunter2" not in hidden
    assert ssm.get_parameter(Name="/app/db/password", WithDecryption=True)["Parameter"]["Value"] == "hunter2"
    assert ssm.get_parameter(Name="/app/hosts")["Parameter"]["Value"] == "a,b,c"

    # Labels: invalid ones are reported, valid ones attached, and a label moves between versions.
    out = ssm.label_parameter_version(Name="/app/db/host", ParameterVersion=1, Labels=["prod", "1bad", "awsx"])
    assert out["InvalidLabels"] == ["1bad", "awsx"] and out["ParameterVersion"] == 1
    assert ssm.get_parameter(Name="/app/db/host:prod")["Parameter"]["Value"] == "db.internal"
    ssm.label_parameter_version(Name="/app/db/host", Labels=["prod"])
    assert ssm.get_parameter(Name="/app/db/host:prod")["Parameter"]["Version"] == 2
    history = ssm.get_parameter_history(Name="/app/db/host")["Parameters"]
    assert [(h["Version"], h["Labels"], h["Value"]) for h in history] == [(1, [], "db.internal"), (2, ["prod"], "db2.internal")]
    assert history[0]["LastModifiedUser"].startswith(f"arn:aws:iam::{tenant.account}:")
    with pytest.raises(ClientError) as e:
        ssm.get_parameter(Name="/app/db/host:7")
    assert code(e) == "ParameterVersionNotFound"
    with pytest.raises(ClientError) as e:
        ssm.get_parameter(Name="/app/missing")
    assert code(e) == "ParameterNotFound"

    got = ssm.get_parameters(Names=["/app/db/host", "/app/nope", "/app/db/password"], WithDecryption=True)
    assert sorted(x["Name"] for x in got["Parameters"]) == ["/app/db/host", "/app/db/password"]
    assert got["InvalidParameters"] == ["/app/nope"]

    # By path: one level, recursive, paginated.
    one = ssm.get_parameters_by_path(Path="/app")["Parameters"]
    assert [x["Name"] for x in one] == ["/app/hosts"]
    names, token = [], None
    while True:
        page = ssm.get_parameters_by_path(Path="/app", Recursive=True, MaxResults=1, **({"NextToken": token} if token else {}))
        names += [x["Name"] for x in page["Parameters"]]
        token = page.get("NextToken")
        if not token:
            break
    assert names == ["/app/db/host", "/app/db/password", "/app/hosts"]
    secure = ssm.get_parameters_by_path(Path="/app", Recursive=True, ParameterFilters=[{"Key": "Type", "Values": ["SecureString"]}])
    assert [x["Name"] for x in secure["Parameters"]] == ["/app/db/password"]

    described = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Option": "BeginsWith", "Values": ["/app/db"]}])["Parameters"]
    assert [d["Name"] for d in described] == ["/app/db/host", "/app/db/password"]
    assert described[1]["KeyId"] == "alias/aws/ssm" and described[1]["Description"] == "db password"
    paged = ssm.get_paginator("describe_parameters").paginate(PaginationConfig={"PageSize": 2})
    assert sorted(d["Name"] for page in paged for d in page["Parameters"]) == ["/app/db/host", "/app/db/password", "/app/hosts", "plain"]

    ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId="/app/hosts", Tags=[{"Key": "team", "Value": "web"}])
    assert ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="/app/hosts")["TagList"] == [{"Key": "team", "Value": "web"}]
    tagged = ssm.describe_parameters(ParameterFilters=[{"Key": "tag:team", "Values": ["web"]}])["Parameters"]
    assert [d["Name"] for d in tagged] == ["/app/hosts"]

    out = ssm.delete_parameters(Names=["/app/hosts", "/app/ghost"])
    assert out == {**out, "DeletedParameters": ["/app/hosts"], "InvalidParameters": ["/app/ghost"]}
    ssm.delete_parameter(Name="plain")
    with pytest.raises(ClientError) as e:
        ssm.delete_parameter(Name="plain")
    assert code(e) == "ParameterNotFound"


def test_parameter_bad_input_gets_aws_error_codes_and_writes_nothing(server, tenant):
    ssm = client(server, tenant, "ssm")
    cases = [
        (dict(Name="/bad name", Value="v", Type="String"), "ValidationException"),
        (dict(Name="no/leading", Value="v", Type="String"), "ValidationException"),
        (dict(Name="/aws/reserved", Value="v", Type="String"), "ValidationException"),
        (dict(Name="/" + "/".join(["l"] * 16), Value="v", Type="String"), "HierarchyLevelLimitExceededException"),
        (dict(Name="/big", Value="x" * 4097, Type="String"), "ValidationException"),
        (dict(Name="/pattern", Value="abc", Type="String", AllowedPattern="^\\d+$"), "ParameterPatternMismatchException"),
        (dict(Name="/badpattern", Value="1", Type="String", AllowedPattern="(unclosed"), "InvalidAllowedPatternException"),
        (dict(Name="/key", Value="v", Type="SecureString", KeyId="arn:aws:kms:us-east-1:111122223333:key/abc"), "InvalidKeyId"),
        (dict(Name="/policy", Value="v", Type="String", Policies='[{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2030-01-01T00:00:00Z"}}]'),
         "ValidationException"),
        (dict(Name="/type", Value="v", Type="Integer"), "UnsupportedParameterType"),
    ]
    for kwargs, expected in cases:
        with pytest.raises(ClientError) as e:
            ssm.put_parameter(**kwargs)
        assert code(e) == expected, (kwargs["Name"][:40], e.value.response["Error"])
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # The advanced tier takes up to 8 KB; a large value there is fine.
    assert ssm.put_parameter(Name="/big", Value="x" * 5000, Type="String", Tier="Advanced")["Tier"] == "Advanced"
    assert ssm.put_parameter(Name="/digits", Value="123", Type="String", AllowedPattern="^\\d+$")["Version"] == 1
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name="/digits", Value="12a", Overwrite=True)
    assert code(e) == "ParameterPatternMismatchException" and "12a" not in str(e.value)
    assert ssm.get_parameter(Name="/digits")["Parameter"]["Version"] == 1
    names = [p["Name"] for p in ssm.describe_parameters()["Parameters"]]
    assert sorted(names) == ["/big", "/digits"], "nothing else was written"
    assert psql(server, f"SELECT count(*) FROM parameter_versions WHERE account_id = '{tenant.account}'") == [["2"]]


def test_secrets_versions_stages_recovery_window_and_restore(server, tenant):
    sm = client(server, tenant, "secretsmanager")
    created = sm.create_secret(Name="prod/db", SecretString=json.dumps({"user": "app", "password": "s3cret"}),
                               Tags=[{"Key": "team", "Value": "db"}])
    arn = created["ARN"]
    assert re.fullmatch(rf"arn:aws:secretsmanager:{REGION}:{tenant.account}:secret:prod/db-[A-Za-z0-9]{{6}}", arn)
    v1 = created["VersionId"]
    got = sm.get_secret_value(SecretId="prod/db")
    assert json.loads(got["SecretString"])["password"] == "s3cret" and got["VersionStages"] == ["AWSCURRENT"] and got["ARN"] == arn
    assert sm.get_secret_value(SecretId=arn)["VersionId"] == v1
    # A partial ARN (no suffix) names it too.
    assert sm.get_secret_value(SecretId=f"arn:aws:secretsmanager:{REGION}:{tenant.account}:secret:prod/db")["VersionId"] == v1
    with pytest.raises(ClientError) as e:
        sm.create_secret(Name="prod/db", SecretString="x")
    assert code(e) == "ResourceExistsException"

    v2 = sm.put_secret_value(SecretId=arn, SecretString="second")["VersionId"]
    stages = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
    assert stages == {v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT"]}
    assert sm.get_secret_value(SecretId=arn, VersionStage="AWSPREVIOUS")["SecretString"].startswith("{")
    # Idempotency: the same token and value is the same version; the same token with another value is refused.
    token = str(uuid.uuid4())
    v3 = sm.put_secret_value(SecretId=arn, SecretString="pending", ClientRequestToken=token, VersionStages=["AWSPENDING"])["VersionId"]
    assert v3 == token
    assert sm.put_secret_value(SecretId=arn, SecretString="pending", ClientRequestToken=token, VersionStages=["AWSPENDING"])["VersionId"] == token
    with pytest.raises(ClientError) as e:
        sm.put_secret_value(SecretId=arn, SecretString="other", ClientRequestToken=token)
    assert code(e) == "ResourceExistsException"
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == "second", "AWSPENDING does not move AWSCURRENT"
    # Moving AWSCURRENT to the pending version: the old current becomes AWSPREVIOUS.
    with pytest.raises(ClientError) as e:
        sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=v3)
    assert code(e) == "InvalidParameterException", "the current holder must be named"
    sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=v3, RemoveFromVersionId=v2)
    stages = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
    assert stages == {v2: ["AWSPREVIOUS"], v3: ["AWSCURRENT", "AWSPENDING"]}
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == "pending"
    all_versions = sm.list_secret_version_ids(SecretId=arn, IncludeDeprecated=True)["Versions"]
    assert {v["VersionId"] for v in all_versions} == {v1, v2, v3}
    sm.update_secret(SecretId=arn, Description="the database")
    assert sm.describe_secret(SecretId=arn)["Description"] == "the database"

    binary = sm.create_secret(Name="tls-key", SecretBinary=b"\x00\x01binary\xff")
    assert sm.get_secret_value(SecretId=binary["ARN"])["SecretBinary"] == b"\x00\x01binary\xff"

    listed = sm.list_secrets(Filters=[{"Key": "tag-key", "Values": ["team"]}])["SecretList"]
    assert [s["Name"] for s in listed] == ["prod/db"]

    # Deletion: a recovery window (7-30 days), invisible to reads and lists meanwhile, restorable.
    with pytest.raises(ClientError) as e:
        sm.delete_secret(SecretId=arn, RecoveryWindowInDays=3)
    assert code(e) == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        sm.delete_secret(SecretId=arn, RecoveryWindowInDays=7, ForceDeleteWithoutRecovery=True)
    assert code(e) == "InvalidParameterException"
    deleted = sm.delete_secret(SecretId=arn, RecoveryWindowInDays=7)
    window = (deleted["DeletionDate"] - sm.describe_secret(SecretId=arn)["DeletedDate"]).total_seconds()
    assert abs(window - 7 * 86400) < 5
    with pytest.raises(ClientError) as e:
        sm.get_secret_value(SecretId=arn)
    assert code(e) == "InvalidRequestException"
    assert [s["Name"] for s in sm.list_secrets()["SecretList"]] == ["tls-key"]
    assert sorted(s["Name"] for s in sm.list_secrets(IncludePlannedDeletion=True)["SecretList"]) == ["prod/db", "tls-key"]
    with pytest.raises(ClientError) as e:
        sm.create_secret(Name="prod/db", SecretString="again")
    assert code(e) == "InvalidRequestException"
    sm.restore_secret(SecretId=arn)
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == "pending"

    # Forced deletion is immediate; the name can be reused and the old ARN names nothing.
    sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    again = sm.create_secret(Name="prod/db", SecretString="new life")["ARN"]
    assert again != arn
    with pytest.raises(ClientError) as e:
        sm.get_secret_value(SecretId=arn)
    assert code(e) == "ResourceNotFoundException"

    for kwargs, expected in [
        (dict(Name="bad name!", SecretString="x"), "InvalidParameterException"),
        (dict(Name="big", SecretString="x" * 65537), "InvalidParameterException"),
        (dict(Name="both", SecretString="x", SecretBinary=b"y"), "InvalidParameterException"),
        (dict(Name="kms", SecretString="x", KmsKeyId="arn:aws:kms:us-east-1:111122223333:key/abc"), "InvalidParameterException"),
        (dict(Name="replica", SecretString="x", AddReplicaRegions=[{"Region": "eu-west-1"}]), "InvalidParameterException"),
    ]:
        with pytest.raises(ClientError) as e:
            sm.create_secret(**kwargs)
        assert code(e) == expected, kwargs["Name"]
    assert sorted(s["Name"] for s in sm.list_secrets()["SecretList"]) == ["prod/db", "tls-key"], "nothing half-written"


def test_other_tenants_and_narrow_policies_cannot_read(server, tenant, other_tenant):
    sm = client(server, tenant, "secretsmanager")
    ssm = client(server, tenant, "ssm")
    arn = sm.create_secret(Name="private", SecretString="only-mine")["ARN"]
    sm.create_secret(Name="shared-ok", SecretString="readable")
    parameter_arn = f"arn:aws:ssm:{REGION}:{tenant.account}:parameter/private/p"
    ssm.put_parameter(Name="/private/p", Value="mine", Type="SecureString")

    other_sm = client(server, other_tenant, "secretsmanager")
    other_ssm = client(server, other_tenant, "ssm")
    for call in (lambda: other_sm.get_secret_value(SecretId=arn), lambda: other_sm.describe_secret(SecretId=arn),
                 lambda: other_sm.put_secret_value(SecretId=arn, SecretString="overwrite"),
                 lambda: other_ssm.get_parameter(Name=parameter_arn, WithDecryption=True)):
        with pytest.raises(ClientError) as e:
            call()
        assert code(e) == "AccessDeniedException"
    assert other_sm.list_secrets()["SecretList"] == []
    assert other_ssm.describe_parameters()["Parameters"] == []
    with pytest.raises(ClientError) as e:
        other_sm.get_secret_value(SecretId="private")
    assert code(e) == "ResourceNotFoundException", "a name is looked up in the caller's own account"

    # A user allowed one secret and one parameter path reads those and nothing else.
    iam = client(server, tenant, "iam")
    iam.create_user(UserName="reader")
    iam.put_user_policy(UserName="reader", PolicyName="narrow", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
         "Resource": f"arn:aws:secretsmanager:{REGION}:{tenant.account}:secret:shared-ok-*"},
        {"Effect": "Allow", "Action": ["ssm:GetParameter", "ssm:GetParameters"],
         "Resource": f"arn:aws:ssm:{REGION}:{tenant.account}:parameter/public/*"},
    ]}))
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    reader_sm = client(server, tenant, "secretsmanager", key["AccessKeyId"], key["SecretAccessKey"])
    reader_ssm = client(server, tenant, "ssm", key["AccessKeyId"], key["SecretAccessKey"])
    ssm.put_parameter(Name="/public/greeting", Value="hello", Type="String")
    assert reader_sm.get_secret_value(SecretId="shared-ok")["SecretString"] == "readable"
    assert reader_ssm.get_parameter(Name="/public/greeting")["Parameter"]["Value"] == "hello"
    for call in (lambda: reader_sm.get_secret_value(SecretId="private"), lambda: reader_sm.list_secrets(),
                 lambda: reader_ssm.get_parameter(Name="/private/p"), lambda: reader_ssm.get_parameters(Names=["/public/greeting", "/private/p"])):
        with pytest.raises(ClientError) as e:
            call()
        assert code(e) == "AccessDeniedException"
    denied = wait_for(lambda: int(psql(server, f"""SELECT count(*) FROM audit_events WHERE account_id = '{tenant.account}'
                              AND action = 'secretsmanager:GetSecretValue' AND NOT allowed""")[0][0]) or None, seconds=15)
    assert denied and denied >= 1, "refused reads are in the audit trail"


def test_values_never_appear_in_clear_in_the_database_logs_or_audit(server, tenant):
    marker_secret = "S3CR3T-" + uuid.uuid4().hex
    marker_parameter = "P4R4M-" + uuid.uuid4().hex
    sm = client(server, tenant, "secretsmanager")
    ssm = client(server, tenant, "ssm")
    sm.create_secret(Name="marker", SecretString=json.dumps({"password": marker_secret}))
    ssm.put_parameter(Name="/marker/secure", Value=marker_parameter, Type="SecureString")
    assert marker_secret in sm.get_secret_value(SecretId="marker")["SecretString"]
    assert ssm.get_parameter(Name="/marker/secure", WithDecryption=True)["Parameter"]["Value"] == marker_parameter
    # Refusals that involve the value do not echo it either.
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name="/marker/secure", Value=marker_parameter + "!", Overwrite=True, AllowedPattern="^\\d+$")
    assert marker_parameter not in str(e.value.response)

    # The audit trail is written in batches: wait until these reads are in it, so the dump below holds them.
    assert wait_for(lambda: int(psql(server, f"""SELECT count(*) FROM audit_events WHERE account_id = '{tenant.account}'
                                          AND action IN ('ssm:GetParameter', 'secretsmanager:GetSecretValue')""")[0][0]) >= 2 or None, seconds=15)
    url = server.env["STOWAGE_DATABASE_URL"].replace("postgres://", "postgresql://", 1)
    dump = subprocess.run(["pg_dump", "--data-only", url], capture_output=True, text=True, check=True).stdout
    assert "marker/secure" in dump, "the dump holds the parameter's row"
    assert marker_secret not in dump and marker_parameter not in dump
    log = open(server.log_path).read()
    assert marker_secret not in log and marker_parameter not in log
    described = json.dumps(sm.describe_secret(SecretId="marker"), default=str) + json.dumps(ssm.describe_parameters(), default=str)
    assert marker_secret not in described and marker_parameter not in described
    history = json.dumps(ssm.get_parameter_history(Name="/marker/secure"), default=str)
    assert marker_parameter not in history, "history without decryption shows ciphertext"


def test_aws_cli_and_rest(server, tenant):
    _, out = aws_cli(server, tenant, "ssm", "put-parameter", "--name", "/cli/url", "--value", "db.example.internal:5432", "--type", "String")
    assert out["Version"] == 1
    _, out = aws_cli(server, tenant, "ssm", "get-parameters", "--names", "/cli/url", "/cli/none")
    assert out["Parameters"][0]["Value"] == "db.example.internal:5432" and out["InvalidParameters"] == ["/cli/none"]
    _, out = aws_cli(server, tenant, "secretsmanager", "create-secret", "--name", "cli-secret", "--secret-string", "from-the-cli")
    _, got = aws_cli(server, tenant, "secretsmanager", "get-secret-value", "--secret-id", out["ARN"])
    assert got["SecretString"] == "from-the-cli"
    rc, err = aws_cli(server, tenant, "ssm", "get-parameter", "--name", "/cli/none", check=False)
    assert rc != 0 and "ParameterNotFound" in err

    name = urllib.parse.quote("/rest/greeting", safe="")
    status, body = signed_request(server, tenant, "PUT", f"/v1/parameters/{name}", {"Value": "hi", "Type": "SecureString"})
    assert status == 200 and body["Version"] == 1
    status, body = signed_request(server, tenant, "GET", f"/v1/parameters/{name}?withDecryption=true")
    assert status == 200 and body["Parameter"]["Value"] == "hi"
    status, body = signed_request(server, tenant, "GET", "/v1/parameters?path=%2Frest")
    assert status == 200 and [p["Name"] for p in body["Parameters"]] == ["/rest/greeting"]
    status, body = signed_request(server, tenant, "GET", f"/v1/parameters/{urllib.parse.quote('/rest/none', safe='')}")
    assert status == 404 and body["__type"] == "ParameterNotFound"
    status, body = signed_request(server, tenant, "POST", "/v1/secrets", {"Name": "rest/secret", "SecretString": "via-rest"})
    assert status == 201
    sid = urllib.parse.quote("rest/secret", safe="")
    status, body = signed_request(server, tenant, "GET", f"/v1/secrets/{sid}/value")
    assert status == 200 and body["SecretString"] == "via-rest"
    status, body = signed_request(server, tenant, "DELETE", f"/v1/secrets/{sid}?forceDeleteWithoutRecovery=true")
    assert status == 200
    status, body = signed_request(server, tenant, "GET", f"/v1/secrets/{sid}")
    assert status == 404 and body["__type"] == "ResourceNotFoundException"
