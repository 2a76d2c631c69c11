-- Delivering the outbox: a job that gave up is marked failed (visible to admins) instead of
-- being retried for ever; claims look for due, unclaimed jobs through jobs_due_idx.
ALTER TABLE jobs ADD COLUMN failed_at BIGINT;
