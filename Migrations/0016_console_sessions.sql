-- Web console sign-ins: a short-lived session per sign-in, named by its account and the SHA-256 of the token its
-- cookie holds (the token itself is never stored; the cookie names the account too, so a lookup stays in one tenant). The session acts as the access key it was made from, so deactivating
-- or deleting that key ends it; sign-out revokes it at once.

CREATE TABLE console_sessions (
    account_id      text NOT NULL REFERENCES accounts (account_id),
    token_sha256    text NOT NULL,
    access_key_id   text NOT NULL,
    principal_arn   text NOT NULL,
    csrf_token      text NOT NULL,
    source_ip       text NOT NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    PRIMARY KEY (account_id, token_sha256)
);

CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);

-- Calls made through the console say so in the audit trail (NULL: signed API calls).
ALTER TABLE audit_events ADD COLUMN via text;
