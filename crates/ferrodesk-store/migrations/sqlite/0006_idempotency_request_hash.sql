-- Idempotency keys remember a hash of the request body, so a key reused for a different
-- request is refused instead of answering with another request's result.
ALTER TABLE idempotency_keys ADD COLUMN request_hash TEXT NOT NULL DEFAULT '';
