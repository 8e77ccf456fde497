#!/usr/bin/env bash
# make bench-api: a release server on a private PostgreSQL, driven by wrk with SigV4-signed requests.
# Reports requests/s and p50/p99 for DescribeClusters (ECS door) and GET /v1/clusters/{name}.
set -euo pipefail
cd "$(dirname "$0")/.."
CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-15s}
source scripts/bench-env.sh

endpoint="http://127.0.0.1:$port"
python3 - "$endpoint" "$tmp" <<'PY'
import json, sys, boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.session import Session
endpoint, tmp = sys.argv[1], sys.argv[2]
boto3.client("ecs", endpoint_url=endpoint, region_name="us-east-1").create_cluster(clusterName="bench")
creds = Session().get_credentials()

def lua(name, method, path, body, headers):
    request = AWSRequest(method=method, url=endpoint + path, data=body, headers=headers)
    SigV4Auth(creds, "ecs", "us-east-1").add_auth(request)
    lines = [f'wrk.method = "{method}"', f"wrk.path = {json.dumps(path)}", f"wrk.body = {json.dumps(body)}"]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in request.headers.items()]
    open(f"{tmp}/{name}.lua", "w").write("\n".join(lines) + "\n")

lua("describe", "POST", "/", json.dumps({"clusters": ["bench"]}),
    {"X-Amz-Target": "AmazonEC2ContainerServiceV20141113.DescribeClusters",
     "Content-Type": "application/x-amz-json-1.1"})
lua("rest", "GET", "/v1/clusters/bench", "", {})
PY

run() {
    local label=$1 script=$2
    # One wrk thread leaves the other core to the server; the signature stays valid for the 15-minute window.
    local out
    out=$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$script" "$endpoint")
    local rps p50 p99 non2xx
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')
    printf '%-40s %10s req/s   p50 %8s   p99 %8s   non-2xx %s\n' "$label" "$rps" "$p50" "$p99" "${non2xx:-0}"
}

echo "cores: $(nproc)   connections: $CONNECTIONS   duration: $DURATION   build: release"
run "DescribeClusters (ECS door, SigV4)" "$tmp/describe.lua"
run "GET /v1/clusters/{name} (REST, SigV4)" "$tmp/rest.lua"
