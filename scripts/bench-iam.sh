#!/usr/bin/env bash
# make bench-iam: what policy evaluation costs a warm request. DescribeClusters through the ECS door, signed
# by the account's administrator (one Allow * policy) and by a user whose access comes from 10 managed
# policies of 10 statements each (wildcards, NotAction, conditions), the matching Allow being the last
# statement evaluated. Alternating wrk runs; the report is requests/s and p99 for each, and the difference.
set -euo pipefail
cd "$(dirname "$0")/.."
CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
source scripts/bench-env.sh

endpoint="http://127.0.0.1:$port"
python3 - "$endpoint" "$tmp" "$account" <<'PY'
import json, sys, boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.session import Session
endpoint, tmp, account = sys.argv[1], sys.argv[2], sys.argv[3]
kw = dict(endpoint_url=endpoint, region_name="us-east-1")
boto3.client("ecs", **kw).create_cluster(clusterName="bench")
iam = boto3.client("iam", **kw)
iam.create_user(UserName="scoped")
cluster = f"arn:aws:ecs:us-east-1:{account}:cluster/bench"
for p in range(10):
    statements = []
    for s in range(10):
        if p == 9 and s == 9:
            statements.append({"Sid": "TheOne", "Effect": "Allow", "Action": "ecs:DescribeClusters", "Resource": cluster,
                               "Condition": {"IpAddress": {"aws:SourceIp": ["127.0.0.0/8", "10.0.0.0/8"]}}})
        elif s % 3 == 0:
            statements.append({"Effect": "Allow", "Action": [f"logs:Get*", f"cloudwatch:Describe*"], "Resource": "*"})
        elif s % 3 == 1:
            statements.append({"Effect": "Allow", "Action": "ecs:*", "Resource": f"arn:aws:ecs:*:{account}:service/other-{p}-{s}/*",
                               "Condition": {"StringEquals": {"aws:RequestTag/team": f"t{s}"}}})
        else:
            statements.append({"Effect": "Deny", "NotAction": ["ecs:Describe*", "ecs:List*"], "Resource": f"arn:aws:ecs:*:{account}:cluster/prod-{p}"})
    arn = iam.create_policy(PolicyName=f"p{p}", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))["Policy"]["Arn"]
    iam.attach_user_policy(UserName="scoped", PolicyArn=arn)
key = iam.create_access_key(UserName="scoped")["AccessKey"]
scoped = Credentials(key["AccessKeyId"], key["SecretAccessKey"])
boto3.client("ecs", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], **kw).describe_clusters(clusters=["bench"])

def lua(name, creds):
    body = json.dumps({"clusters": ["bench"]})
    headers = {"X-Amz-Target": "AmazonEC2ContainerServiceV20141113.DescribeClusters", "Content-Type": "application/x-amz-json-1.1"}
    request = AWSRequest(method="POST", url=endpoint + "/", data=body, headers=headers)
    SigV4Auth(creds, "ecs", "us-east-1").add_auth(request)
    lines = ['wrk.method = "POST"', 'wrk.path = "/"', f"wrk.body = {json.dumps(body)}"]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in request.headers.items()]
    open(f"{tmp}/{name}.lua", "w").write("\n".join(lines) + "\n")

lua("admin", Session().get_credentials())
lua("scoped", scoped)
PY

measure() { wrk_measure "$CONNECTIONS" "$endpoint" "$1"; }

echo "cores: $(nproc)   connections: $CONNECTIONS   duration: $DURATION x $ROUNDS rounds each   build: release"
admin_rps=(); scoped_rps=()
for round in $(seq "$ROUNDS"); do
    read -r a_rps a_p99 a_bad <<<"$(measure "$tmp/admin.lua")"
    read -r s_rps s_p99 s_bad <<<"$(measure "$tmp/scoped.lua")"
    printf 'round %d: administrator %10s req/s p99 %8s non-2xx %s | 10x10-statement user %10s req/s p99 %8s non-2xx %s\n' \
        "$round" "$a_rps" "$a_p99" "${a_bad:-0}" "$s_rps" "$s_p99" "${s_bad:-0}"
    admin_rps+=("$a_rps"); scoped_rps+=("$s_rps")
done
python3 - "${admin_rps[*]}" "${scoped_rps[*]}" <<'PY'
import statistics, sys
a = statistics.median(float(x) for x in sys.argv[1].split())
s = statistics.median(float(x) for x in sys.argv[2].split())
print(f"median: administrator {a:,.0f} req/s, 10x10-statement user {s:,.0f} req/s: {100 * (a - s) / a:+.1f}% slower (target at most 5%)")
PY
