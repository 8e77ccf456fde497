#!/usr/bin/env bash
# make test: a throwaway PostgreSQL in a temporary directory, every Swift test, then the Python
# client tests (boto3, the AWS CLI, curl) against a real server process. Non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh test || exit 1
python3 scripts/check-layering.py || exit 1
began=$SECONDS
swift build --build-tests || exit 1
built=$SECONDS

tmp=$(mktemp -d /tmp/stowage-test.XXXXXX)
pgport=$((20000 + RANDOM % 20000))
bin=.build/debug/stowage
cleanup() {
    if [ -S "$tmp/podman/podman.sock" ]; then
        # Containers the tests left (agents' containers keep running by design when an agent stops).
        ids=$(curl -s --unix-socket "$tmp/podman/podman.sock" "http://d/v1.41/containers/json?all=true&filters=%7B%22label%22%3A%5B%22stowage.task%22%5D%7D" \
              | python3 -c "import json,sys; print(' '.join(c['Id'] for c in json.load(sys.stdin)))" 2>/dev/null)
        for id in $ids; do curl -s --unix-socket "$tmp/podman/podman.sock" -X DELETE "http://d/v1.41/containers/$id?force=true" >/dev/null; done
    fi
    scripts/podman.sh stop "$tmp/podman" >/dev/null 2>&1
    scripts/registry.sh stop "$tmp/registry" >/dev/null 2>&1
    "$bin" postgres stop --dir "$tmp/pg" --port "$pgport" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT

if ! url=$("$bin" postgres start --unsafe-fast --dir "$tmp/pg" --port "$pgport"); then
    echo "could not start PostgreSQL: $url" >&2
    cat "$tmp/pg/server.log" >&2 2>/dev/null
    exit 1
fi
export STOWAGE_TEST_DATABASE_URL="$url"

if ! socket=$(scripts/podman.sh start "$tmp/podman"); then
    echo "could not start Podman's Docker-compatible API service" >&2
    exit 1
fi
export STOWAGE_TEST_DOCKER_SOCKET="$socket"
export CONTAINERS_CONF="$tmp/podman/containers.conf"
export CONTAINERS_REGISTRIES_CONF="$tmp/podman/registries.conf"
# A local registry the image tests push to and pull from (127.0.0.1:5055, insecure for Podman: podman.sh).
if ! registry=$(scripts/registry.sh start "$tmp/registry" 5055); then
    echo "could not start the local registry" >&2
    exit 1
fi
export STOWAGE_TEST_REGISTRY="$registry"

status=0
# Streamed as it runs and kept for the summary below (Swift Testing writes its results to stderr).
swift_began=$SECONDS
swift test --skip-build 2>&1 | tee "$tmp/swift-test.log" || status=1
pytest_began=$SECONDS

STOWAGE_BIN="$PWD/$bin" python3 -m pytest pytests -q -p no:cacheprovider --junitxml="$tmp/pytest.xml" || status=1

# The ten slowest tests of the whole run and each phase's time: informational, it never changes the outcome.
python3 scripts/slowest-tests.py --swift-log "$tmp/swift-test.log" --junit "$tmp/pytest.xml" \
    --phase "build=$((built - began))" --phase "setup=$((swift_began - built))" \
    --phase "swift test=$((pytest_began - swift_began))" --phase "pytest=$((SECONDS - pytest_began))" \
    --phase "total=$SECONDS" || true

if [ "$status" = 0 ]; then echo "make test: all tests passed"; else echo "make test: FAILED" >&2; fi
exit "$status"
