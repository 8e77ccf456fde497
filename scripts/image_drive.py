"""Drives a Stowage stack started from the container image (make test-image) with boto3.

Reads `stowage admin create-account`'s output on stdin and the endpoint as the first argument; exits non-zero
(with what differed) if the API, the database behind it or the worker does not do what a new user expects.
"""
import sys
import time

import boto3
import botocore.exceptions


def main() -> int:
    endpoint = sys.argv[1]
    fields = dict(line.split(" = ", 1) for line in sys.stdin.read().splitlines() if " = " in line)
    session = boto3.session.Session(
        aws_access_key_id=fields["aws_access_key_id"], aws_secret_access_key=fields["aws_secret_access_key"],
        region_name="us-east-1")
    ecs = session.client("ecs", endpoint_url=endpoint)
    sts = session.client("sts", endpoint_url=endpoint)

    identity = sts.get_caller_identity()
    assert identity["Account"] == fields["account_id"], identity
    print("GetCallerIdentity:", identity["Arn"])

    cluster = ecs.create_cluster(clusterName="image")["cluster"]
    print("CreateCluster:", cluster["clusterArn"], cluster["status"])
    definition = ecs.register_task_definition(family="web", containerDefinitions=[
        {"name": "web", "image": "busybox", "memory": 64, "command": ["httpd", "-f"]}])["taskDefinition"]
    print("RegisterTaskDefinition:", definition["taskDefinitionArn"])
    ecs.create_service(cluster="image", serviceName="web", taskDefinition="web", desiredCount=2)

    # The worker container reconciles the service: two tasks exist (PENDING: this stack has no agent).
    deadline = time.time() + 60
    while True:
        service = ecs.describe_services(cluster="image", services=["web"])["services"][0]
        tasks = ecs.list_tasks(cluster="image", serviceName="web")["taskArns"]
        if len(tasks) == 2:
            break
        if time.time() > deadline:
            print("the worker did not reconcile the service:", service, tasks)
            return 1
        time.sleep(1)
    described = ecs.describe_tasks(cluster="image", tasks=tasks)["tasks"]
    print("worker placed the service's tasks:", sorted(t["lastStatus"] for t in described),
          "events:", [e["message"] for e in service.get("events", [])][:2])

    try:
        ecs.delete_cluster(cluster="image")
        print("DeleteCluster of a cluster with a service was accepted")
        return 1
    except botocore.exceptions.ClientError as error:
        print("DeleteCluster refused while it has services:", error.response["Error"]["Code"])
    ecs.delete_service(cluster="image", service="web", force=True)
    clusters = ecs.list_clusters()["clusterArns"]
    assert clusters == [cluster["clusterArn"]], clusters
    print("ListClusters:", clusters)
    return 0


if __name__ == "__main__":
    sys.exit(main())
