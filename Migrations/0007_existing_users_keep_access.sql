-- Before IAM policies existed every user could do anything in its own account. Users created before
-- 0006 keep that access (AdministratorAccess attached) instead of being locked out by the upgrade;
-- users made afterwards start with no permissions, as in IAM. Only users without any attachment, inline
-- policy or group are touched, so running it after policies were assigned changes nothing.
INSERT INTO iam_attachments (account_id, principal_kind, principal_name, policy_arn)
SELECT u.account_id, 'user', u.user_name, 'arn:aws:iam::aws:policy/AdministratorAccess'
FROM users u
WHERE u.created_at < (SELECT min(applied_at) FROM schema_migrations WHERE version = 6)
  AND NOT EXISTS (SELECT 1 FROM iam_attachments a WHERE a.account_id = u.account_id AND a.principal_kind = 'user' AND a.principal_name = u.user_name)
  AND NOT EXISTS (SELECT 1 FROM iam_inline_policies i WHERE i.account_id = u.account_id AND i.principal_kind = 'user' AND i.principal_name = u.user_name)
  AND NOT EXISTS (SELECT 1 FROM iam_group_members g WHERE g.account_id = u.account_id AND g.user_name = u.user_name);

INSERT INTO iam_epochs (account_id, epoch) SELECT account_id, 1 FROM accounts
ON CONFLICT (account_id) DO UPDATE SET epoch = iam_epochs.epoch + 1;
