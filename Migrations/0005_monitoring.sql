-- Issue 5: CloudWatch-style metrics (series + per-minute rollups with a quantile sketch), alarms,
-- and Application Auto Scaling for services.

-- One row per metric series: namespace, name and the exact dimension set (CloudWatch's identity).
CREATE TABLE metric_series (
    account_id     text NOT NULL,
    series_id      bigint GENERATED ALWAYS AS IDENTITY,
    namespace      text NOT NULL,
    metric_name    text NOT NULL,
    -- [{"Name": …, "Value": …}] sorted by Name; dimension_key is its canonical text, for uniqueness.
    dimensions     jsonb NOT NULL,
    dimension_key  text NOT NULL,
    unit           text NOT NULL DEFAULT 'None',
    last_seen_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, series_id),
    UNIQUE (account_id, namespace, metric_name, dimension_key)
);
CREATE INDEX metric_series_dimensions ON metric_series USING gin (dimensions jsonb_path_ops);

-- Per series per minute: count, sum, min, max and a quantile sketch. The primary key is the
-- one-series time-range index: a day of one series is 1,440 adjacent index entries however many
-- series the tenant has. Day partitions; retention drops whole partitions.
CREATE TABLE metric_rollups (
    account_id    text NOT NULL,
    series_id     bigint NOT NULL,
    ts            timestamptz NOT NULL,
    sample_count  double precision NOT NULL,
    sum           double precision NOT NULL,
    minimum       double precision NOT NULL,
    maximum       double precision NOT NULL,
    sketch        bigint[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (account_id, series_id, ts)
) PARTITION BY RANGE (ts);
CREATE TABLE metric_rollups_default PARTITION OF metric_rollups DEFAULT;
SELECT stowage_maintain_partitions('metric_rollups', 15, 2, 15);

-- The sketch encoding of Sources/StowageMonitoring/Sketch.swift (QuantileSketch): keep in step.
-- Bucket of a value: 0 near zero, ±(1 + ⌈log_γ(|v| / 1e-9)⌉) otherwise, γ = 1.01 / 0.99.
CREATE FUNCTION stowage_sketch_key(v double precision) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN abs(v) < 1e-9 THEN 0
                ELSE sign(v)::integer * (ceil(ln(abs(v) / 1e-9) / ln(1.01 / 0.99))::integer + 1) END
$$;

-- Merges two encoded sketches ((key + 2^20) << 32 | count, sorted), folding the lowest buckets
-- together beyond 2,048.
CREATE FUNCTION stowage_sketch_merge(a bigint[], b bigint[]) RETURNS bigint[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH m AS (SELECT e >> 32 AS k, sum(e & 4294967295) AS c FROM unnest(a || b) AS e GROUP BY 1),
         r AS (SELECT k, c, row_number() OVER (ORDER BY k DESC) AS rn FROM m),
         f AS (SELECT k AS floor_key FROM r WHERE rn = 2048)
    SELECT coalesce(array_agg((kk << 32) | cc ORDER BY kk), '{}')
    FROM (SELECT greatest(r.k, coalesce((SELECT floor_key FROM f), r.k)) AS kk, least(sum(r.c), 4294967295)::bigint AS cc
          FROM r GROUP BY 1) s
$$;

-- The encoded sketch of raw values.
CREATE FUNCTION stowage_sketch_build(vals double precision[]) RETURNS bigint[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT stowage_sketch_merge(coalesce(array_agg(((k + 1048576)::bigint << 32) | c), '{}'), '{}')
    FROM (SELECT stowage_sketch_key(v) AS k, count(*) AS c FROM unnest(vals) AS v WHERE v IS NOT NULL GROUP BY 1) s
$$;

-- One named resource's integerValue (CPU, MEMORY) in an ECS resource list, as container_instances stores them.
CREATE FUNCTION stowage_resource(resources jsonb, resource text) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT max((r->>'integerValue')::float8) FROM jsonb_array_elements(resources) r WHERE r->>'name' = resource
$$;

-- FilterLogEvents walks a group's streams together in time order.
CREATE INDEX log_events_by_group_time ON log_events (account_id, group_name, ts, seq);

CREATE TABLE alarms (
    account_id         text NOT NULL,
    alarm_name         text NOT NULL,
    -- The PutMetricAlarm request as given (CloudWatch's shape), so DescribeAlarms returns it back.
    definition         jsonb NOT NULL,
    state_value        text NOT NULL DEFAULT 'INSUFFICIENT_DATA' CHECK (state_value IN ('OK', 'ALARM', 'INSUFFICIENT_DATA')),
    state_reason       text NOT NULL DEFAULT 'Unchecked: Initial alarm creation',
    state_reason_data  text,
    state_updated_at   timestamptz NOT NULL DEFAULT now(),
    configuration_updated_at timestamptz NOT NULL DEFAULT now(),
    evaluated_at       timestamptz,
    PRIMARY KEY (account_id, alarm_name)
);

CREATE TABLE alarm_history (
    account_id     text NOT NULL,
    alarm_name     text NOT NULL,
    ts             timestamptz NOT NULL DEFAULT clock_timestamp(),
    seq            bigint GENERATED ALWAYS AS IDENTITY,
    item_type      text NOT NULL,
    summary        text NOT NULL,
    data           jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (account_id, alarm_name, ts, seq)
);
CREATE INDEX alarm_history_recent ON alarm_history (account_id, ts DESC);

-- The key webhook bodies are signed with (HMAC-SHA256), one per account, made on first use.
CREATE TABLE webhook_secrets (
    account_id  text NOT NULL PRIMARY KEY,
    secret      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE scalable_targets (
    account_id          text NOT NULL,
    resource_id         text NOT NULL,   -- service/<cluster>/<service>
    scalable_dimension  text NOT NULL,   -- ecs:service:DesiredCount
    cluster_name        text NOT NULL,
    service_name        text NOT NULL,
    min_capacity        integer NOT NULL CHECK (min_capacity >= 0),
    max_capacity        integer NOT NULL,
    suspended_state     jsonb NOT NULL DEFAULT '{}',
    created_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (min_capacity <= max_capacity),
    PRIMARY KEY (account_id, resource_id, scalable_dimension)
);

CREATE TABLE scaling_policies (
    account_id          text NOT NULL,
    resource_id         text NOT NULL,
    scalable_dimension  text NOT NULL,
    policy_name         text NOT NULL,
    policy_type         text NOT NULL CHECK (policy_type IN ('TargetTrackingScaling', 'StepScaling')),
    configuration       jsonb NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    last_scale_out_at   timestamptz,
    last_scale_in_at    timestamptz,
    PRIMARY KEY (account_id, resource_id, scalable_dimension, policy_name),
    FOREIGN KEY (account_id, resource_id, scalable_dimension)
        REFERENCES scalable_targets (account_id, resource_id, scalable_dimension) ON DELETE CASCADE
);

CREATE TABLE scheduled_actions (
    account_id          text NOT NULL,
    resource_id         text NOT NULL,
    scalable_dimension  text NOT NULL,
    action_name         text NOT NULL,
    schedule            text NOT NULL,
    start_time          timestamptz,
    end_time            timestamptz,
    min_capacity        integer,
    max_capacity        integer,
    created_at          timestamptz NOT NULL DEFAULT now(),
    last_fired_at       timestamptz,
    PRIMARY KEY (account_id, resource_id, scalable_dimension, action_name),
    FOREIGN KEY (account_id, resource_id, scalable_dimension)
        REFERENCES scalable_targets (account_id, resource_id, scalable_dimension) ON DELETE CASCADE
);

CREATE TABLE scaling_activities (
    account_id          text NOT NULL,
    resource_id         text NOT NULL,
    activity_id         text NOT NULL,
    scalable_dimension  text NOT NULL,
    description         text NOT NULL,
    cause               text NOT NULL,
    status_code         text NOT NULL,
    status_message      text,
    start_time          timestamptz NOT NULL DEFAULT clock_timestamp(),
    end_time            timestamptz,
    PRIMARY KEY (account_id, resource_id, activity_id)
);
CREATE INDEX scaling_activities_recent ON scaling_activities (account_id, resource_id, start_time DESC);
