-- Issue 25: awsvpc tasks get addresses of their own. Every awsvpc-capable instance holds one /24 of 100.64.0.0/10
-- (RFC 6598 shared space), by index 0..16383, unique across the platform so that hosts can route to each other's
-- tasks: a platform table like control_plane_endpoints, not a tenant's (the index is what must not repeat, whoever
-- holds it). The lowest free index is taken at registration and freed at deregistration.
CREATE TABLE task_subnets (
    subnet_index  int PRIMARY KEY CHECK (subnet_index BETWEEN 0 AND 16383),
    account_id    text NOT NULL REFERENCES accounts (account_id),
    cluster_name  text NOT NULL,
    instance_id   text NOT NULL,
    UNIQUE (account_id, cluster_name, instance_id)
);

-- The address the agent reported for an awsvpc task (inside its instance's task subnet, checked on report).
ALTER TABLE tasks ADD COLUMN private_ipv4_address text;
-- Who holds an address now: a tenant's ip target must be its own task's, and `stowage lb` refuses a target whose
-- address another task has since taken.
CREATE INDEX tasks_live_private_ipv4_address ON tasks (private_ipv4_address)
    WHERE private_ipv4_address IS NOT NULL AND last_status <> 'STOPPED';
