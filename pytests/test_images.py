"""Issue 13, item 2: images pulled from a real registry (Debian's docker-registry on 127.0.0.1:5055) through the
engine, a registry's refusal in stoppedReason, a deployment pinned to the digest its first task resolved, and
unused images cleaned up."""
import base64
import json
import os
import subprocess
import urllib.parse
import urllib.request
import warnings

import pytest

from conftest import cluster_with_agent, docker, wait_for

REGISTRY = os.environ.get("STOWAGE_TEST_REGISTRY", "")


@pytest.fixture(autouse=True)
def engine(need_engine):
    """Every test here runs real containers and needs the registry make test starts."""
    if not REGISTRY:
        pytest.fail("STOWAGE_TEST_REGISTRY is not set: run `make test`, which starts the local registry")


def podman(*args):
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=True).stdout.strip()


def push(source, target):
    """Pushes a local image to the test registry, and drops any local copy of the target so it must be pulled."""
    podman("push", "--tls-verify=false", source, f"{REGISTRY}/{target}")
    docker("DELETE", f"/images/{urllib.parse.quote(f'{REGISTRY}/{target}', safe='')}?force=true")


def registry_digest(repository, tag):
    request = urllib.request.Request(f"http://{REGISTRY}/v2/{repository}/manifests/{tag}", method="HEAD", headers={
        "Accept": "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"})
    with urllib.request.urlopen(request) as response:
        return response.headers["Docker-Content-Digest"]


def local_image(reference):
    answer = docker("GET", f"/images/{urllib.parse.quote(reference, safe='')}/json")
    return answer if isinstance(answer, dict) and "Id" in answer else None


def variant(label):
    """A local image with other bytes than localhost/busybox (a label in its config), to move a tag to."""
    name = f"localhost/busybox-{label}:1"
    container = podman("create", "localhost/busybox:latest", "true")
    podman("commit", "--change", f"LABEL variant={label}", container, name)
    podman("rm", container)
    return name


def running(ecs, cluster, arn):
    task = ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]
    return task if task["lastStatus"] in ("RUNNING", "STOPPED") else None


def test_an_image_is_pulled_from_the_registry_and_a_refusal_is_the_registrys_words(server, tenant, tmp_path, agents):
    ecs = cluster_with_agent(server, tenant, tmp_path, agents, "pulls")
    push("localhost/busybox:latest", "stowage/busybox:v1")
    image = f"{REGISTRY}/stowage/busybox:v1"
    assert local_image(image) is None, "no local copy before the task runs"

    ecs.register_task_definition(family="pulled", containerDefinitions=[
        {"name": "app", "image": image, "memory": 16, "command": ["sleep", "600"]}])
    arn = ecs.run_task(cluster="pulls", taskDefinition="pulled")["tasks"][0]["taskArn"]
    task = wait_for(lambda: running(ecs, "pulls", arn), seconds=90)
    assert task and task["lastStatus"] == "RUNNING", task
    assert task["pullStartedAt"] <= task["pullStoppedAt"] <= task["startedAt"]
    digest = registry_digest("stowage/busybox", "v1")
    assert task["containers"][0]["imageDigest"] == digest, "the digest the registry serves for the tag"
    assert local_image(image), "the engine now holds the pulled image"
    ecs.stop_task(cluster="pulls", task=arn)

    ecs.register_task_definition(family="refused", containerDefinitions=[
        {"name": "app", "image": f"{REGISTRY}/stowage/busybox:no-such-tag", "memory": 16, "command": ["true"]}])
    arn = ecs.run_task(cluster="pulls", taskDefinition="refused")["tasks"][0]["taskArn"]
    stopped = wait_for(lambda: (lambda t: t if t["lastStatus"] == "STOPPED" else None)(
        ecs.describe_tasks(cluster="pulls", tasks=[arn])["tasks"][0]), seconds=90)
    assert stopped["stopCode"] == "TaskFailedToStart"
    assert stopped["stoppedReason"].startswith("CannotPullContainerError:"), stopped["stoppedReason"]
    assert "manifest unknown" in stopped["stoppedReason"], "what the registry said"


def test_a_deployment_runs_the_digest_its_first_task_resolved(server, tenant, tmp_path, agents):
    ecs = cluster_with_agent(server, tenant, tmp_path, agents, "pinned")
    push("localhost/busybox:latest", "stowage/app:stable")
    first = registry_digest("stowage/app", "stable")
    ecs.register_task_definition(family="pinned", containerDefinitions=[
        {"name": "app", "image": f"{REGISTRY}/stowage/app:stable", "memory": 16, "command": ["sleep", "600"]}])
    ecs.create_service(cluster="pinned", serviceName="app", taskDefinition="pinned", desiredCount=1)

    def digests(count):
        arns = ecs.list_tasks(cluster="pinned", serviceName="app", desiredStatus="RUNNING")["taskArns"]
        tasks = ecs.describe_tasks(cluster="pinned", tasks=arns)["tasks"] if arns else []
        tasks = [t for t in tasks if t["lastStatus"] == "RUNNING"]
        return [t["containers"][0].get("imageDigest") for t in tasks] if len(tasks) == count else None

    assert wait_for(lambda: digests(1), seconds=90) == [first]
    # The tag moves to other bytes; the deployment's next tasks still run the digest it resolved first.
    push(variant("moved"), "stowage/app:stable")
    moved = registry_digest("stowage/app", "stable")
    assert moved != first
    ecs.update_service(cluster="pinned", service="app", desiredCount=3)
    assert wait_for(lambda: digests(3), seconds=90) == [first] * 3
    # A new deployment resolves the tag again.
    ecs.update_service(cluster="pinned", service="app", desiredCount=1, forceNewDeployment=True)
    assert wait_for(lambda: (lambda d: d if d == [moved] else None)(digests(1)), seconds=120) == [moved]
    ecs.update_service(cluster="pinned", service="app", desiredCount=0)


def test_unused_pulled_images_are_cleaned_up(server, tenant, tmp_path, agents):
    ecs = cluster_with_agent(server, tenant, tmp_path, agents, "cleanup",
                             extra=("--image-cleanup-interval", "1", "--image-minimum-age", "2"))
    source = variant("cleanup")
    push(source, "stowage/cleanup:1")
    podman("rmi", source)
    image = f"{REGISTRY}/stowage/cleanup:1"
    ecs.register_task_definition(family="cleanup", containerDefinitions=[
        {"name": "app", "image": image, "memory": 16, "command": ["sleep", "3"], "essential": True}])
    arn = ecs.run_task(cluster="cleanup", taskDefinition="cleanup")["tasks"][0]["taskArn"]
    assert wait_for(lambda: running(ecs, "cleanup", arn), seconds=90)
    assert local_image(image), "pulled for the task"
    assert wait_for(lambda: ecs.describe_tasks(cluster="cleanup", tasks=[arn])["tasks"][0]["lastStatus"] == "STOPPED", seconds=60)
    assert wait_for(lambda: local_image(image) is None, seconds=60), "removed once unused for the minimum age"
    assert local_image("localhost/busybox:latest"), "an image the agent did not pull is never removed"


def test_a_private_registry_needs_the_agents_credentials(server, tenant, tmp_path, agents):
    """A registry with passwords (htpasswd): the agent given a Docker config file for it pulls; one without is
    refused, and the registry's refusal is the stopped reason."""
    with warnings.catch_warnings():  # crypt: the standard library's only bcrypt (deprecated, present in 3.11)
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    port = 5056
    users = tmp_path / "htpasswd"
    users.write_text("puller:" + crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH)) + "\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    registry = subprocess.run([os.path.join(root, "scripts", "registry.sh"), "start", str(tmp_path / "private"), str(port), str(users)],
                              capture_output=True, text=True, check=True).stdout.strip()
    try:
        podman("push", "--tls-verify=false", "--creds", "puller:s3cret", "localhost/busybox:latest", f"{registry}/team/app:1")
        image = f"{registry}/team/app:1"
        docker("DELETE", f"/images/{urllib.parse.quote(image, safe='')}?force=true")
        config = tmp_path / "auth.json"
        config.write_text(json.dumps({"auths": {registry: {"auth": base64.b64encode(b"puller:s3cret").decode()}}}))
        for cluster, extra in (("private-ok", ("--registry-auth", str(config))), ("private-no", ())):
            ecs = cluster_with_agent(server, tenant, tmp_path, agents, cluster, extra=extra)
        ecs.register_task_definition(family="private", containerDefinitions=[
            {"name": "app", "image": image, "memory": 16, "command": ["sleep", "600"]}])
        ok = ecs.run_task(cluster="private-ok", taskDefinition="private")["tasks"][0]["taskArn"]
        task = wait_for(lambda: running(ecs, "private-ok", ok), seconds=90)
        assert task["lastStatus"] == "RUNNING" and task["containers"][0]["imageDigest"].startswith("sha256:")
        ecs.stop_task(cluster="private-ok", task=ok)
        docker("DELETE", f"/images/{urllib.parse.quote(image, safe='')}?force=true")
        refused = ecs.run_task(cluster="private-no", taskDefinition="private")["tasks"][0]["taskArn"]
        stopped = wait_for(lambda: (lambda t: t if t["lastStatus"] == "STOPPED" else None)(
            ecs.describe_tasks(cluster="private-no", tasks=[refused])["tasks"][0]), seconds=90)
        assert stopped["stoppedReason"].startswith("CannotPullContainerError:") and "UNAUTHORIZED" in stopped["stoppedReason"], \
            stopped["stoppedReason"]
    finally:
        subprocess.run([os.path.join(root, "scripts", "registry.sh"), "stop", str(tmp_path / "private")])
