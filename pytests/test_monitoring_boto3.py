"""CloudWatch, CloudWatch Logs and Application Auto Scaling doors through the installed boto3, unchanged."""
import hashlib
import hmac
import http.server
import json
import math
import threading
import time
import urllib.request
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.exceptions import ClientError

from conftest import REGION, ecs_client, jobs_in_flight, psql, signed_request, wait_for


def client(server, tenant, name):
    return boto3.client(name, endpoint_url=server.endpoint, region_name=REGION,
                        aws_access_key_id=tenant.key_id, aws_secret_access_key=tenant.secret)


def nearest_rank(values, p):
    s = sorted(values)
    return s[max(1, math.ceil(p / 100 * len(s))) - 1]


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def minute_ago(n=1):
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    return now - timedelta(minutes=n)


def test_statistics_and_percentiles_match_independent_values(server, tenant):
    cw = client(server, tenant, "cloudwatch")
    values = [((i * 7919) % 1000) / 10 + 0.5 for i in range(600)]  # 0.5..100.4, spread out
    start = minute_ago(10)
    dims = [{"Name": "Route", "Value": "/orders"}]
    # Ten minutes, sixty values each, sent as Values/Counts, single values and statistic sets mixed.
    for m in range(10):
        chunk = values[m * 60:(m + 1) * 60]
        ts = start + timedelta(minutes=m, seconds=5)
        cw.put_metric_data(Namespace="Shop", MetricData=[
            {"MetricName": "Latency", "Dimensions": dims, "Timestamp": ts, "Values": chunk[:30], "Counts": [1] * 30, "Unit": "Milliseconds"},
            *[{"MetricName": "Latency", "Dimensions": dims, "Timestamp": ts, "Value": v, "Unit": "Milliseconds"} for v in chunk[30:]],
        ])
    out = cw.get_metric_statistics(Namespace="Shop", MetricName="Latency", Dimensions=dims, StartTime=start,
                                   EndTime=start + timedelta(minutes=10), Period=600,
                                   Statistics=["Average", "Sum", "Minimum", "Maximum", "SampleCount"],
                                   ExtendedStatistics=["p50", "p90", "p99"])
    assert len(out["Datapoints"]) == 1
    d = out["Datapoints"][0]
    assert d["SampleCount"] == 600
    assert d["Sum"] == pytest.approx(sum(values))
    assert d["Average"] == pytest.approx(sum(values) / 600)
    assert d["Minimum"] == min(values) and d["Maximum"] == max(values)
    assert d["Unit"] == "Milliseconds"
    for p in (50, 90, 99):
        want = nearest_rank(values, p)
        assert abs(d["ExtendedStatistics"][f"p{p}"] - want) <= want * 0.0101, (p, d["ExtendedStatistics"], want)
    # One-minute periods: ten datapoints, each with its own minute's figures.
    per_minute = cw.get_metric_statistics(Namespace="Shop", MetricName="Latency", Dimensions=dims, StartTime=start,
                                          EndTime=start + timedelta(minutes=10), Period=60, Statistics=["Maximum"])
    got = sorted(per_minute["Datapoints"], key=lambda x: x["Timestamp"])
    assert [x["Maximum"] for x in got] == [max(values[m * 60:(m + 1) * 60]) for m in range(10)]
    # Statistic sets add up with the rest.
    cw.put_metric_data(Namespace="Shop", MetricData=[{"MetricName": "Latency", "Dimensions": dims, "Timestamp": start + timedelta(seconds=1),
                                                      "StatisticValues": {"SampleCount": 4, "Sum": 1000, "Minimum": 0.1, "Maximum": 400}}])
    again = cw.get_metric_statistics(Namespace="Shop", MetricName="Latency", Dimensions=dims, StartTime=start,
                                     EndTime=start + timedelta(minutes=1), Period=60, Statistics=["SampleCount", "Maximum", "Minimum"])
    assert again["Datapoints"][0]["SampleCount"] == 64 and again["Datapoints"][0]["Maximum"] == 400 and again["Datapoints"][0]["Minimum"] == 0.1
    # Unknown metrics answer empty, not an error; another tenant sees nothing.
    assert cw.get_metric_statistics(Namespace="Nope", MetricName="X", StartTime=start, EndTime=start + timedelta(minutes=1),
                                    Period=60, Statistics=["Sum"])["Datapoints"] == []


def test_metric_math_list_metrics_and_pagination(server, tenant, other_tenant):
    cw = client(server, tenant, "cloudwatch")
    start = minute_ago(5)
    for m in range(5):
        ts = start + timedelta(minutes=m, seconds=1)
        cw.put_metric_data(Namespace="Shop", MetricData=[
            {"MetricName": "Requests", "Dimensions": [{"Name": "Host", "Value": "a"}], "Timestamp": ts, "Value": 10 * (m + 1)},
            {"MetricName": "Requests", "Dimensions": [{"Name": "Host", "Value": "b"}], "Timestamp": ts, "Value": m + 1},
        ])
    stat = lambda host: {"Metric": {"Namespace": "Shop", "MetricName": "Requests", "Dimensions": [{"Name": "Host", "Value": host}]},
                         "Period": 60, "Stat": "Sum"}
    out = cw.get_metric_data(StartTime=start, EndTime=start + timedelta(minutes=5), ScanBy="TimestampAscending", MetricDataQueries=[
        {"Id": "a", "MetricStat": stat("a"), "ReturnData": False},
        {"Id": "b", "MetricStat": stat("b"), "ReturnData": False},
        {"Id": "total", "Expression": "SUM([a, b])"},
        {"Id": "ratio", "Expression": "a / b"},
        {"Id": "scaled", "Expression": "(a + b) * 2 - 1"},
        {"Id": "peak", "Expression": "MAX(a)"},
    ])
    results = {r["Id"]: r for r in out["MetricDataResults"]}
    assert set(results) == {"total", "ratio", "scaled", "peak"}
    assert results["total"]["Values"] == [11 * (m + 1) for m in range(5)]
    assert results["ratio"]["Values"] == [10.0] * 5
    assert results["scaled"]["Values"] == [22 * (m + 1) - 1 for m in range(5)]
    assert results["peak"]["Values"] == [50.0] * 5
    descending = cw.get_metric_data(StartTime=start, EndTime=start + timedelta(minutes=5), MetricDataQueries=[{"Id": "a", "MetricStat": stat("a")}])
    assert descending["MetricDataResults"][0]["Values"] == [50, 40, 30, 20, 10]
    # Pages of two datapoints follow nextToken to the end.
    seen, token = [], None
    while True:
        kwargs = {"NextToken": token} if token else {}
        page = cw.get_metric_data(StartTime=start, EndTime=start + timedelta(minutes=5), MaxDatapoints=2,
                                  MetricDataQueries=[{"Id": "a", "MetricStat": stat("a")}], **kwargs)
        seen += page["MetricDataResults"][0]["Values"]
        token = page.get("NextToken")
        if not token:
            break
    assert seen == [50, 40, 30, 20, 10]
    listed = cw.list_metrics(Namespace="Shop", MetricName="Requests", Dimensions=[{"Name": "Host", "Value": "b"}])["Metrics"]
    assert [m["Dimensions"] for m in listed] == [[{"Name": "Host", "Value": "b"}]]
    assert len(cw.list_metrics(Namespace="Shop", Dimensions=[{"Name": "Host"}])["Metrics"]) == 2
    assert cw.list_metrics(Namespace="Unknown")["Metrics"] == []
    assert client(server, other_tenant, "cloudwatch").list_metrics(Namespace="Shop")["Metrics"] == []


def test_large_put_metric_data_arrives_gzipped_and_is_inflated(server, tenant):
    # botocore gzips PutMetricData bodies over 10 KiB and signs the compressed bytes.
    cw = client(server, tenant, "cloudwatch")
    encodings = []
    cw.meta.events.register("before-send.cloudwatch.PutMetricData",
                            lambda request, **kw: encodings.append(request.headers.get("Content-Encoding")))
    start = minute_ago(3)
    values = [[float((m * 31 + t * 7) % 100) for t in range(150)] for m in range(20)]
    cw.put_metric_data(Namespace="Big", MetricData=[
        {"MetricName": "Fill", "Timestamp": start + timedelta(seconds=m), "Values": values[m], "Unit": "Percent"} for m in range(20)])
    assert encodings == [b"gzip"] or encodings == ["gzip"], encodings
    out = cw.get_metric_statistics(Namespace="Big", MetricName="Fill", StartTime=start, EndTime=start + timedelta(minutes=1),
                                   Period=60, Statistics=["SampleCount", "Sum"])
    flat = [v for row in values for v in row]
    assert out["Datapoints"][0]["SampleCount"] == len(flat) == 3000
    assert out["Datapoints"][0]["Sum"] == pytest.approx(sum(flat))


def test_corrupt_gzip_bodies_and_unknown_encodings_are_refused(server, tenant):
    import urllib.error
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    for encoding, data, want in (("gzip", b"not gzip at all", "SerializationException"),
                                 ("br", json.dumps({"Namespace": "Enc", "MetricData": [{"MetricName": "M", "Value": 1}]}).encode(),
                                  "InvalidParameterException")):
        headers = {"Content-Type": "application/x-amz-json-1.0", "Content-Encoding": encoding,
                   "X-Amz-Target": "GraniteServiceVersion20100801.PutMetricData"}
        request = AWSRequest(method="POST", url=server.endpoint + "/", data=data, headers=headers)
        SigV4Auth(Credentials(tenant.key_id, tenant.secret), "monitoring", REGION).add_auth(request)
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(urllib.request.Request(server.endpoint + "/", data=data, headers=dict(request.headers), method="POST"))
        assert e.value.code == 400
        assert json.load(e.value)["__type"].endswith(want)
    assert client(server, tenant, "cloudwatch").list_metrics(Namespace="Enc")["Metrics"] == []


def test_bad_metric_requests_are_refused_and_write_nothing(server, tenant):
    cw = client(server, tenant, "cloudwatch")
    now = datetime.now(timezone.utc)
    cases = [
        lambda: cw.get_metric_statistics(Namespace="S", MetricName="M", StartTime=now - timedelta(hours=1), EndTime=now, Period=61, Statistics=["Sum"]),
        lambda: cw.get_metric_statistics(Namespace="S", MetricName="M", StartTime=now - timedelta(hours=1), EndTime=now, Period=60, Statistics=["Median"]),
        lambda: cw.get_metric_statistics(Namespace="S", MetricName="M", StartTime=now - timedelta(days=2), EndTime=now, Period=60, Statistics=["Sum"]),
        lambda: cw.get_metric_data(StartTime=now - timedelta(days=71), EndTime=now, MetricDataQueries=[
            {"Id": "a", "MetricStat": {"Metric": {"Namespace": "S", "MetricName": "M"}, "Period": 60, "Stat": "Sum"}}]),
        lambda: cw.get_metric_data(StartTime=now - timedelta(hours=1), EndTime=now, MetricDataQueries=[{"Id": "e", "Expression": "SUM(a"}]),
        lambda: cw.get_metric_data(StartTime=now - timedelta(hours=1), EndTime=now, MetricDataQueries=[{"Id": "e", "Expression": "zz * 2"}]),
        lambda: cw.put_metric_data(Namespace="AWS/ECS", MetricData=[{"MetricName": "CPUUtilization", "Value": 1}]),
        lambda: cw.put_metric_data(Namespace="S", MetricData=[{"MetricName": "M", "Value": 1, "Timestamp": now - timedelta(days=15)}]),
        lambda: cw.put_metric_data(Namespace="S", MetricData=[{"MetricName": "M", "Value": 1, "Unit": "Parsecs"}]),
        lambda: cw.put_metric_data(Namespace="S", MetricData=[{"MetricName": "M", "Value": 1,
                                                               "Dimensions": [{"Name": f"d{i}", "Value": "v"} for i in range(31)]}]),
    ]
    for case in cases:
        with pytest.raises(ClientError) as e:
            case()
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert code(e) in {"InvalidParameterValue", "InvalidParameterCombination", "MissingParameter"}, e.value.response
    assert cw.list_metrics(Namespace="S")["Metrics"] == []


class Hook(http.server.BaseHTTPRequestHandler):
    received = []
    fail_first = [True]

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append((dict(self.headers), body))
        status = 500 if Hook.fail_first[0] else 200
        Hook.fail_first[0] = False
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args):
        pass




class Private(http.server.BaseHTTPRequestHandler):
    """Stands for a service on the control plane's own network (127.0.0.2: not allowed to the worker)."""
    received = []

    def do_POST(self):
        Private.received.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_webhooks_never_reach_private_addresses_even_through_a_redirect(server, tenant):
    private = http.server.HTTPServer(("127.0.0.2", 0), Private)
    threading.Thread(target=private.serve_forever, daemon=True).start()
    inside = f"http://127.0.0.2:{private.server_port}"

    class Redirect(http.server.BaseHTTPRequestHandler):
        hits = []

        def do_POST(self):
            Redirect.hits.append(self.path)
            self.send_response(307)
            self.send_header("Location", inside + "/via-redirect")
            self.end_headers()

        def log_message(self, *args):
            pass

    redirector = http.server.HTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=redirector.serve_forever, daemon=True).start()
    cw = client(server, tenant, "cloudwatch")
    try:
        # An address in the URL itself is refused when the alarm is written (issue 23, item 10).
        for name, url, cidr in [("direct", inside + "/direct", "127.0.0.0/8"), ("metadata", "http://169.254.169.254/latest/meta-data/", "169.254.0.0/16")]:
            with pytest.raises(ClientError) as written:
                cw.put_metric_alarm(AlarmName=f"ssrf-{name}", Namespace="S", MetricName="M", Statistic="Sum", Period=60,
                                    EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold", AlarmActions=[url])
            assert cidr in written.value.response["Error"]["Message"], written.value.response
        # One reached through a redirect is refused when it is called.
        cw.put_metric_alarm(AlarmName="ssrf-redirected", Namespace="S", MetricName="M", Statistic="Sum", Period=60, EvaluationPeriods=1,
                            Threshold=1, ComparisonOperator="GreaterThanThreshold", AlarmActions=[f"http://127.0.0.1:{redirector.server_port}/hop"])
        cw.set_alarm_state(AlarmName="ssrf-redirected", StateValue="ALARM", StateReason="test")

        def refused(name):
            items = cw.describe_alarm_history(AlarmName=f"ssrf-{name}", HistoryItemType="Action")["AlarmHistoryItems"]
            return [h["HistorySummary"] for h in items if "refused to call" in h["HistorySummary"]] or None

        summaries = wait_for(lambda: refused("redirected"), seconds=30)
        assert summaries, "the refusal is in the alarm's history"
        assert "127.0.0.2" in summaries[0] and "127.0.0.0/8" in summaries[0]
        assert wait_for(lambda: jobs_in_flight(server, tenant.account, kinds=("alarm-action",)) == 0 or None, seconds=30), \
            "the refused action is done, not waiting for a retry"
        assert Redirect.hits == ["/hop"], "the allowed first hop was called once (a refusal is not retried)"
        assert Private.received == [], "nothing reached the private address"
    finally:
        private.shutdown()
        redirector.shutdown()


def test_alarms_evaluate_record_history_and_call_signed_webhooks_with_retries(server, tenant):
    cw = client(server, tenant, "cloudwatch")
    hook = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{hook.server_port}/alarm"
    try:
        cw.put_metric_alarm(AlarmName="queue-deep", Namespace="Shop", MetricName="QueueDepth", Statistic="Maximum", Period=60,
                            EvaluationPeriods=1, Threshold=100, ComparisonOperator="GreaterThanThreshold", AlarmActions=[url],
                            TreatMissingData="missing")
        alarm = cw.describe_alarms(AlarmNames=["queue-deep"])["MetricAlarms"][0]
        assert alarm["StateValue"] in ("INSUFFICIENT_DATA",) and alarm["AlarmArn"].endswith(":alarm:queue-deep")
        # The last complete minute holds a breaching value, and so does the current one: the minute boundary may pass
        # before the worker's next run, and then the current minute is the one it judges. Either way: ALARM.
        now = datetime.now(timezone.utc)
        cw.put_metric_data(Namespace="Shop", MetricData=[
            {"MetricName": "QueueDepth", "Value": 250, "Timestamp": minute_ago(1) + timedelta(seconds=2)},
            {"MetricName": "QueueDepth", "Value": 250, "Timestamp": max(now - timedelta(seconds=1), minute_ago(0))}])
        state = wait_for(lambda: cw.describe_alarms(AlarmNames=["queue-deep"])["MetricAlarms"][0]["StateValue"] == "ALARM" or None, seconds=90)
        assert state, cw.describe_alarms(AlarmNames=["queue-deep"])
        reason = cw.describe_alarms(AlarmNames=["queue-deep"])["MetricAlarms"][0]["StateReason"]
        assert "Threshold Crossed" in reason and "250" in reason
        # The webhook answered 500 first; the queue retried and the second delivery succeeded.
        assert wait_for(lambda: len(Hook.received) >= 2, seconds=30)
        headers, body = Hook.received[-1]
        status, secret = signed_request(server, tenant, "GET", "/v1/webhook-secret")
        assert status == 200
        mac = hmac.new(secret["secret"].encode(), (headers["X-Stowage-Timestamp"] + "." + body.decode()).encode(), hashlib.sha256).hexdigest()
        assert headers["X-Stowage-Signature"] == "sha256=" + mac
        assert json.loads(body)["newStateValue"] == "ALARM"
        history = cw.describe_alarm_history(AlarmName="queue-deep")["AlarmHistoryItems"]
        kinds = [h["HistoryItemType"] for h in history]
        assert "StateUpdate" in kinds and "ConfigurationUpdate" in kinds
        assert wait_for(lambda: any("Successfully executed" in h["HistorySummary"] for h in
                                    cw.describe_alarm_history(AlarmName="queue-deep", HistoryItemType="Action")["AlarmHistoryItems"]))
        cw.set_alarm_state(AlarmName="queue-deep", StateValue="OK", StateReason="manual reset")
        assert cw.describe_alarms(AlarmNames=["queue-deep"])["MetricAlarms"][0]["StateReason"] == "manual reset"
        with pytest.raises(ClientError) as e:
            cw.put_metric_alarm(AlarmName="bad", Namespace="S", MetricName="M", Statistic="Sum", Period=60, EvaluationPeriods=2,
                                DatapointsToAlarm=3, Threshold=1, ComparisonOperator="GreaterThanThreshold")
        assert code(e) == "InvalidParameterValue"
        with pytest.raises(ClientError) as e:
            cw.put_metric_alarm(AlarmName="bad", Metrics=[{"Id": "e", "Expression": "m1 +"}], EvaluationPeriods=1, Threshold=1,
                                ComparisonOperator="GreaterThanThreshold")
        assert code(e) == "InvalidParameterValue"
        with pytest.raises(ClientError) as e:
            cw.delete_alarms(AlarmNames=["queue-deep", "missing"])
        assert code(e) == "ResourceNotFound"
        assert len(cw.describe_alarms(AlarmNames=["queue-deep"])["MetricAlarms"]) == 1, "nothing deleted"
        cw.delete_alarms(AlarmNames=["queue-deep"])
        assert cw.describe_alarms(AlarmNames=["queue-deep"])["MetricAlarms"] == []
    finally:
        hook.shutdown()


def test_logs_groups_streams_puts_filters_and_tail(server, tenant):
    logs = client(server, tenant, "logs")
    logs.create_log_group(logGroupName="/app/api")
    with pytest.raises(ClientError) as e:
        logs.create_log_group(logGroupName="/app/api")
    assert code(e) == "ResourceAlreadyExistsException"
    logs.create_log_stream(logGroupName="/app/api", logStreamName="a")
    logs.create_log_stream(logGroupName="/app/api", logStreamName="b")
    now = int(time.time() * 1000)
    lines_a = ["GET /health 200", "ERROR database timeout", json.dumps({"level": "error", "latency": 120}), "WARN slow"]
    lines_b = [json.dumps({"level": "info", "latency": 3}), "ERROR disk full", "GET /orders 200"]
    logs.put_log_events(logGroupName="/app/api", logStreamName="a",
                        logEvents=[{"timestamp": now - 4000 + i * 10, "message": m} for i, m in enumerate(lines_a)])
    logs.put_log_events(logGroupName="/app/api", logStreamName="b",
                        logEvents=[{"timestamp": now - 3995 + i * 10, "message": m} for i, m in enumerate(lines_b)])

    def messages(**kw):
        return [e["message"] for e in logs.filter_log_events(logGroupName="/app/api", **kw)["events"]]

    assert messages(filterPattern="ERROR") == ["ERROR database timeout", "ERROR disk full"]
    assert messages(filterPattern="?WARN ?disk") == ["ERROR disk full", "WARN slow"]
    assert messages(filterPattern="GET -orders") == ["GET /health 200"]
    assert messages(filterPattern='{ $.level = "error" }') == [lines_a[2]]
    assert messages(filterPattern="{ $.latency > 10 }") == [lines_a[2]]
    assert messages(filterPattern="ERROR", logStreamNames=["b"]) == ["ERROR disk full"]
    assert len(messages()) == 7
    page = logs.filter_log_events(logGroupName="/app/api", limit=3)
    assert len(page["events"]) == 3 and page["nextToken"]
    rest = logs.filter_log_events(logGroupName="/app/api", nextToken=page["nextToken"])
    assert len(rest["events"]) == 4
    with pytest.raises(ClientError) as e:
        logs.filter_log_events(logGroupName="/app/api", filterPattern='{ $.level = "error" ')
    assert code(e) == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        logs.put_log_events(logGroupName="/app/api", logStreamName="a",
                            logEvents=[{"timestamp": now, "message": "x"}, {"timestamp": now - 5, "message": "y"}])
    assert code(e) == "InvalidParameterException"
    assert len(messages()) == 7, "a refused batch writes nothing"
    streams = logs.describe_log_streams(logGroupName="/app/api")["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["a", "b"]
    with pytest.raises(ClientError) as e:
        logs.put_retention_policy(logGroupName="/app/api", retentionInDays=2)
    assert code(e) == "InvalidParameterException"
    logs.put_retention_policy(logGroupName="/app/api", retentionInDays=7)
    groups = logs.describe_log_groups(logGroupNamePrefix="/app")["logGroups"]
    assert [(g["logGroupName"], g.get("retentionInDays")) for g in groups] == [("/app/api", 7)]

    # Live tail: lines written while the stream is open arrive as server-sent events.
    received, connected = [], threading.Event()

    def tail():
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        path = "/v1/logs/groups/%2Fapp%2Fapi/tail?duration=4&filterPattern=tail"
        request = AWSRequest(method="GET", url=server.endpoint + path)
        SigV4Auth(Credentials(tenant.key_id, tenant.secret), "logs", REGION).add_auth(request)
        with urllib.request.urlopen(urllib.request.Request(server.endpoint + path, headers=dict(request.headers))) as r:
            assert r.headers["Content-Type"] == "text/event-stream"
            connected.set()  # the tail took its starting point before answering: what is written from now on is sent
            for raw in r:
                line = raw.decode().strip()
                if line.startswith("data: "):
                    received.append(json.loads(line[6:])["message"])

    t = threading.Thread(target=tail)
    t.start()
    assert connected.wait(timeout=15), "the live tail answered"
    logs.put_log_events(logGroupName="/app/api", logStreamName="b",
                        logEvents=[{"timestamp": int(time.time() * 1000), "message": m} for m in ["tail one", "other", "tail two"]])
    t.join(timeout=15)
    assert received == ["tail one", "tail two"]
    logs.delete_log_group(logGroupName="/app/api")
    with pytest.raises(ClientError) as e:
        logs.filter_log_events(logGroupName="/app/api")
    assert code(e) == "ResourceNotFoundException"


def test_retention_drops_old_metric_partitions(server):
    old = (datetime.now(timezone.utc) - timedelta(days=20)).strftime("%Y%m%d")
    psql(server, "SELECT stowage_maintain_partitions('metric_rollups', 25, 0, 30)")
    assert psql(server, f"SELECT to_regclass('metric_rollups_{old}') IS NOT NULL") == [["t"]]
    psql(server, f"INSERT INTO metric_rollups VALUES ('acct-retention', 1, now() - interval '20 days', 1, 1, 1, 1, '{{}}')")
    dropped = psql(server, "SELECT stowage_maintain_partitions('metric_rollups', 1, 2, 15)")
    assert int(dropped[0][0]) >= 5
    assert psql(server, f"SELECT to_regclass('metric_rollups_{old}') IS NULL") == [["t"]]
    assert psql(server, "SELECT count(*) FROM metric_rollups WHERE account_id = 'acct-retention'") == [["0"]]


def test_sql_sketch_buckets_agree_with_swift(server, tenant):
    """The upsert merges sketches in SQL: its buckets must be the ones Swift computes (checked through p50s)."""
    cw = client(server, tenant, "cloudwatch")
    start = minute_ago(3)
    values = [0.003, 0.5, 1.0, 7.25, 99.9, 1234.5, 1e6, -3.0, -0.25]
    # One value per write, merged by stowage_sketch_merge; the max-rank percentile sees each value's bucket.
    for v in values:
        cw.put_metric_data(Namespace="Sketch", MetricData=[{"MetricName": "V", "Value": v, "Timestamp": start + timedelta(seconds=3)}])
    got = cw.get_metric_statistics(Namespace="Sketch", MetricName="V", StartTime=start, EndTime=start + timedelta(minutes=1), Period=60,
                                   Statistics=["SampleCount"], ExtendedStatistics=["p50", "p90"])["Datapoints"][0]
    assert got["SampleCount"] == len(values)
    s = sorted(values)
    assert abs(got["ExtendedStatistics"]["p50"] - nearest_rank(s, 50)) <= abs(nearest_rank(s, 50)) * 0.0101
    assert abs(got["ExtendedStatistics"]["p90"] - nearest_rank(s, 90)) <= abs(nearest_rank(s, 90)) * 0.0101


def test_auto_scaling_door_targets_policies_schedules_and_errors(server, tenant):
    ecs = ecs_client(server, tenant)
    aas = client(server, tenant, "application-autoscaling")
    ecs.create_cluster(clusterName="scale")
    ecs.register_task_definition(family="idle", containerDefinitions=[{"name": "c", "image": "busybox", "memory": 16}])
    ecs.create_service(cluster="scale", serviceName="web", taskDefinition="idle", desiredCount=1)
    rid = "service/scale/web"
    with pytest.raises(ClientError) as e:
        aas.register_scalable_target(ServiceNamespace="ecs", ResourceId=rid, ScalableDimension="ecs:service:DesiredCount", MinCapacity=5, MaxCapacity=2)
    assert code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        aas.register_scalable_target(ServiceNamespace="ecs", ResourceId="service/scale/nope", ScalableDimension="ecs:service:DesiredCount",
                                     MinCapacity=1, MaxCapacity=2)
    assert code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        aas.put_scaling_policy(PolicyName="p", ServiceNamespace="ecs", ResourceId=rid, ScalableDimension="ecs:service:DesiredCount",
                               PolicyType="TargetTrackingScaling",
                               TargetTrackingScalingPolicyConfiguration={"TargetValue": 50, "PredefinedMetricSpecification": {
                                   "PredefinedMetricType": "ECSServiceAverageCPUUtilization"}})
    assert code(e) == "ObjectNotFoundException"
    assert psql(server, f"SELECT count(*) FROM scalable_targets WHERE account_id = '{tenant.account}'") == [["0"]]
    arn = aas.register_scalable_target(ServiceNamespace="ecs", ResourceId=rid, ScalableDimension="ecs:service:DesiredCount",
                                       MinCapacity=1, MaxCapacity=4)["ScalableTargetARN"]
    assert rid in arn
    targets = aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    assert [(t["ResourceId"], t["MinCapacity"], t["MaxCapacity"]) for t in targets] == [(rid, 1, 4)]
    policy = aas.put_scaling_policy(PolicyName="steps", ServiceNamespace="ecs", ResourceId=rid, ScalableDimension="ecs:service:DesiredCount",
                                    PolicyType="StepScaling", StepScalingPolicyConfiguration={
                                        "AdjustmentType": "ChangeInCapacity", "Cooldown": 120,
                                        "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 2}]})
    assert ":scalingPolicy:" in policy["PolicyARN"]
    with pytest.raises(ClientError) as e:
        aas.put_scaling_policy(PolicyName="gappy", ServiceNamespace="ecs", ResourceId=rid, ScalableDimension="ecs:service:DesiredCount",
                               PolicyType="StepScaling", StepScalingPolicyConfiguration={
                                   "AdjustmentType": "ChangeInCapacity", "StepAdjustments": [
                                       {"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 10, "ScalingAdjustment": 1},
                                       {"MetricIntervalLowerBound": 20, "ScalingAdjustment": 2}]})
    assert code(e) == "ValidationException"
    # A step policy driven by an alarm: SetAlarmState ALARM runs it (1 -> 3).
    cw = client(server, tenant, "cloudwatch")
    cw.put_metric_alarm(AlarmName="web-busy", Namespace="Shop", MetricName="Busy", Statistic="Average", Period=60, EvaluationPeriods=1,
                        Threshold=10, ComparisonOperator="GreaterThanThreshold", AlarmActions=[policy["PolicyARN"]], TreatMissingData="ignore")
    cw.set_alarm_state(AlarmName="web-busy", StateValue="ALARM", StateReason="load test")
    assert wait_for(lambda: ecs.describe_services(cluster="scale", services=["web"])["services"][0]["desiredCount"] == 3, seconds=30)
    cw.delete_alarms(AlarmNames=["web-busy"])
    with pytest.raises(ClientError) as e:
        aas.put_scheduled_action(ServiceNamespace="ecs", ScheduledActionName="bad", ResourceId=rid, ScalableDimension="ecs:service:DesiredCount",
                                 Schedule="cron(61 * * * ? *)", ScalableTargetAction={"MinCapacity": 1})
    assert code(e) == "ValidationException"
    at = (datetime.now(timezone.utc) + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%S")
    aas.put_scheduled_action(ServiceNamespace="ecs", ScheduledActionName="morning", ResourceId=rid, ScalableDimension="ecs:service:DesiredCount",
                             Schedule=f"at({at})", ScalableTargetAction={"MinCapacity": 4, "MaxCapacity": 4})
    assert aas.describe_scheduled_actions(ServiceNamespace="ecs")["ScheduledActions"][0]["Schedule"] == f"at({at})"
    assert wait_for(lambda: ecs.describe_services(cluster="scale", services=["web"])["services"][0]["desiredCount"] == 4, seconds=30)
    causes = [a["Cause"] for a in aas.describe_scaling_activities(ServiceNamespace="ecs", ResourceId=rid)["ScalingActivities"]]
    assert any("scheduled action name morning" in c for c in causes), causes
    assert any("monitor alarm web-busy" in c and "policy steps" in c for c in causes), causes
    events = [e["message"] for e in ecs.describe_services(cluster="scale", services=["web"])["services"][0]["events"]]
    assert any("auto scaling set the desired count from 1 to 3" in m for m in events), events
    aas.deregister_scalable_target(ServiceNamespace="ecs", ResourceId=rid, ScalableDimension="ecs:service:DesiredCount")
    with pytest.raises(ClientError) as e:
        aas.deregister_scalable_target(ServiceNamespace="ecs", ResourceId=rid, ScalableDimension="ecs:service:DesiredCount")
    assert code(e) == "ObjectNotFoundException"
    ecs.update_service(cluster="scale", service="web", desiredCount=0)
    ecs.delete_service(cluster="scale", service="web")
