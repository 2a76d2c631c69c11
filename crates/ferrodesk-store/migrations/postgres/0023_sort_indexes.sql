-- The ticket list sorted by a column header (`sort=subject` or `sort=priority`, both
-- directions; view_query::SortKey): each order walks an index with the id tiebreak, as the
-- list by last change does with (updated_at, id), instead of sorting every visible ticket.
CREATE INDEX tickets_subject_id_idx ON tickets (subject, id);
-- The priority's rank, the very expression SortKey::Priority orders by (low 1 … urgent 4).
CREATE INDEX tickets_priority_rank_id_idx ON tickets
    ((CASE priority WHEN 'low' THEN 1 WHEN 'normal' THEN 2 WHEN 'high' THEN 3 ELSE 4 END), id);
-- The list by creation (`sort=created_at`).
CREATE INDEX tickets_created_id_idx ON tickets (created_at, id);
