#!/usr/bin/env bash
# The outage matrix: every control-plane fault of test_chaos.py, with the database down 10 s, 70 s and 5 min.
# Starts Podman and uses the debug build as make test does; prints the FIGURE lines the tests write.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test || exit 1
swift build || exit 1
tmp=$(mktemp -d /tmp/stowage-chaos.XXXXXX)
cleanup() { scripts/podman.sh stop "$tmp/podman" >/dev/null 2>&1; rm -rf "$tmp"; }
trap cleanup EXIT
socket=$(scripts/podman.sh start "$tmp/podman") || { echo "could not start Podman" >&2; exit 1; }
export STOWAGE_TEST_DOCKER_SOCKET="$socket" CONTAINERS_CONF="$tmp/podman/containers.conf" STOWAGE_BIN="$PWD/.build/debug/stowage"
status=0
for seconds in 10 70 300; do
    echo "== database down ${seconds} s"
    STOWAGE_CHAOS_OUTAGE=$seconds python3 -m pytest pytests/test_chaos.py -q -s -p no:cacheprovider \
        -k "outage and database" > "$tmp/run.log" 2>&1 || status=1
    grep -E "FIGURE|passed|failed|Error" "$tmp/run.log"
done
echo "== the only server down 30 s; all workers down 30 s; kill -9 during a rollout and during a write burst"
python3 -m pytest pytests/test_chaos.py -q -s -p no:cacheprovider -k "not database" > "$tmp/run.log" 2>&1 || status=1
grep -E "FIGURE|passed|failed|Error" "$tmp/run.log"
exit $status
