-- Elastic Load Balancing v2: application load balancers, their listeners and rules, target groups and their
-- targets. `stowage lb` renders HAProxy's configuration from these rows, applies target changes through
-- HAProxy's runtime API, and writes the health it sees back into `targets`.

CREATE TABLE load_balancers (
    account_id       text NOT NULL REFERENCES accounts (account_id),
    name             text NOT NULL,
    -- The 16 hex digits in the ARN (app/<name>/<id>).
    id               text NOT NULL UNIQUE,
    scheme           text NOT NULL,
    ip_address_type  text NOT NULL,
    -- The address its listeners bind on, allocated from the operator's pool; one load balancer per address,
    -- across tenants, so two tenants' listeners on port 80 never collide.
    address          inet NOT NULL UNIQUE,
    state            text NOT NULL DEFAULT 'provisioning',
    tags             jsonb NOT NULL DEFAULT '[]',
    created_at       timestamptz NOT NULL,
    PRIMARY KEY (account_id, name)
);

CREATE TABLE target_groups (
    account_id   text NOT NULL REFERENCES accounts (account_id),
    name         text NOT NULL,
    id           text NOT NULL UNIQUE,
    protocol     text NOT NULL,
    port         int NOT NULL,
    target_type  text NOT NULL CHECK (target_type IN ('instance', 'ip')),
    health       jsonb NOT NULL,
    attributes   jsonb NOT NULL,
    tags         jsonb NOT NULL DEFAULT '[]',
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (account_id, name)
);

CREATE TABLE listeners (
    account_id        text NOT NULL REFERENCES accounts (account_id),
    id                text NOT NULL UNIQUE,
    load_balancer_id  text NOT NULL REFERENCES load_balancers (id) ON DELETE CASCADE,
    protocol          text NOT NULL,
    port              int NOT NULL,
    default_actions   jsonb NOT NULL,
    tags              jsonb NOT NULL DEFAULT '[]',
    PRIMARY KEY (account_id, id),
    UNIQUE (load_balancer_id, port)
);

CREATE TABLE listener_rules (
    account_id   text NOT NULL REFERENCES accounts (account_id),
    id           text NOT NULL UNIQUE,
    listener_id  text NOT NULL REFERENCES listeners (id) ON DELETE CASCADE,
    priority     int NOT NULL CHECK (priority BETWEEN 1 AND 50000),
    conditions   jsonb NOT NULL,
    actions      jsonb NOT NULL,
    tags         jsonb NOT NULL DEFAULT '[]',
    PRIMARY KEY (account_id, id),
    -- Deferrable: SetRulePriorities swaps priorities within one statement list.
    CONSTRAINT listener_rules_priority UNIQUE (listener_id, priority) DEFERRABLE INITIALLY DEFERRED
);

-- Which target groups each listener and rule forwards to (kept with the actions, in the same transaction), so
-- "is this group in use" and "which load balancers serve it" are joins, not scans of JSON.
CREATE TABLE forwards (
    listener_id      text NOT NULL REFERENCES listeners (id) ON DELETE CASCADE,
    rule_id          text REFERENCES listener_rules (id) ON DELETE CASCADE,
    target_group_id  text NOT NULL REFERENCES target_groups (id)
);
CREATE INDEX forwards_target_group ON forwards (target_group_id);
CREATE INDEX forwards_listener ON forwards (listener_id);

CREATE TABLE targets (
    account_id         text NOT NULL REFERENCES accounts (account_id),
    target_group_id    text NOT NULL REFERENCES target_groups (id) ON DELETE CASCADE,
    target_id          text NOT NULL,
    port               int NOT NULL,
    availability_zone  text,
    -- Where HAProxy connects: the instance's address for instance targets, the id itself for ip targets.
    address            text NOT NULL,
    state              text NOT NULL CHECK (state IN ('initial', 'healthy', 'unhealthy', 'draining')),
    reason             text,
    description        text,
    registered_at      timestamptz NOT NULL,
    -- Set by DeregisterTargets: routing to it has ended; the row goes once the group's deregistration delay passes.
    draining_until     timestamptz,
    -- The ECS task (its id) that registered it through its service's loadBalancers, so its stop deregisters it.
    task_id            text,
    PRIMARY KEY (account_id, target_group_id, target_id, port),
    UNIQUE (target_group_id, target_id, port)
);
CREATE INDEX targets_task ON targets (task_id) WHERE task_id IS NOT NULL;
CREATE INDEX targets_draining ON targets (draining_until) WHERE draining_until IS NOT NULL;
