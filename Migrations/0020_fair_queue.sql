-- Issue 23, item 8: the job queue is shared fairly between accounts. A worker takes jobs round-robin across the
-- accounts that have some due (one account's thousand failing webhooks no longer stand in front of another's
-- reconcile job), webhook deliveries are capped per account while they run and while they wait, and only an
-- account's latest dead jobs of a kind are kept.

-- Pending jobs by account: the accounts with work are found by skipping from one account to the next (a loose
-- index scan, one probe per account), and each account's due jobs come in run order.
CREATE INDEX jobs_pending_by_account ON jobs (account_id, run_at) WHERE state = 'pending';

-- Live (pending or running) jobs by account and kind: an account's queued and in-flight webhook deliveries are
-- counted from here without reading its other jobs.
CREATE INDEX jobs_live_by_kind ON jobs (account_id, kind, state) WHERE state <> 'dead';

-- Dead jobs by account and kind, newest last: each keeps only its latest ones for inspection.
CREATE INDEX jobs_dead_by_kind ON jobs (account_id, kind, id) WHERE state = 'dead';
