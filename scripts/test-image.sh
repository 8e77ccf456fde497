#!/usr/bin/env bash
# make test-image: builds the container image with Podman from locally made bases (no registry here), starts
# docker/compose.yaml with podman-compose (PostgreSQL from the same base), and drives it with boto3.
#   1. debootstrap a minimal Debian bookworm, imported as localhost/stowage-debian:bookworm
#   2. a Swift build image: that base + this machine's toolchain (/opt/swift) copied in
#   3. a PostgreSQL image on that base that reads the official image's POSTGRES_* variables
#   4. docker/Dockerfile built with both (packages from /opt/swift-packages, mounted read-only)
#   5. podman-compose up; an account made with `stowage admin create-account` inside the server container;
#      boto3 against the published port; podman-compose down.
# Bases are kept between runs in .build-image/ and Podman's store; STOWAGE_IMAGE_REBUILD=1 remakes them.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$root/.build-image
mkdir -p "$work"
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
port=${STOWAGE_IMAGE_PORT:-18080}
say() { echo "== $*"; }

need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
command -v iptables >/dev/null || need+=(iptables)
dpkg -s containernetworking-plugins >/dev/null 2>&1 || need+=(containernetworking-plugins)
# Service names (postgres:5432) resolve on a compose network through CNI's dnsname plugin (dnsmasq).
dpkg -s golang-github-containernetworking-plugin-dnsname >/dev/null 2>&1 || need+=(golang-github-containernetworking-plugin-dnsname dnsmasq-base)
if [ ${#need[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || { echo "missing: ${need[*]} (run as root, or apt-get install them)" >&2; exit 1; }
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# podman-compose 1.0.3 (Debian's) ignores depends_on conditions; 1.6.0 from PyPI honours them.
compose_version=$(podman-compose version 2>/dev/null | sed -n 's/^podman-compose version:\{0,1\} *//p' | head -1)
case "$compose_version" in 1.[1-9]*) ;; *) python3 -m pip install -q "podman-compose==1.6.0" ;; esac
python3 -c "import boto3" 2>/dev/null || python3 -m pip install -q boto3

# Podman as scripts/podman.sh configures it on these hosts (runc, cgroupfs, file events).
CONTAINERS_CONF=$(scripts/podman.sh conf "$work/podman")
export CONTAINERS_CONF

base=localhost/stowage-debian:bookworm
toolchain=localhost/stowage-swift:local
postgres=localhost/stowage-postgres:15
image=localhost/stowage:test
rebuild=${STOWAGE_IMAGE_REBUILD:-}

if [ -n "$rebuild" ] || ! podman image exists "$base"; then
    say "debootstrap bookworm (minbase) from $mirror"
    if [ -n "$rebuild" ] || [ ! -f "$work/rootfs/.complete" ]; then
        rm -rf "$work/rootfs"
        debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" > "$work/debootstrap.log" 2>&1 \
            || { tail -20 "$work/debootstrap.log"; exit 1; }
    fi
    rm -rf "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/var/lib/apt/lists/*; touch "$work/rootfs/.complete"
    tar -C "$work/rootfs" -c --exclude=./.complete . | podman import --change 'CMD ["/bin/bash"]' - "$base" >/dev/null
fi
if [ -n "$rebuild" ] || ! podman image exists "$toolchain"; then
    say "Swift build image from /opt/swift ($(du -sh /opt/swift | cut -f1))"
    podman build --network host -q -f "$root/docker/local/toolchain.Containerfile" --build-arg "BASE_IMAGE=$base" \
        -t "$toolchain" /opt/swift
fi
if [ -n "$rebuild" ] || ! podman image exists "$postgres"; then
    say "PostgreSQL image"
    podman build --network host -q -f "$root/docker/local/postgres.Containerfile" --build-arg "BASE_IMAGE=$base" \
        -t "$postgres" "$root/docker/local"
fi

if [ -n "${STOWAGE_IMAGE_REUSE:-}" ] && podman image exists "$image"; then
    say "reusing $image (STOWAGE_IMAGE_REUSE)"
else
    say "podman build docker/Dockerfile (release build inside; long)"
    started=$(date +%s)
    podman build --network host -v /opt/swift-packages:/opt/swift-packages:ro \
        --build-arg "SWIFT_IMAGE=$toolchain" --build-arg "RUNTIME_IMAGE=$base" \
        -f docker/Dockerfile -t "$image" . > "$work/build.log" 2>&1 || { tail -40 "$work/build.log"; exit 1; }
    echo "image $image built in $(( $(date +%s) - started )) s, $(podman image inspect "$image" --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}')"
fi

export STOWAGE_IMAGE=$image POSTGRES_IMAGE=$postgres STOWAGE_PORT=$port
STOWAGE_SERVER_KEY=$(head -c 32 /dev/urandom | base64)
export STOWAGE_SERVER_KEY
compose=(podman-compose -p stowage-image-test -f docker/compose.yaml)
down() { "${compose[@]}" down -v >/dev/null 2>&1 || true; }
trap down EXIT
down
# The order compose.yaml's depends_on conditions give (PostgreSQL healthy, then the one-shot migration, then
# server and worker), driven step by step: podman 4.3 has no health-based dependencies, and podman-compose
# cannot hand it a dependency on a container that has already exited.
say "podman-compose: postgres, migrate, server and worker ($(podman-compose version 2>/dev/null | head -1))"
"${compose[@]}" up -d postgres > "$work/compose.log" 2>&1 || { cat "$work/compose.log"; exit 1; }
pg=$(podman ps --filter label=com.docker.compose.project=stowage-image-test \
    --filter label=com.docker.compose.service=postgres --format '{{.Names}}' | head -1)
for _ in $(seq 60); do podman exec "$pg" pg_isready -U stowage >/dev/null 2>&1 && break; sleep 1; done
podman exec "$pg" pg_isready -U stowage
"${compose[@]}" run --rm --no-deps migrate >> "$work/compose.log" 2>&1 || { cat "$work/compose.log"; exit 1; }
echo "migrations applied"
"${compose[@]}" up -d --no-deps server worker >> "$work/compose.log" 2>&1 || { cat "$work/compose.log"; exit 1; }

endpoint=http://127.0.0.1:$port
for _ in $(seq 120); do
    curl -fsS "$endpoint/readyz" >/dev/null 2>&1 && break
    sleep 1
done
curl -fsS "$endpoint/healthz" || { "${compose[@]}" ps; "${compose[@]}" logs 2>&1 | tail -60; exit 1; }
echo
server=$(podman ps --filter label=com.docker.compose.project=stowage-image-test \
    --filter label=com.docker.compose.service=server --format '{{.Names}}' | head -1)
say "stowage admin create-account inside $server"
account=$(podman exec "$server" stowage admin create-account --name image-test)
echo "$account" | grep -v secret
say "boto3 against $endpoint"
echo "$account" | python3 scripts/image_drive.py "$endpoint"
say "make test-image: passed"
