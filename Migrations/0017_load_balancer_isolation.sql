-- Issue 23: one tenant's load balancer cannot stop another's. `stowage lb` leaves out of HAProxy's configuration
-- a load balancer whose part HAProxy refuses (or whose values cannot be written safely) and says why here, while
-- the others keep serving; a target the target policy refuses (an ip target in a forbidden range, a check on a
-- control-plane endpoint) is never given to HAProxy and is reported `unused` with the reason.
ALTER TABLE load_balancers ADD COLUMN state_reason text;

ALTER TABLE targets DROP CONSTRAINT targets_state_check;
ALTER TABLE targets ADD CONSTRAINT targets_state_check CHECK (state IN ('initial', 'healthy', 'unhealthy', 'draining', 'unused'));
