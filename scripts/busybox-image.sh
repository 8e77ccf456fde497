#!/usr/bin/env bash
# Makes localhost/busybox:latest from busybox-static through a Docker Engine API socket, so nothing is pulled.
set -euo pipefail
socket=${1:?docker socket}
api() { curl -sf --unix-socket "$socket" "$@"; }
if api "http://d/v1.41/images/localhost/busybox:latest/json" >/dev/null 2>&1; then exit 0; fi
tar=$("$(dirname "$0")/busybox-rootfs.sh")
changes=$(python3 -c 'import urllib.parse; print(urllib.parse.quote("CMD [\"/bin/sh\"]") + "&changes=" + urllib.parse.quote("ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin"))')
api -X POST -H 'Content-Type: application/x-tar' --data-binary "@$tar" \
    "http://d/v1.41/images/create?fromSrc=-&repo=localhost/busybox&tag=latest&changes=$changes" >/dev/null
rm -f "$tar"
