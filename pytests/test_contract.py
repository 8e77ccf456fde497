"""Schemathesis against openapi/stowage.yaml, signed with SigV4 as a real client signs: generated requests for
every documented operation, bounded in count, must get no server error and no response outside the contract
(status codes, content types and bodies as documented)."""
import os
import time
import urllib.parse

import requests
import schemathesis
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance, status_code_conformance

from conftest import REGION, ecs_client

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = int(os.environ.get("STOWAGE_CONTRACT_EXAMPLES", "25"))
# Operations that do not answer once: the live log tail streams until the client leaves.
SKIP = {"GET /v1/logs/groups/{group}/tail"}
# The AWS door's bodies are JSON under AWS's media types.
schemathesis.serializer.alias("application/x-amz-json-1.1", "application/json")
schemathesis.serializer.alias("application/x-amz-json-1.0", "application/json")


class SigV4(requests.auth.AuthBase):
    """Signs each generated request with botocore, as the AWS CLI and boto3 do."""

    def __init__(self, tenant):
        self.credentials = Credentials(tenant.key_id, tenant.secret)

    def __call__(self, request):
        # requests writes a space in a query as '+', which SigV4 (and botocore) read as a literal plus: send the
        # query encoded as botocore encodes it, so the bytes on the wire are the bytes signed.
        parts = urllib.parse.urlsplit(request.url)
        if parts.query:
            pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
            query = urllib.parse.urlencode(pairs, quote_via=urllib.parse.quote, safe="-_.~")
            request.url = urllib.parse.urlunsplit(parts._replace(query=query))
        aws = AWSRequest(method=request.method, url=request.url, data=request.body or b"",
                         headers={k: v for k, v in request.headers.items() if k.lower() in ("content-type", "x-amz-target")})
        SigV4Auth(self.credentials, "ecs", REGION).add_auth(aws)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Content-SHA256"):
            if name in aws.headers:
                request.headers[name] = aws.headers[name]
        return request


def test_generated_requests_get_no_server_error_and_stay_inside_the_contract(server, tenant):
    ecs = ecs_client(server, tenant)
    # Something to find, so that not every generated request is a 404.
    ecs.create_cluster(clusterName="contract")
    schema = schemathesis.openapi.from_path(os.path.join(ROOT, "openapi", "stowage.yaml"))
    session = requests.Session()
    session.auth = SigV4(tenant)
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    failures, calls = [], 0
    started = time.time()
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        if label in SKIP:
            continue

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case):
            nonlocal calls
            calls += 1
            response = case.call(base_url=server.endpoint, session=session, timeout=30)
            try:
                case.validate_response(response, checks=checks)
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as error:  # a check failed (a FailureGroup): keep going, report them all
                found = sorted({line.strip() for line in str(error).splitlines() if line.strip().startswith("- ST")})
                failures.append(f"{label}: {response.status_code} {' '.join(found)} {response.text[:200]!r}")

        run()
    print(f"\nFIGURE contract {{\"calls\": {calls}, \"failures\": {len(failures)}, \"seconds\": {time.time() - started:.0f}}}")
    assert not failures, f"{len(failures)} responses outside the contract or server errors:\n" + "\n".join(sorted(set(failures))[:60])
