# Sourced by the benchmark scripts: a release build, a private PostgreSQL, a migrated schema, and an
# account with an access key exported as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Sets $bin, $tmp, $port
# and $account, and cleans everything up on exit; scripts add background pids to the pids array.
scripts/install-deps.sh bench
if [ -n "${STOWAGE_BENCH_BIN:-}" ]; then
    bin=$STOWAGE_BENCH_BIN  # a quick look with another build; published figures come from the release build
else
    swift build -c release --product stowage >/dev/null
    bin=.build/release/stowage
fi

tmp=$(mktemp -d /tmp/stowage-bench.XXXXXX)
pgport=$((20000 + RANDOM % 20000))
port=$((40000 + RANDOM % 10000))
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
    "$bin" postgres stop --dir "$tmp/pg" --port "$pgport" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT

export STOWAGE_DATABASE_URL=$("$bin" postgres start --unsafe-fast --dir "$tmp/pg" --port "$pgport")
export STOWAGE_SERVER_KEY=$(openssl rand -base64 32)
export LOG_LEVEL=warning
"$bin" migrate >/dev/null
keys=$("$bin" admin create-account --name bench)
account=$(echo "$keys" | awk '/account_id/ {print $3}')
export AWS_ACCESS_KEY_ID=$(echo "$keys" | awk '/aws_access_key_id/ {print $3}')
export AWS_SECRET_ACCESS_KEY=$(echo "$keys" | awk '/aws_secret_access_key/ {print $3}')

"$bin" server --host 127.0.0.1 --port "$port" > "$tmp/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

# One wrk run: "requests/s p99 non-2xx" for CONNECTIONS connections to URL, with an optional Lua request script.
wrk_measure() {
    local out
    out=$(wrk -t1 -c"$1" -d"$DURATION" --latency ${3:+-s "$3"} "$2")
    echo "$(echo "$out" | awk '/Requests\/sec/ {print $2}') $(echo "$out" | awk '$1 == "99%" {print $2}') $(echo "$out" | awk '/Non-2xx/ {print $5}')"
}
