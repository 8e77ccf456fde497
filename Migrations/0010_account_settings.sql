-- ECS account settings: a principal's own value, or the account's default (principal = the account's root ARN).
CREATE TABLE account_settings (
    account_id    text NOT NULL REFERENCES accounts (account_id),
    principal_arn text NOT NULL,
    name          text NOT NULL,
    value         text NOT NULL,
    PRIMARY KEY (account_id, principal_arn, name)
);
