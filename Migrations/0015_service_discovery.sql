-- AWS Cloud Map: namespaces, services and their instances, and the operations that changed them. ECS services
-- with `serviceRegistries` register their tasks here (task_id set); agents answer DNS from the healthy
-- instances of their tenant's DNS namespaces.

CREATE TABLE sd_namespaces (
    account_id          text NOT NULL REFERENCES accounts (account_id),
    id                  text NOT NULL,
    name                text NOT NULL,
    type                text NOT NULL CHECK (type IN ('DNS_PRIVATE', 'HTTP')),
    description         text,
    creator_request_id  text,
    vpc                 text,
    soa_ttl             int,
    tags                jsonb NOT NULL DEFAULT '[]',
    created_at          timestamptz NOT NULL,
    PRIMARY KEY (account_id, id),
    UNIQUE (account_id, name)
);

CREATE TABLE sd_services (
    account_id          text NOT NULL,
    id                  text NOT NULL,
    namespace_id        text NOT NULL,
    name                text NOT NULL,
    type                text NOT NULL,
    description         text,
    creator_request_id  text,
    dns_config          jsonb,
    custom_health       jsonb,
    tags                jsonb NOT NULL DEFAULT '[]',
    -- Bumped on every instance or health change: DiscoverInstances' InstancesRevision.
    revision            bigint NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL,
    PRIMARY KEY (account_id, id),
    UNIQUE (account_id, namespace_id, name),
    FOREIGN KEY (account_id, namespace_id) REFERENCES sd_namespaces (account_id, id)
);

CREATE TABLE sd_instances (
    account_id          text NOT NULL,
    service_id          text NOT NULL,
    instance_id         text NOT NULL,
    attributes          jsonb NOT NULL,
    creator_request_id  text,
    health              text NOT NULL CHECK (health IN ('HEALTHY', 'UNHEALTHY', 'UNKNOWN')),
    -- The ECS task this instance stands for (registered by a service's serviceRegistries), or NULL.
    task_id             text,
    updated_at          timestamptz NOT NULL,
    PRIMARY KEY (account_id, service_id, instance_id),
    FOREIGN KEY (account_id, service_id) REFERENCES sd_services (account_id, id) ON DELETE CASCADE
);
CREATE INDEX sd_instances_task ON sd_instances (task_id) WHERE task_id IS NOT NULL;

CREATE TABLE sd_operations (
    account_id   text NOT NULL REFERENCES accounts (account_id),
    id           text NOT NULL,
    type         text NOT NULL,
    status       text NOT NULL,
    targets      jsonb NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    PRIMARY KEY (account_id, id)
);

ALTER TABLE services ADD COLUMN service_registries jsonb NOT NULL DEFAULT '[]';
