#!/usr/bin/env bash
# Starts Podman's Docker-compatible API service in a directory of ours, with the settings that work on
# these hosts (runc, cgroupfs, file events, ulimits within the hard limits), and makes the local image
# localhost/busybox:latest from busybox-static, so nothing is pulled.
#   scripts/podman.sh start DIR   -> prints the socket path
#   scripts/podman.sh stop DIR
#   scripts/podman.sh conf DIR    -> writes only DIR/containers.conf and prints its path (for podman build)
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?directory}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

if [ "$cmd" = stop ]; then
    [ -f "$dir/podman.pid" ] && kill "$(cat "$dir/podman.pid")" 2>/dev/null || true
    rm -f "$dir/podman.pid"
    exit 0
fi

# These defaults are also given to the agent (--default-ulimit, in dev.sh and the tests): Podman drops them for a
# container that names any ulimit of its own.
cat > "$dir/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
# The local registries of `make dev` (5000) and `make test` (5055, and 5056 with passwords) speak plain HTTP on loopback.
cat > "$dir/registries.conf" <<CONF
[[registry]]
location = "127.0.0.1:5000"
insecure = true
[[registry]]
location = "127.0.0.1:5055"
insecure = true
[[registry]]
location = "127.0.0.1:5056"
insecure = true
CONF
export CONTAINERS_REGISTRIES_CONF="$dir/registries.conf"
if [ "$cmd" = conf ]; then echo "$dir/containers.conf"; exit 0; fi

# catatonit is the init process Podman runs for initProcessEnabled; iproute2's `ip` puts the agent's task
# endpoint address (169.254.170.2) on the loopback device.
if ! command -v podman >/dev/null || ! command -v runc >/dev/null || [ ! -x /bin/busybox ] || [ ! -x /usr/libexec/podman/catatonit ] \
    || ! command -v ip >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends podman runc busybox-static catatonit iproute2 >/dev/null
    else
        echo "missing podman, runc, busybox-static, catatonit or iproute2: sudo apt-get install podman runc busybox-static catatonit iproute2" >&2
        exit 1
    fi
fi

export CONTAINERS_CONF="$dir/containers.conf"

socket="$dir/podman.sock"
if ! { [ -f "$dir/podman.pid" ] && kill -0 "$(cat "$dir/podman.pid")" 2>/dev/null && [ -S "$socket" ]; }; then
    rm -f "$socket"
    # From its own directory: conmon leaves files (an `oom` marker when a container is OOM-killed) in its
    # working directory, which must not be the caller's (the repository).
    (cd "$dir" && exec podman system service --time=0 "unix://$socket") > "$dir/podman.log" 2>&1 &
    echo $! > "$dir/podman.pid"
    for _ in $(seq 100); do [ -S "$socket" ] && break; sleep 0.1; done
    [ -S "$socket" ] || { echo "podman service did not start; see $dir/podman.log" >&2; exit 1; }
fi

if ! podman image exists localhost/busybox:latest; then
    tar=$("$(dirname "$0")/busybox-rootfs.sh")
    podman import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' "$tar" localhost/busybox:latest >/dev/null 2>&1
    rm -f "$tar"
fi
echo "$socket"
