-- Issue 25: Fargate launch types and capacity providers. How a task or service is launched (launch type or capacity
-- provider strategy, platform version, awsvpc configuration; on a task, the provider placement chose) is one jsonb
-- value, read and written whole with the row.
ALTER TABLE tasks ADD COLUMN launch jsonb;
ALTER TABLE services ADD COLUMN launch jsonb;

-- The capacity providers a cluster may use (FARGATE, FARGATE_SPOT and the account's own) and its default strategy,
-- used by RunTask and CreateService calls that name neither a launch type nor a strategy.
ALTER TABLE clusters ADD COLUMN capacity_providers jsonb NOT NULL DEFAULT '[]';
ALTER TABLE clusters ADD COLUMN default_capacity_provider_strategy jsonb NOT NULL DEFAULT '[]';

-- An account's own capacity providers: Stowage's instance groups, whose capacity is the instances with attribute
-- stowage.capacity-provider = name. FARGATE and FARGATE_SPOT are built in and never rows.
CREATE TABLE capacity_providers (
    account_id  text NOT NULL REFERENCES accounts (account_id),
    name        text NOT NULL CHECK (name NOT IN ('FARGATE', 'FARGATE_SPOT')),
    -- The cluster a provider made for one cluster belongs to (CreateCapacityProvider's cluster); NULL: any cluster.
    cluster_name text,
    tags        jsonb NOT NULL DEFAULT '[]',
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, name)
);
