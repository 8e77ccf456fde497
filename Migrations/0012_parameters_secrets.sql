-- Parameter Store and Secrets Manager. Values are never stored in clear: each is sealed (AES-GCM) under its
-- tenant's data key, and the data keys are sealed under the server key, so rotating the server key rewraps a
-- few rows per tenant instead of re-encrypting every value.

CREATE TABLE data_keys (
    account_id     text NOT NULL REFERENCES accounts (account_id),
    version        int NOT NULL,
    wrapped        bytea NOT NULL,
    -- Which server key wrapped it (a hash prefix of the key, never the key): rotation rewraps the others.
    server_key_id  text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, version)
);

CREATE TABLE parameters (
    account_id      text NOT NULL REFERENCES accounts (account_id),
    name            text NOT NULL,
    version         int NOT NULL,
    tags            jsonb NOT NULL DEFAULT '[]',
    PRIMARY KEY (account_id, name)
);

CREATE TABLE parameter_versions (
    account_id       text NOT NULL,
    name             text NOT NULL,
    version          int NOT NULL,
    type             text NOT NULL CHECK (type IN ('String', 'StringList', 'SecureString')),
    sealed           bytea NOT NULL,
    key_version      int NOT NULL,
    description      text,
    allowed_pattern  text,
    tier             text NOT NULL,
    data_type        text NOT NULL,
    labels           text[] NOT NULL DEFAULT '{}',
    modified_at      timestamptz NOT NULL,
    modified_by      text NOT NULL,
    PRIMARY KEY (account_id, name, version),
    FOREIGN KEY (account_id, name) REFERENCES parameters (account_id, name) ON DELETE CASCADE,
    FOREIGN KEY (account_id, key_version) REFERENCES data_keys (account_id, version)
);

CREATE TABLE secrets (
    account_id     text NOT NULL REFERENCES accounts (account_id),
    name           text NOT NULL,
    -- The 6-character suffix AWS adds to a secret's ARN, so a re-created name never matches an old ARN.
    suffix         text NOT NULL,
    description    text,
    tags           jsonb NOT NULL DEFAULT '[]',
    created_at     timestamptz NOT NULL,
    changed_at     timestamptz NOT NULL,
    accessed_on    date,
    -- Set while scheduled for deletion: the secret is gone for good at this time (unless restored).
    deletion_at    timestamptz,
    deleted_at     timestamptz,
    PRIMARY KEY (account_id, name)
);

CREATE TABLE secret_versions (
    account_id   text NOT NULL,
    name         text NOT NULL,
    version_id   text NOT NULL,
    sealed       bytea NOT NULL,
    key_version  int NOT NULL,
    is_binary    boolean NOT NULL,
    stages       text[] NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (account_id, name, version_id),
    FOREIGN KEY (account_id, name) REFERENCES secrets (account_id, name) ON DELETE CASCADE,
    FOREIGN KEY (account_id, key_version) REFERENCES data_keys (account_id, version)
);
