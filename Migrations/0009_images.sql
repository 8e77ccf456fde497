-- Images: when a task's pull ended (ECS's pullStoppedAt), and the digest each container image of a deployment
-- resolved to first, so every later task of the deployment runs the same bytes (ECS's versionConsistency).
ALTER TABLE tasks ADD COLUMN pull_stopped_at timestamptz;
ALTER TABLE deployments ADD COLUMN image_digests jsonb NOT NULL DEFAULT '{}';
