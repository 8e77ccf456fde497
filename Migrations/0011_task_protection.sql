-- ECS task scale-in protection: until when a service's task is kept out of scale-in and deployments.
ALTER TABLE tasks ADD COLUMN protected_until timestamptz;
