-- tickets_updated_id_idx (0004) indexes exactly what tickets_updated_idx (0001) does,
-- (updated_at, id): every ticket insert and update paid for both, no query gains from the second.
DROP INDEX IF EXISTS tickets_updated_id_idx;
