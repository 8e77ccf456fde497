-- Services, their deployments and events, and tasks.

CREATE TABLE services (
    account_id                  text NOT NULL,
    cluster_name                text NOT NULL,
    service_name                text NOT NULL,
    status                      text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'DRAINING', 'INACTIVE')),
    desired_count               integer NOT NULL CHECK (desired_count >= 0),
    scheduling_strategy         text NOT NULL DEFAULT 'REPLICA' CHECK (scheduling_strategy IN ('REPLICA', 'DAEMON')),
    deployment_configuration    jsonb NOT NULL,
    placement_constraints       jsonb NOT NULL DEFAULT '[]',
    placement_strategy          jsonb NOT NULL DEFAULT '[]',
    health_check_grace_seconds  integer NOT NULL DEFAULT 0,
    tags                        jsonb NOT NULL DEFAULT '[]',
    client_token                text,
    created_by                  text,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    version                     bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (account_id, cluster_name, service_name),
    FOREIGN KEY (account_id, cluster_name) REFERENCES clusters (account_id, cluster_name)
);

CREATE TABLE deployments (
    account_id            text NOT NULL,
    cluster_name          text NOT NULL,
    service_name          text NOT NULL,
    deployment_id         text NOT NULL,
    status                text NOT NULL CHECK (status IN ('PRIMARY', 'ACTIVE', 'INACTIVE')),
    family                text NOT NULL,
    revision              integer NOT NULL,
    rollout_state         text NOT NULL DEFAULT 'IN_PROGRESS' CHECK (rollout_state IN ('IN_PROGRESS', 'COMPLETED', 'FAILED')),
    rollout_state_reason  text,
    created_at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, cluster_name, service_name, deployment_id),
    FOREIGN KEY (account_id, cluster_name, service_name) REFERENCES services (account_id, cluster_name, service_name)
);
CREATE UNIQUE INDEX deployments_one_primary ON deployments (account_id, cluster_name, service_name) WHERE status = 'PRIMARY';

CREATE TABLE service_events (
    account_id    text NOT NULL,
    cluster_name  text NOT NULL,
    service_name  text NOT NULL,
    event_id      text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    message       text NOT NULL,
    PRIMARY KEY (account_id, cluster_name, service_name, event_id)
);
CREATE INDEX service_events_recent ON service_events (account_id, cluster_name, service_name, created_at DESC);

CREATE TABLE tasks (
    account_id            text NOT NULL,
    cluster_name          text NOT NULL,
    task_id               text NOT NULL,
    family                text NOT NULL,
    revision              integer NOT NULL,
    service_name          text,
    deployment_id         text,
    started_by            text,
    task_group            text NOT NULL,
    instance_id           text,
    -- StartTask and DAEMON services name the one instance a task may go to.
    required_instance_id  text,
    last_status           text NOT NULL DEFAULT 'PROVISIONING',
    desired_status        text NOT NULL DEFAULT 'RUNNING' CHECK (desired_status IN ('RUNNING', 'STOPPED')),
    health_status         text NOT NULL DEFAULT 'UNKNOWN',
    cpu                   integer NOT NULL DEFAULT 0,
    memory                integer NOT NULL DEFAULT 0,
    overrides             jsonb,
    containers            jsonb NOT NULL DEFAULT '[]',
    placement_constraints jsonb NOT NULL DEFAULT '[]',
    placement_strategy    jsonb NOT NULL DEFAULT '[]',
    tags                  jsonb NOT NULL DEFAULT '[]',
    stopped_reason        text,
    stop_code             text,
    client_token          text,
    created_at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    pull_started_at       timestamptz,
    started_at            timestamptz,
    stopping_at           timestamptz,
    stopped_at            timestamptz,
    version               bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (account_id, cluster_name, task_id),
    FOREIGN KEY (account_id, cluster_name) REFERENCES clusters (account_id, cluster_name)
);
CREATE INDEX tasks_on_instance ON tasks (account_id, cluster_name, instance_id) WHERE last_status <> 'STOPPED';
CREATE INDEX tasks_of_service ON tasks (account_id, cluster_name, service_name, created_at);
CREATE INDEX tasks_unplaced ON tasks (account_id, cluster_name, created_at)
    WHERE instance_id IS NULL AND desired_status = 'RUNNING' AND last_status <> 'STOPPED';
CREATE INDEX tasks_live ON tasks (account_id, cluster_name) WHERE last_status <> 'STOPPED';
CREATE INDEX tasks_client_token ON tasks (account_id, cluster_name, client_token) WHERE client_token IS NOT NULL;

-- What agents last reported, so reports apply once and in order.
ALTER TABLE container_instances ADD COLUMN report_sequence bigint NOT NULL DEFAULT 0;
ALTER TABLE container_instances ADD COLUMN last_heartbeat_at timestamptz;
