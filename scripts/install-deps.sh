#!/usr/bin/env bash
# Installs what Stowage needs when it is missing: the PostgreSQL server and zlib's headers (apt-get, as root) and,
# with "test", the Python clients the tests drive (boto3, the AWS CLI, pytest, openapi-spec-validator) and the
# browser the console's tests drive (Chromium, chromedriver, Selenium).
set -euo pipefail

have_pg_server() {
    local bindir
    bindir=$(pg_config --bindir 2>/dev/null || true)
    [ -n "$bindir" ] && [ -x "$bindir/initdb" ] && return 0
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}

apt_install() {
    if [ "$(id -u)" != 0 ]; then
        echo "missing: $* — install with: sudo apt-get install $*" >&2
        exit 1
    fi
    if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq; export APT_UPDATED=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! have_pg_server; then
    echo "installing PostgreSQL server..."
    apt_install postgresql
fi
if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
fi
command -v curl >/dev/null || apt_install curl
# zlib's headers: the API inflates gzip request bodies (botocore compresses large PutMetricData calls).
[ -f /usr/include/zlib.h ] || apt_install zlib1g-dev
# HAProxy: the load balancers' data plane (`stowage lb`, started by `make dev` and the tests).
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || apt_install haproxy
command -v swift >/dev/null || { echo "swift is not on PATH (Swift 6 toolchain required)" >&2; exit 1; }

if [ "${1:-}" = "test" ] || [ "${1:-}" = "bench" ]; then
    python3 -c "import boto3, pytest, openapi_spec_validator, yaml" 2>/dev/null \
        || python3 -m pip install -q boto3 pytest openapi-spec-validator pyyaml
    command -v aws >/dev/null || python3 -m pip install -q awscli
    python3 -c "import schemathesis, requests" 2>/dev/null || python3 -m pip install -q "schemathesis==4.32.5" requests
    command -v pgrep >/dev/null || apt_install procps
    # The console's browser tests and benchmark: Debian's headless Chromium and its driver, driven by Selenium
    # (run with SE_OFFLINE, so its manager never reaches for the internet).
    { [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; } || apt_install chromium chromium-driver
    python3 -c "import selenium" 2>/dev/null || python3 -m pip install -q "selenium==4.51.0"
fi
if [ "${1:-}" = "bench" ]; then
    command -v wrk >/dev/null || apt_install wrk
fi
