#!/usr/bin/env bash
# A local OCI registry (Debian's docker-registry, the CNCF distribution registry) for images to be pushed to and
# pulled from, as kind and k3d users do. Plain HTTP on loopback; scripts/podman.sh marks it insecure for Podman.
#   scripts/registry.sh start DIR PORT [HTPASSWD]   -> prints 127.0.0.1:PORT (HTPASSWD: bcrypt users; pulls need them)
#   scripts/registry.sh stop DIR
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?directory}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

if [ "$cmd" = stop ]; then
    [ -f "$dir/registry.pid" ] && kill "$(cat "$dir/registry.pid")" 2>/dev/null || true
    rm -f "$dir/registry.pid"
    exit 0
fi
port=${3:?port}
htpasswd=${4:-}

if [ ! -x /usr/bin/docker-registry ]; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-registry >/dev/null
    else
        echo "missing docker-registry: sudo apt-get install docker-registry" >&2
        exit 1
    fi
fi

cat > "$dir/config.yml" <<CONF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
CONF
if [ -n "$htpasswd" ]; then
    cat >> "$dir/config.yml" <<CONF
auth:
  htpasswd:
    realm: stowage
    path: $htpasswd
CONF
fi
if ! { [ -f "$dir/registry.pid" ] && kill -0 "$(cat "$dir/registry.pid")" 2>/dev/null; }; then
    /usr/bin/docker-registry serve "$dir/config.yml" > "$dir/registry.log" 2>&1 &
    echo $! > "$dir/registry.pid"
    # Up once /v2/ answers at all (401 from a registry with passwords).
    answers() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/")" != 000 ]; }
    for _ in $(seq 100); do answers && break; sleep 0.1; done
    answers || { kill "$(cat "$dir/registry.pid")" 2>/dev/null; echo "registry did not start; see $dir/registry.log" >&2; exit 1; }
fi
echo "127.0.0.1:$port"
