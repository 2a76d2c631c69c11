-- Idempotency keys are now claimed in the request's own write transaction and answered in it,
-- so a committed key always has its answer. Claims left unanswered by the old scheme (a
-- crashed or cut-off request) blocked every retry with their key: forget them, so the retry
-- runs the request.
DELETE FROM idempotency_keys WHERE status = 0;
