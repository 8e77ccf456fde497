#!/usr/bin/env bash
# make bench-fleet: one release server and one worker, a simulated fleet of INSTANCES agents speaking the real
# agent protocol over HTTP (scripts/fleet_sim.py), services scaled from 0 to TASKS tasks. Prints one JSON line
# per run: time until every task is RUNNING as the agents report it, tasks/s, server CPU and RSS, and the p99
# of an unrelated DescribeClusters meanwhile. With no INSTANCES/TASKS it runs the matrix 1,000/5,000 x 10,000/50,000.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${INSTANCES:-}" ]; then
    for instances in 1000 5000; do
        for tasks in 10000 50000; do INSTANCES=$instances TASKS=$tasks "$0"; done
    done
    exit 0
fi
source scripts/bench-env.sh
"$bin" worker > "$tmp/worker.log" 2>&1 &
pids+=($!)
server_pid=${pids[0]}
python3 scripts/fleet_sim.py "http://127.0.0.1:$port" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$INSTANCES" "$TASKS" "$server_pid"
# Tasks the control plane stopped during the run, by reason (a healthy fleet under load should show none).
psql "${STOWAGE_DATABASE_URL/postgres:\/\//postgresql://}" -tAc \
    "SELECT json_build_object('stopped_by_control_plane', coalesce(json_object_agg(reason, n), '{}'))
     FROM (SELECT left(coalesce(stopped_reason, ''), 40) AS reason, count(*) AS n FROM tasks
           WHERE desired_status = 'STOPPED' GROUP BY 1) r"
