-- The job queue workers drain. Jobs about a tenant carry its account_id; system-wide
-- periodic jobs use the empty account ''. Finished jobs are deleted; dead ones stay
-- for inspection with their last error.
CREATE TABLE jobs (
    account_id    text NOT NULL,
    id            bigserial NOT NULL,
    kind          text NOT NULL,
    unique_key    text,
    payload       jsonb NOT NULL DEFAULT '{}',
    state         text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'dead')),
    attempts      integer NOT NULL DEFAULT 0,
    max_attempts  integer NOT NULL DEFAULT 10 CHECK (max_attempts > 0),
    run_at        timestamptz NOT NULL DEFAULT now(),
    leased_by     text,
    leased_until  timestamptz,
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id)
);

-- One pending job per (kind, subject): repeats coalesce into it.
CREATE UNIQUE INDEX jobs_one_pending ON jobs (account_id, kind, unique_key)
    WHERE state = 'pending' AND unique_key IS NOT NULL;
CREATE INDEX jobs_ready ON jobs (run_at) WHERE state = 'pending';
CREATE INDEX jobs_leases ON jobs (leased_until) WHERE state = 'running';

-- The last period each periodic job kind was enqueued for: a compare-and-set on it is
-- what keeps N workers from running the same period twice.
CREATE TABLE periodic_jobs (
    kind          text PRIMARY KEY,
    last_period   timestamptz NOT NULL
);
