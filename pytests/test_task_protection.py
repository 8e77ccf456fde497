"""Issue 13, item 8: task scale-in protection (UpdateTaskProtection/GetTaskProtection) honoured by the
reconciler on a real agent: a protected task survives scale-in until its protection is lifted."""
import botocore.exceptions
import pytest

from conftest import cluster_with_agent, wait_for


@pytest.fixture(autouse=True)
def engine(need_engine):
    """Real containers."""


def test_a_protected_task_survives_scale_in_until_its_protection_is_lifted(server, tenant, tmp_path, agents):
    ecs = cluster_with_agent(server, tenant, tmp_path, agents, "guarded")
    ecs.register_task_definition(family="worker", containerDefinitions=[
        {"name": "app", "image": "localhost/busybox:latest", "memory": 16, "command": ["sleep", "600"]}])
    ecs.create_service(cluster="guarded", serviceName="workers", taskDefinition="worker", desiredCount=2)

    def running():
        arns = ecs.list_tasks(cluster="guarded", serviceName="workers", desiredStatus="RUNNING")["taskArns"]
        tasks = ecs.describe_tasks(cluster="guarded", tasks=arns)["tasks"] if arns else []
        return sorted(t["taskArn"] for t in tasks if t["lastStatus"] == "RUNNING")
    both = wait_for(lambda: (lambda r: r if len(r) == 2 else None)(running()), seconds=60)
    assert both
    busy, idle = both
    answer = ecs.update_task_protection(cluster="guarded", tasks=[busy], protectionEnabled=True, expiresInMinutes=60)
    assert answer["protectedTasks"][0]["taskArn"] == busy and answer["protectedTasks"][0]["protectionEnabled"]
    assert answer["protectedTasks"][0]["expirationDate"] and answer["failures"] == []

    ecs.update_service(cluster="guarded", service="workers", desiredCount=0)
    assert wait_for(lambda: running() == [busy], seconds=60), running()
    assert wait_for(lambda: running() == [busy] and ecs.describe_tasks(cluster="guarded", tasks=[idle])["tasks"][0]["lastStatus"] == "STOPPED")
    state = ecs.get_task_protection(cluster="guarded", tasks=[busy, idle])
    assert {t["taskArn"]: t["protectionEnabled"] for t in state["protectedTasks"]} == {busy: True, idle: False}

    # A standalone task cannot be protected: a failure, not an error.
    standalone = ecs.run_task(cluster="guarded", taskDefinition="worker")["tasks"][0]["taskArn"]
    refused = ecs.update_task_protection(cluster="guarded", tasks=[standalone], protectionEnabled=True)
    assert refused["protectedTasks"] == [] and refused["failures"][0]["reason"] == "TASK_NOT_VALID"
    ecs.stop_task(cluster="guarded", task=standalone)
    with pytest.raises(botocore.exceptions.ClientError) as bad:
        ecs.update_task_protection(cluster="guarded", tasks=[busy], protectionEnabled=True, expiresInMinutes=3000)
    assert "expiresInMinutes" in bad.value.response["Error"]["Message"]

    ecs.update_task_protection(cluster="guarded", tasks=[busy], protectionEnabled=False)
    assert wait_for(lambda: running() == [], seconds=60), "lifting protection lets the scale-in finish"
