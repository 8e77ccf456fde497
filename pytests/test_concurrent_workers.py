"""Several worker processes place thousands of tasks against one database; afterwards no instance is
over-committed, no host port is handed out twice, and no service has more tasks than it asked for."""
import os
import signal
import subprocess
import time

from conftest import BIN, WORKER_ARGS, ecs_client, jobs_in_flight, psql, wait_for

INSTANCES_PER_CLUSTER = 40
SERVICES = 5
DESIRED = 200


def test_three_workers_place_thousands_of_tasks_without_overcommit(server, tenant):
    workers = [subprocess.Popen([BIN, "worker", *WORKER_ARGS, "--concurrency", "4"], env=server.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
    try:
        ecs = ecs_client(server, tenant)
        clusters = ["load-a", "load-b"]
        for cluster in clusters:
            ecs.create_cluster(clusterName=cluster)
            for i in range(INSTANCES_PER_CLUSTER):
                ecs.register_container_instance(cluster=cluster, totalResources=[
                    {"name": "CPU", "type": "INTEGER", "integerValue": 4096},
                    {"name": "MEMORY", "type": "INTEGER", "integerValue": 4096},
                ], attributes=[{"name": "zone", "value": "abc"[i % 3]}])
        ecs.register_task_definition(family="load", containerDefinitions=[
            {"name": "app", "image": "busybox", "cpu": 64, "memory": 100, "portMappings": [{"containerPort": 80, "hostPort": 0}]}])
        ecs.register_task_definition(family="fixed", containerDefinitions=[
            {"name": "app", "image": "busybox", "memory": 50, "portMappings": [{"containerPort": 80, "hostPort": 8080}]}])
        for cluster in clusters:
            for s in range(SERVICES):
                ecs.create_service(cluster=cluster, serviceName=f"svc{s}", taskDefinition="load", desiredCount=DESIRED)
            ecs.create_service(cluster=cluster, serviceName="fixed", taskDefinition="fixed", desiredCount=50)

        account = tenant.account
        expected_placed = len(clusters) * (SERVICES * DESIRED + INSTANCES_PER_CLUSTER)
        deadline = time.time() + 120
        placed = 0
        while time.time() < deadline:
            placed = int(psql(server, f"SELECT count(*) FROM tasks WHERE account_id = '{account}' AND instance_id IS NOT NULL")[0][0])
            if placed >= expected_placed:
                break
            time.sleep(0.5)
        assert placed == expected_placed, f"placed {placed} of {expected_placed}"
        # Every straggling job finished (the unplaceable fixed-port tasks' retries wait for later), then nothing
        # moved past the limits.
        assert wait_for(lambda: jobs_in_flight(server, account, due_only=True) == 0 or None, seconds=60, every=0.2), \
            "the workers went quiet"

        over = psql(server, f"""
            SELECT t.cluster_name, t.instance_id, sum(t.cpu), sum(t.memory) FROM tasks t
            WHERE t.account_id = '{account}' AND t.last_status <> 'STOPPED' AND t.instance_id IS NOT NULL
            GROUP BY 1, 2 HAVING sum(t.cpu) > 4096 OR sum(t.memory) > 4096""")
        assert over == [], f"over-committed instances: {over}"

        clashes = psql(server, f"""
            SELECT t.cluster_name, t.instance_id, b->>'hostPort', count(*) FROM tasks t,
                   jsonb_array_elements(t.containers) c, jsonb_array_elements(COALESCE(c->'networkBindings', '[]')) b
            WHERE t.account_id = '{account}' AND t.last_status <> 'STOPPED'
            GROUP BY 1, 2, 3 HAVING count(*) > 1""")
        assert clashes == [], f"host ports handed out twice: {clashes[:5]}"

        counts = psql(server, f"""
            SELECT cluster_name, service_name, count(*) FROM tasks
            WHERE account_id = '{account}' AND desired_status = 'RUNNING' GROUP BY 1, 2""")
        for cluster, service, count in counts:
            wanted = 50 if service == "fixed" else DESIRED
            assert int(count) == wanted, f"{cluster}/{service} has {count} tasks, wants {wanted}"
        fixed_waiting = psql(server, f"""
            SELECT count(*) FROM tasks WHERE account_id = '{account}' AND service_name = 'fixed' AND instance_id IS NULL""")
        assert int(fixed_waiting[0][0]) == len(clusters) * (50 - INSTANCES_PER_CLUSTER), "port 8080 fits once per instance"
        events = ecs.describe_services(cluster="load-a", services=["fixed"])["services"][0]["events"]
        assert any("already using a port" in e["message"] for e in events)

        for cluster in clusters:
            for s in range(SERVICES):
                ecs.delete_service(cluster=cluster, service=f"svc{s}", force=True)
            ecs.delete_service(cluster=cluster, service="fixed", force=True)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            assert worker.wait(timeout=20) == 0
