-- ECS services behind load balancers: a service's `loadBalancers` (target group, container, port), and the
-- time until which a stopping task keeps running while its targets drain (the agent sees it as RUNNING until then).

ALTER TABLE services ADD COLUMN load_balancers jsonb NOT NULL DEFAULT '[]';
ALTER TABLE tasks ADD COLUMN stop_after timestamptz;
