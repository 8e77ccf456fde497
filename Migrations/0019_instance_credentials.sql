-- Issue 23, item 4: an agent speaks for its own host only. Registration gives each container instance a
-- credential of its own (AIIA… key ids); every /agent/v1 route takes only the instance's own credential for the
-- instance in its path. A re-registration, or a rotation, issues a new one and ends the earlier ones a few minutes
-- later (expires_at), so an agent is never cut off while it switches.
CREATE TABLE instance_credentials (
    account_id     text NOT NULL REFERENCES accounts (account_id),
    access_key_id  text NOT NULL,
    cluster        text NOT NULL,
    instance_id    text NOT NULL,
    secret_sealed  bytea NOT NULL,
    created_at     timestamptz NOT NULL,
    expires_at     timestamptz,
    PRIMARY KEY (account_id, access_key_id)
);
CREATE INDEX instance_credentials_instance ON instance_credentials (account_id, cluster, instance_id);
