-- Static stability: what the host-loss sweep needs to judge an agent only on time the control plane could
-- hear it, and heartbeats kept apart from the rows that state reports and API writes lock.

-- One row per instance with an agent. A poll or report upserts it in its own short statement, so a heartbeat
-- never queues behind a transaction holding the container instance's row.
CREATE TABLE instance_heartbeats (
    account_id        text NOT NULL,
    cluster_name      text NOT NULL,
    instance_id       text NOT NULL,
    last_heartbeat_at timestamptz NOT NULL,
    PRIMARY KEY (account_id, cluster_name, instance_id)
);
INSERT INTO instance_heartbeats (account_id, cluster_name, instance_id, last_heartbeat_at)
SELECT account_id, cluster_name, instance_id, last_heartbeat_at FROM container_instances WHERE last_heartbeat_at IS NOT NULL;
ALTER TABLE container_instances DROP COLUMN last_heartbeat_at;

-- The control plane's own pulse: every server ticks it each second. A gap longer than the tolerance means
-- nobody could hear agents (database down, every server down), so hearing restarts from `healthy_since`.
CREATE TABLE control_plane_health (
    id            int PRIMARY KEY CHECK (id = 1),
    last_tick_at  timestamptz NOT NULL,
    healthy_since timestamptz NOT NULL
);
INSERT INTO control_plane_health (id, last_tick_at, healthy_since) VALUES (1, now(), now());

-- What the control plane decided about a cluster as a whole (mass silence, rate-limited host loss).
CREATE TABLE cluster_events (
    account_id    text NOT NULL,
    cluster_name  text NOT NULL,
    event_id      text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    message       text NOT NULL,
    PRIMARY KEY (account_id, cluster_name, event_id)
);
CREATE INDEX cluster_events_recent ON cluster_events (account_id, cluster_name, created_at DESC);
