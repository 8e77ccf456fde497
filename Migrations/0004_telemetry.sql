-- Logs and per-container metrics that agents ship. The event tables are partitioned by day so
-- retention drops whole partitions; a default partition catches timestamps outside the window.

CREATE TABLE log_groups (
    account_id      text NOT NULL,
    group_name      text NOT NULL,
    retention_days  integer,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, group_name)
);

CREATE TABLE log_streams (
    account_id      text NOT NULL,
    group_name      text NOT NULL,
    stream_name     text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    first_event_at  timestamptz,
    last_event_at   timestamptz,
    last_ingestion_at timestamptz,
    PRIMARY KEY (account_id, group_name, stream_name),
    FOREIGN KEY (account_id, group_name) REFERENCES log_groups (account_id, group_name)
);

CREATE TABLE log_events (
    account_id   text NOT NULL,
    group_name   text NOT NULL,
    stream_name  text NOT NULL,
    ts           timestamptz NOT NULL,
    seq          bigint GENERATED ALWAYS AS IDENTITY,
    ingested_at  timestamptz NOT NULL DEFAULT now(),
    message      text NOT NULL,
    PRIMARY KEY (account_id, group_name, stream_name, ts, seq)
) PARTITION BY RANGE (ts);
CREATE TABLE log_events_default PARTITION OF log_events DEFAULT;

CREATE TABLE task_metrics (
    account_id                text NOT NULL,
    cluster_name              text NOT NULL,
    task_id                   text NOT NULL,
    container_name            text NOT NULL,
    ts                        timestamptz NOT NULL,
    cpu_percent_host          double precision,
    cpu_percent_reserved      double precision,
    memory_bytes              bigint,
    memory_percent_reserved   double precision,
    network_rx_bytes          bigint,
    network_tx_bytes          bigint,
    block_read_bytes          bigint,
    block_write_bytes         bigint,
    PRIMARY KEY (account_id, cluster_name, task_id, container_name, ts)
) PARTITION BY RANGE (ts);
CREATE TABLE task_metrics_default PARTITION OF task_metrics DEFAULT;

-- Makes the daily partitions from `back` days ago to `ahead` days on, and drops those older than
-- `keep` days (rows of the default partition that old are deleted). Returns partitions dropped.
CREATE FUNCTION stowage_maintain_partitions(parent text, back integer, ahead integer, keep integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    day date;
    name text;
    dropped integer := 0;
    child record;
BEGIN
    FOR i IN -back..ahead LOOP
        day := current_date + i;
        name := parent || '_' || to_char(day, 'YYYYMMDD');
        IF to_regclass(name) IS NULL AND day >= current_date - keep THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                           name, parent, day::timestamptz, (day + 1)::timestamptz);
        END IF;
    END LOOP;
    FOR child IN
        SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = parent::regclass AND c.relname ~ ('^' || parent || '_[0-9]{8}$')
    LOOP
        IF to_date(right(child.relname, 8), 'YYYYMMDD') < current_date - keep THEN
            EXECUTE format('DROP TABLE %I', child.relname);
            dropped := dropped + 1;
        END IF;
    END LOOP;
    EXECUTE format('DELETE FROM %I WHERE ts < %L', parent || '_default', (current_date - keep)::timestamptz);
    RETURN dropped;
END;
$$;

SELECT stowage_maintain_partitions('log_events', 1, 2, 15);
SELECT stowage_maintain_partitions('task_metrics', 1, 2, 15);
