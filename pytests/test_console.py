"""The web console in a real browser (Debian's headless Chromium via Selenium) against a real server, worker and
agent: sign-in, a service's tasks and health, a CPU chart from real containers, scaling from the console, a live
log tail, a refused cluster deletion, a narrow principal, CSRF and sign-out. Screenshots of each view are saved
under the test's temporary folder (printed at the end) for a person to look at."""
import json
import re
import ssl
import time
import urllib.error
import urllib.request

import boto3
import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC

from conftest import REGION, Agent, ecs_client, signed_request, wait_for, running_healthy, tasks_of
from console_browser import console_fetch, open_browser, shot, sign_in, wait

TICKER = {
    "name": "app", "image": "localhost/busybox:latest", "memory": 32, "cpu": 64, "essential": True,
    # One numbered line a second, and a little CPU work so the chart has something to show.
    "command": ["sh", "-c", "i=0; while true; do i=$((i+1)); echo tick $i; j=0; while [ $j -lt 2000 ]; do j=$((j+1)); done; sleep 1; done"],
    "portMappings": [{"containerPort": 8080}],
    "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 5, "timeout": 2, "retries": 2},
}


def log_config(group):
    return {"logDriver": "awslogs", "options": {"awslogs-group": group, "awslogs-stream-prefix": "c", "awslogs-create-group": "true"}}


# Texts are read in the page in one step: views redraw live, and an element found a moment earlier may be gone.
def text_of(driver, element_id):
    return driver.execute_script("const e = document.getElementById(arguments[0]); return e ? e.innerText : ''", element_id)


def texts(driver, selector):
    return driver.execute_script("return [...document.querySelectorAll(arguments[0])].map(e => e.innerText)", selector)


def stat_value(driver, label):
    """The number on a view's stat box with this label ('running', 'desired', ...)."""
    for text in texts(driver, ".stat"):
        parts = text.strip().split("\n")
        if len(parts) == 2 and parts[1] == label:
            return parts[0]
    return None


def history(server, tenant, cluster, service):
    status, out = signed_request(server, tenant, "GET", f"/v1/clusters/{cluster}/services/{service}/deployments")
    assert status == 200, out
    return out["deployments"]


def confirm_dialog(driver):
    button = wait(driver).until(EC.element_to_be_clickable((By.ID, "dialog-confirm")))
    button.click()
    wait(driver).until(EC.invisibility_of_element_located((By.ID, "dialog-confirm")))


def test_console_end_to_end(server, tenant, tmp_path, agents, need_engine):
    shots = tmp_path / "screenshots"
    console = f"{server.endpoint}/console"
    ecs = ecs_client(server, tenant)
    ecs.create_cluster(clusterName="con")
    agents.append(Agent(server, tenant, "con", tmp_path / "con"))
    assert wait_for(lambda: ecs.list_container_instances(cluster="con")["containerInstanceArns"])
    ecs.register_task_definition(family="ticker", containerDefinitions=[dict(TICKER, logConfiguration=log_config("/con/ticker"))])
    ecs.create_service(cluster="con", serviceName="app", taskDefinition="ticker", desiredCount=1)
    ecs.create_service(cluster="con", serviceName="idle", taskDefinition="ticker", desiredCount=0)
    assert wait_for(lambda: running_healthy(ecs, "con", "app", 1), 90), "the service's task runs and is healthy"
    cloudwatch = boto3.client("cloudwatch", endpoint_url=server.endpoint, region_name=REGION,
                              aws_access_key_id=tenant.key_id, aws_secret_access_key=tenant.secret)
    cloudwatch.put_metric_alarm(AlarmName="app-cpu-high", Namespace="AWS/ECS", MetricName="CPUUtilization",
                                Dimensions=[{"Name": "ClusterName", "Value": "con"}, {"Name": "ServiceName", "Value": "app"}],
                                Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=80,
                                ComparisonOperator="GreaterThanThreshold")

    driver = open_browser()
    try:
        # Sign-in: a wrong secret is refused in the page; the right one opens the console.
        driver.get(console)
        wait(driver).until(EC.visibility_of_element_located((By.ID, "access-key-id"))).send_keys(tenant.key_id)
        driver.find_element(By.ID, "secret-access-key").send_keys("not-the-secret")
        driver.find_element(By.ID, "sign-in").click()
        wait(driver).until(lambda d: "not valid" in text_of(d, "signin-error"))
        shot(driver, shots, "01-sign-in-refused")
        sign_in(driver, console, tenant.key_id, tenant.secret)
        cookie = driver.get_cookie("stowage_console")
        assert cookie and cookie["httpOnly"] and cookie.get("sameSite") == "Strict", cookie
        assert not cookie["secure"], "plain HTTP on loopback: not Secure (HTTPS sessions are, checked below)"

        # Keyboard: the first Tab reaches the skip link, and it moves focus to the content.
        driver.refresh()
        wait(driver).until(EC.visibility_of_element_located((By.ID, "sign-out")))
        ActionChains(driver).send_keys(Keys.TAB).perform()
        active = driver.switch_to.active_element
        assert active.get_attribute("class") == "skip" and active.is_displayed(), active.get_attribute("outerHTML")
        ActionChains(driver).send_keys(Keys.ENTER).perform()
        assert driver.switch_to.active_element.get_attribute("id") == "main"

        # Services: both services of the cluster, with counts.
        driver.get(f"{console}#/services")
        wait(driver).until(lambda d: "app" in text_of(d, "services-body") and "idle" in text_of(d, "services-body"))
        shot(driver, shots, "02-services")

        # A service: its running task, lastStatus and health side by side.
        driver.find_element(By.LINK_TEXT, "app").click()
        def task_rows(d):
            return [r for r in texts(d, "tbody tr") if "RUNNING" in r]
        rows = wait(driver).until(task_rows)
        assert all("HEALTHY" in r for r in rows), rows
        assert stat_value(driver, "running") == "1"
        assert "Deployment timeline" in text_of(driver, "main")
        # The alarm's threshold is drawn on the service's CPU chart.
        wait(driver, 40).until(lambda d: any("app-cpu-high" in s for s in d.execute_script(
            "const c = Chart.getChart('chart-cpu-canvas'); return c ? c.data.datasets.map(d => d.label) : [];")))
        shot(driver, shots, "03-service")

        # Scale from the console: the dialog says what will happen, and the running count follows.
        driver.find_element(By.ID, "action-scale").click()
        field = wait(driver).until(EC.visibility_of_element_located((By.ID, "dialog-input")))
        assert driver.switch_to.active_element == field, "the dialog takes the keyboard focus"
        field.clear()
        field.send_keys("2")
        wait(driver).until(lambda d: "start 1 more task" in text_of(d, "scale-effect"))
        confirm_dialog(driver)
        wait(driver, 90).until(lambda d: stat_value(d, "running") == "2")
        assert ecs.describe_services(cluster="con", services=["app"])["services"][0]["desiredCount"] == 2
        assert len(tasks_of(ecs, "con", "app")) == 2

        # Force a new deployment, then roll back: a second revision deployed from the API, undone from the console.
        driver.find_element(By.ID, "action-force-deploy").click()
        assert "new deployment" in wait(driver).until(EC.visibility_of_element_located((By.ID, "dialog-message"))).text
        confirm_dialog(driver)
        assert wait_for(lambda: len(history(server, tenant, "con", "app")) == 2, 20), "the forced deployment is in the timeline"
        revised = dict(TICKER, logConfiguration=log_config("/con/ticker"), environment=[{"name": "REVISION", "value": "2"}])
        ecs.register_task_definition(family="ticker", containerDefinitions=[revised])
        ecs.update_service(cluster="con", service="app", taskDefinition="ticker:2")
        assert wait_for(lambda: [d["rolloutState"] for d in ecs.describe_services(cluster="con", services=["app"])["services"][0]["deployments"]]
                        == ["COMPLETED"], 120), "the second revision is deployed"
        wait(driver).until(lambda d: d.find_element(By.ID, "action-rollback").is_enabled())
        driver.find_element(By.ID, "action-rollback").click()
        assert "ticker:1" in wait(driver).until(EC.visibility_of_element_located((By.ID, "dialog-message"))).text
        confirm_dialog(driver)
        assert wait_for(lambda: ecs.describe_services(cluster="con", services=["app"])["services"][0]["taskDefinition"].endswith("ticker:1"), 20)
        assert wait_for(lambda: running_healthy(ecs, "con", "app", 2), 120), "the rollback completes"
        wait(driver).until(lambda d: "ticker:1" in text_of(d, "deployment-timeline") and "ticker:2" in text_of(d, "deployment-timeline"))

        # A task: CPU per container from the agent's samples of the real container.
        task_id = tasks_of(ecs, "con", "app")[0]["taskArn"].split("/")[-1]
        driver.get(f"{console}#/clusters/con/tasks/{task_id}")
        canvas = wait(driver, 60).until(EC.presence_of_element_located((By.ID, "chart-task-cpu-canvas")))
        wait(driver, 60).until(lambda d: int(canvas.get_attribute("data-points") or 0) > 0)
        wait(driver, 60).until(lambda d: int(d.find_element(By.ID, "chart-task-memory-canvas").get_attribute("data-points") or 0) > 0)

        # Its logs, followed live: a line the container prints after the page opened appears.
        wait(driver, 60).until(lambda d: re.search(r"tick \d+", text_of(d, "task-logs-lines")))
        seen = max(int(n) for n in re.findall(r"tick (\d+)", text_of(driver, "task-logs-lines")))
        wait(driver, 60).until(lambda d: f"tick {seen + 3}" in text_of(d, "task-logs-lines"))
        shot(driver, shots, "04-task")
        # A filter pattern narrows the lines (parsed by the server, as CloudWatch's).
        filt = driver.find_element(By.ID, "task-logs-filter")
        filt.send_keys('"tick 1"' + Keys.ENTER)
        wait(driver).until(lambda d: (lines := [l for l in text_of(d, "task-logs-lines").split("\n") if "tick" in l])
                           and all("tick 1" in l for l in lines))

        # The cluster: it runs services and tasks, so the console will not delete it.
        driver.get(f"{console}#/clusters/con")
        wait(driver).until(lambda d: "does not delete a cluster that runs anything" in text_of(d, "delete-cluster-note"))
        shot(driver, shots, "05-cluster")
        driver.find_element(By.ID, "action-delete-cluster").click()
        message = wait(driver).until(EC.visibility_of_element_located((By.ID, "dialog-message"))).text
        assert "does not delete a cluster that runs anything" in message
        assert not driver.find_elements(By.ID, "dialog-confirm-name"), "no way to type the name and go on"
        confirm_dialog(driver)
        # Nor will the server, asked directly with the page's session.
        status, body = console_fetch(driver, "POST", "/console/api/aws", {"cluster": "con"},
                                     {"X-Amz-Target": "AmazonEC2ContainerServiceV20141113.DeleteCluster"})
        assert status == 409 and body["__type"] == "ClusterContainsServicesException", (status, body)
        assert ecs.describe_clusters(clusters=["con"])["clusters"][0]["status"] == "ACTIVE"

        # Deleting a service takes its name typed exactly.
        driver.get(f"{console}#/clusters/con/services/idle")
        wait(driver).until(EC.element_to_be_clickable((By.ID, "action-delete-service"))).click()
        typed = wait(driver).until(EC.visibility_of_element_located((By.ID, "dialog-confirm-name")))
        assert not driver.find_element(By.ID, "dialog-confirm").is_enabled()
        typed.send_keys("idl")
        assert not driver.find_element(By.ID, "dialog-confirm").is_enabled()
        typed.send_keys("e")
        confirm_dialog(driver)
        assert wait_for(lambda: ecs.describe_services(cluster="con", services=["idle"])["services"][0]["status"] != "ACTIVE", 20)

        # The other views render with their data.
        for route, name, expect in (("#/clusters", "06-clusters", "con"), ("#/instances", "07-instances", "connected"),
                                    ("#/alarms", "08-alarms", "app-cpu-high"), ("#/audit", "09-audit", "ecs:")):
            driver.get(f"{console}{route}")
            wait(driver).until(lambda d: expect in text_of(d, "main"))
            shot(driver, shots, name)
        # The audit view, searched: the console's own UpdateService calls, marked as the console's.
        wait(driver).until(EC.visibility_of_element_located((By.ID, "audit-action"))).send_keys("ecs:UpdateService" + Keys.ENTER)
        wait(driver).until(lambda d: (rows := texts(d, "main tbody tr")) and all("ecs:UpdateService" in r for r in rows)
                           and any("console" in r for r in rows))
        shot(driver, shots, "09-audit-searched")

        # The console's calls are in the audit trail as the signed-in principal's, marked as the console's.
        status, out = signed_request(server, tenant, "GET", "/v1/audit/events?action=ecs:UpdateService")
        assert status == 200 and any(e.get("via") == "console" and e["allowed"] for e in out["events"]), out

        # CSRF: a write carrying the session cookie but not the token is refused; with the token it goes through.
        status, body = console_fetch(driver, "POST", "/console/api/aws", {"cluster": "con", "service": "app", "desiredCount": 3},
                                     {"X-Amz-Target": "AmazonEC2ContainerServiceV20141113.UpdateService"}, csrf=False)
        assert status == 403 and "CSRF" in body["message"], (status, body)
        assert ecs.describe_services(cluster="con", services=["app"])["services"][0]["desiredCount"] == 2
        status, _ = console_fetch(driver, "POST", "/console/api/aws", {"cluster": "con", "service": "app", "desiredCount": 2},
                                  {"X-Amz-Target": "AmazonEC2ContainerServiceV20141113.UpdateService"})
        assert status == 200

        # Drain the instance from the console.
        driver.get(f"{console}#/instances")
        wait(driver).until(EC.element_to_be_clickable((By.XPATH, "//button[text()='Drain…']"))).click()
        assert "place no new tasks" in wait(driver).until(EC.visibility_of_element_located((By.ID, "dialog-message"))).text
        confirm_dialog(driver)
        assert wait_for(lambda: ecs.describe_container_instances(
            cluster="con", containerInstances=ecs.list_container_instances(cluster="con")["containerInstanceArns"])
            ["containerInstances"][0]["status"] == "DRAINING", 20)

        # A phone-sized screen: the page reflows instead of scrolling sideways.
        driver.set_window_size(390, 844)
        driver.get(f"{console}#/clusters/con/services/app")
        wait(driver).until(lambda d: stat_value(d, "desired") == "2")
        assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
        shot(driver, shots, "10-service-phone")
        driver.set_window_size(1280, 800)

        # Sign-out revokes the session: its cookie opens nothing afterwards.
        token = driver.get_cookie("stowage_console")["value"]
        driver.find_element(By.ID, "sign-out").click()
        wait(driver).until(EC.visibility_of_element_located((By.ID, "access-key-id")))
        request = urllib.request.Request(f"{server.endpoint}/console/api/session", headers={"Cookie": f"stowage_console={token}"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request)
        assert refused.value.code == 401
        severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE" and "/console/api/session" not in e["message"]
                  and "/console/api/aws" not in e["message"]]
        assert not severe, f"the page logged errors: {severe}"
    finally:
        driver.quit()
    print(f"console screenshots: {shots}")

    # Over HTTPS the session cookie is also Secure.
    context = ssl.create_default_context(cafile=server.ca)
    request = urllib.request.Request(f"{server.tls_endpoint}/console/api/session", method="POST",
                                     data=json.dumps({"accessKeyId": tenant.key_id, "secretAccessKey": tenant.secret}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, context=context) as response:
        assert "; Secure" in response.headers["Set-Cookie"] and "HttpOnly" in response.headers["Set-Cookie"]
    # A sign-in member the console does not know is refused by name, not ignored.
    request = urllib.request.Request(f"{server.endpoint}/console/api/session", method="POST", headers={"Content-Type": "application/json"},
                                     data=json.dumps({"accessKeyId": tenant.key_id, "secretAccessKey": tenant.secret,
                                                      "durationSeconds": 43200}).encode())
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    assert refused.value.code == 400 and "durationSeconds" in json.load(refused.value)["message"]


def test_console_narrow_principal(server, tenant, tmp_path):
    """A principal allowed one service sees only that service, and what its policy does not allow is refused."""
    ecs = ecs_client(server, tenant)
    ecs.create_cluster(clusterName="narrow")
    ecs.register_task_definition(family="ticker", containerDefinitions=[TICKER])
    for name in ("mine", "theirs"):
        ecs.create_service(cluster="narrow", serviceName=name, taskDefinition="ticker", desiredCount=0)
    iam = boto3.client("iam", endpoint_url=server.endpoint, region_name=REGION,
                       aws_access_key_id=tenant.key_id, aws_secret_access_key=tenant.secret)
    iam.create_user(UserName="viewer")
    service_arn = f"arn:aws:ecs:{REGION}:{tenant.account}:service/narrow/mine"
    iam.put_user_policy(UserName="viewer", PolicyName="one-service", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ecs:ListClusters", "ecs:DescribeClusters", "ecs:ListServices", "ecs:ListTasks",
                                       "ecs:DescribeTaskDefinition"], "Resource": "*"},
        {"Effect": "Allow", "Action": "ecs:DescribeServices", "Resource": service_arn},
    ]}))
    key = iam.create_access_key(UserName="viewer")["AccessKey"]
    console = f"{server.endpoint}/console"
    driver = open_browser()
    try:
        sign_in(driver, console, key["AccessKeyId"], key["SecretAccessKey"])
        driver.get(f"{console}#/services")
        wait(driver).until(lambda d: "mine" in text_of(d, "services-body"))
        listed = [r.split()[0] for r in texts(driver, "#services-body tbody tr")]
        assert listed == ["mine"], listed
        shot(driver, tmp_path / "screenshots", "narrow-services")

        # Its own service opens; scaling it is not in its policy, and the page says so.
        driver.find_element(By.LINK_TEXT, "mine").click()
        wait(driver).until(EC.element_to_be_clickable((By.ID, "action-scale"))).click()
        field = wait(driver).until(EC.visibility_of_element_located((By.ID, "dialog-input")))
        field.clear()
        field.send_keys("1")
        confirm_dialog(driver)
        wait(driver).until(lambda d: "Not allowed" in text_of(d, "toast"))
        shot(driver, tmp_path / "screenshots", "narrow-refused")
        assert ecs.describe_services(cluster="narrow", services=["mine"])["services"][0]["desiredCount"] == 0

        # The other service is not readable through the console's API either.
        status, body = console_fetch(driver, "POST", "/console/api/aws", {"cluster": "narrow", "services": ["theirs"]},
                                     {"X-Amz-Target": "AmazonEC2ContainerServiceV20141113.DescribeServices"})
        assert status == 403 and body["__type"] == "AccessDeniedException", (status, body)

        # Deactivating the key ends its console sessions: the page is sent back to sign-in.
        iam.update_access_key(UserName="viewer", AccessKeyId=key["AccessKeyId"], Status="Inactive")
        status, _ = console_fetch(driver, "GET", "/console/api/session", csrf=False)
        assert status == 401
        driver.get(f"{console}#/services")
        wait(driver).until(EC.visibility_of_element_located((By.ID, "access-key-id")))
    finally:
        driver.quit()
    status, out = signed_request(server, tenant, "GET", "/v1/audit/events?action=ecs:UpdateService")
    assert any(e["principalArn"].endswith(":user/viewer") and not e["allowed"] and e.get("via") == "console" for e in out["events"]), out
