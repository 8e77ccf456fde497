#!/usr/bin/env bash
# make dev: picks a container engine for the local agent and runs `stowage dev`.
# A Docker socket that answers wins; else Podman's Docker-compatible service (installed with apt-get as
# root when missing); else the process driver. Ctrl-C stops Stowage and the Podman API service; task
# containers keep running and the next `make dev` adopts them.
set -uo pipefail
cd "$(dirname "$0")/.."
args=()
socket=/var/run/docker.sock
if [ -n "${DOCKER_HOST:-}" ] && [ "${DOCKER_HOST#unix://}" != "$DOCKER_HOST" ]; then socket=${DOCKER_HOST#unix://}; fi
podman_dir=.stowage/podman
started_podman=""
if [ -S "$socket" ] && curl -sf --max-time 5 --unix-socket "$socket" http://d/version >/dev/null; then
    echo "dev: containers run on the Docker engine at $socket"
    scripts/busybox-image.sh "$socket" || echo "dev: could not import localhost/busybox:latest into Docker" >&2
    args+=(--docker-socket "$socket")
elif socket=$(scripts/podman.sh start "$podman_dir"); then
    echo "dev: containers run on Podman's Docker-compatible API at $socket"
    started_podman=yes
    # The limits scripts/podman.sh configures, for containers that name other ulimits (see podman.sh).
    args+=(--docker-socket "$socket" --default-ulimit nofile=1024:1024 --default-ulimit nproc=4096:4096)
else
    echo "dev: no container engine could be started; containers' commands run as host processes (process driver)"
    args+=(--driver process)
fi
# A local registry on 127.0.0.1:5000 that the agent pulls from: push an image there and run it.
registry_dir=.stowage/registry
if registry=$(scripts/registry.sh start "$registry_dir" 5000); then
    echo "dev: local registry at $registry (push with: podman push --tls-verify=false <image> $registry/<name>:<tag>, or skopeo copy;"
    echo "     then use \"image\": \"$registry/<name>:<tag>\" in a task definition)"
else
    echo "dev: the local registry could not start (is port 5000 taken?); images are used from the engine's cache" >&2
fi
# In the foreground, so Ctrl-C reaches it; the Podman API service and the registry stop when the script ends.
trap 'scripts/registry.sh stop "$registry_dir"; [ -n "$started_podman" ] && scripts/podman.sh stop "$podman_dir"' EXIT
.build/debug/stowage dev "${args[@]}"
