-- Tenants, their principals and credentials, and the first ECS resources.
-- Every tenant-owned table leads its primary key with account_id: that is the
-- isolation boundary and the distribution column if the data is ever sharded.

CREATE TABLE accounts (
    account_id  text PRIMARY KEY CHECK (account_id ~ '^[0-9]{12}$'),
    name        text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    account_id  text NOT NULL REFERENCES accounts (account_id),
    user_name   text NOT NULL,
    user_id     text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, user_name)
);

-- The access key id encodes the account id (as AWS's do), so a lookup stays
-- within one account without a global index.
CREATE TABLE access_keys (
    account_id        text NOT NULL REFERENCES accounts (account_id),
    access_key_id     text NOT NULL,
    user_name         text NOT NULL,
    secret_sealed     bytea NOT NULL,
    status            text NOT NULL DEFAULT 'Active' CHECK (status IN ('Active', 'Inactive')),
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, access_key_id),
    FOREIGN KEY (account_id, user_name) REFERENCES users (account_id, user_name)
);

CREATE TABLE clusters (
    account_id     text NOT NULL REFERENCES accounts (account_id),
    cluster_name   text NOT NULL,
    status         text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'INACTIVE')),
    settings       jsonb NOT NULL DEFAULT '[]',
    configuration  jsonb,
    tags           jsonb NOT NULL DEFAULT '[]',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    version        bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (account_id, cluster_name)
);

-- The revision counter per family; revisions are never reused, even after deletion.
CREATE TABLE task_definition_families (
    account_id     text NOT NULL REFERENCES accounts (account_id),
    family         text NOT NULL,
    last_revision  integer NOT NULL,
    PRIMARY KEY (account_id, family)
);

CREATE TABLE task_definitions (
    account_id       text NOT NULL,
    family           text NOT NULL,
    revision         integer NOT NULL,
    status           text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'INACTIVE', 'DELETE_IN_PROGRESS')),
    body             jsonb NOT NULL,
    tags             jsonb NOT NULL DEFAULT '[]',
    registered_by    text,
    registered_at    timestamptz NOT NULL DEFAULT now(),
    deregistered_at  timestamptz,
    PRIMARY KEY (account_id, family, revision),
    FOREIGN KEY (account_id, family) REFERENCES task_definition_families (account_id, family)
);
CREATE INDEX task_definitions_status ON task_definitions (account_id, status, family, revision);

CREATE TABLE container_instances (
    account_id            text NOT NULL,
    cluster_name          text NOT NULL,
    instance_id           text NOT NULL,
    ec2_instance_id       text NOT NULL,
    status                text NOT NULL DEFAULT 'ACTIVE'
                          CHECK (status IN ('ACTIVE', 'DRAINING', 'REGISTERING', 'DEREGISTERING', 'INACTIVE')),
    status_reason         text,
    agent_connected       boolean NOT NULL DEFAULT true,
    registered_resources  jsonb NOT NULL DEFAULT '[]',
    remaining_resources   jsonb NOT NULL DEFAULT '[]',
    attributes            jsonb NOT NULL DEFAULT '[]',
    version_info          jsonb,
    tags                  jsonb NOT NULL DEFAULT '[]',
    registered_at         timestamptz NOT NULL DEFAULT now(),
    version               bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (account_id, cluster_name, instance_id),
    FOREIGN KEY (account_id, cluster_name) REFERENCES clusters (account_id, cluster_name)
);
CREATE INDEX container_instances_status ON container_instances (account_id, cluster_name, status);
CREATE UNIQUE INDEX container_instances_ec2 ON container_instances (account_id, cluster_name, ec2_instance_id)
    WHERE status <> 'INACTIVE';
