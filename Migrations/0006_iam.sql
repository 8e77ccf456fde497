-- IAM-like principals and policies, STS sessions, the audit trail and per-tenant quotas.

ALTER TABLE users ADD COLUMN path text NOT NULL DEFAULT '/';
ALTER TABLE users ADD COLUMN tags jsonb NOT NULL DEFAULT '[]';

CREATE TABLE iam_roles (
    account_id            text NOT NULL REFERENCES accounts (account_id),
    role_name             text NOT NULL,
    role_id               text NOT NULL,
    path                  text NOT NULL DEFAULT '/',
    description           text NOT NULL DEFAULT '',
    trust_policy          text NOT NULL,
    max_session_seconds   integer NOT NULL DEFAULT 3600 CHECK (max_session_seconds BETWEEN 3600 AND 43200),
    tags                  jsonb NOT NULL DEFAULT '[]',
    created_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, role_name)
);

CREATE TABLE iam_groups (
    account_id   text NOT NULL REFERENCES accounts (account_id),
    group_name   text NOT NULL,
    group_id     text NOT NULL,
    path         text NOT NULL DEFAULT '/',
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, group_name)
);

CREATE TABLE iam_group_members (
    account_id   text NOT NULL,
    group_name   text NOT NULL,
    user_name    text NOT NULL,
    PRIMARY KEY (account_id, group_name, user_name),
    FOREIGN KEY (account_id, group_name) REFERENCES iam_groups (account_id, group_name),
    FOREIGN KEY (account_id, user_name) REFERENCES users (account_id, user_name)
);
CREATE INDEX iam_group_members_by_user ON iam_group_members (account_id, user_name);

-- Customer managed policies; AWS-managed ones (AdministratorAccess, …) live in code.
CREATE TABLE iam_policies (
    account_id       text NOT NULL REFERENCES accounts (account_id),
    policy_name      text NOT NULL,
    policy_id        text NOT NULL,
    path             text NOT NULL DEFAULT '/',
    description      text NOT NULL DEFAULT '',
    default_version  integer NOT NULL,
    last_version     integer NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, policy_name)
);

CREATE TABLE iam_policy_versions (
    account_id    text NOT NULL,
    policy_name   text NOT NULL,
    version       integer NOT NULL,
    document      text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, policy_name, version),
    FOREIGN KEY (account_id, policy_name) REFERENCES iam_policies (account_id, policy_name) ON DELETE CASCADE
);

-- Managed policies attached to a user, role or group, by ARN.
CREATE TABLE iam_attachments (
    account_id       text NOT NULL REFERENCES accounts (account_id),
    principal_kind   text NOT NULL CHECK (principal_kind IN ('user', 'role', 'group')),
    principal_name   text NOT NULL,
    policy_arn       text NOT NULL,
    PRIMARY KEY (account_id, principal_kind, principal_name, policy_arn)
);
CREATE INDEX iam_attachments_by_policy ON iam_attachments (account_id, policy_arn);

CREATE TABLE iam_inline_policies (
    account_id       text NOT NULL REFERENCES accounts (account_id),
    principal_kind   text NOT NULL CHECK (principal_kind IN ('user', 'role', 'group')),
    principal_name   text NOT NULL,
    policy_name      text NOT NULL,
    document         text NOT NULL,
    PRIMARY KEY (account_id, principal_kind, principal_name, policy_name)
);

-- The account's policy version: every IAM write bumps it (which also orders an account's IAM writes)
-- and NOTIFYs stowage_iam, on which every server drops that account's cached policies and decisions.
CREATE TABLE iam_epochs (
    account_id   text PRIMARY KEY REFERENCES accounts (account_id),
    epoch        bigint NOT NULL DEFAULT 0
);

-- Temporary credentials from AssumeRole (and task roles). The key id encodes the account (ASIA…).
CREATE TABLE sts_sessions (
    account_id       text NOT NULL REFERENCES accounts (account_id),
    access_key_id    text NOT NULL,
    role_name        text NOT NULL,
    session_name     text NOT NULL,
    secret_sealed    bytea NOT NULL,
    token_sha256     text NOT NULL,
    session_policy   text,
    assumed_by       text NOT NULL,
    expires_at       timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, access_key_id)
);
CREATE INDEX sts_sessions_expiry ON sts_sessions (expires_at);

-- Every API call, allowed or not. Append-only: updates are refused; old days leave by partition drop.
CREATE TABLE audit_events (
    account_id      text NOT NULL,
    ts              timestamptz NOT NULL,
    event_id        text NOT NULL,
    principal_arn   text NOT NULL,
    action          text NOT NULL,
    resources       text[] NOT NULL DEFAULT '{}',
    source_ip       text NOT NULL DEFAULT '',
    request_id      text NOT NULL,
    allowed         boolean NOT NULL,
    error_code      text,
    error_message   text,
    PRIMARY KEY (account_id, ts, event_id)
) PARTITION BY RANGE (ts);
CREATE TABLE audit_events_default PARTITION OF audit_events DEFAULT;
CREATE INDEX audit_events_by_principal ON audit_events (account_id, principal_arn, ts);
CREATE INDEX audit_events_by_action ON audit_events (account_id, action, ts);
CREATE INDEX audit_events_by_resource ON audit_events USING gin (resources);

CREATE FUNCTION stowage_audit_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION stowage_audit_is_append_only();

SELECT stowage_maintain_partitions('audit_events', 1, 2, 90);

-- Per-account overrides of the configured quotas (clusters, services-per-cluster, …).
CREATE TABLE account_quotas (
    account_id   text NOT NULL REFERENCES accounts (account_id),
    quota_name   text NOT NULL,
    value        bigint NOT NULL CHECK (value >= 0),
    PRIMARY KEY (account_id, quota_name)
);
