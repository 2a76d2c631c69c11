-- View counts (SPEC §6) without counting a million rows: the number of tickets per
-- combination of the columns default views and agent scopes filter on, kept exact by
-- triggers in the same transaction as every ticket write. 0 stands for "none" so the key is
-- a plain primary key on both databases. Views whose conditions reach beyond these columns
-- are counted on the tickets table.
CREATE TABLE ticket_counts (
    status_id         BIGINT NOT NULL,
    priority          TEXT NOT NULL,
    group_id          BIGINT NOT NULL,
    assignee_id       BIGINT NOT NULL,
    internal_group_id BIGINT NOT NULL,
    internal_agent_id BIGINT NOT NULL,
    n                 BIGINT NOT NULL,
    PRIMARY KEY (status_id, priority, group_id, assignee_id, internal_group_id, internal_agent_id)
);

INSERT INTO ticket_counts (status_id, priority, group_id, assignee_id, internal_group_id, internal_agent_id, n)
SELECT status_id, priority, COALESCE(group_id, 0), COALESCE(assignee_id, 0), COALESCE(internal_group_id, 0), COALESCE(internal_agent_id, 0), COUNT(*)
FROM tickets GROUP BY 1, 2, 3, 4, 5, 6;

CREATE FUNCTION ticket_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE ticket_counts SET n = n - 1
        WHERE status_id = OLD.status_id AND priority = OLD.priority AND group_id = COALESCE(OLD.group_id, 0)
          AND assignee_id = COALESCE(OLD.assignee_id, 0) AND internal_group_id = COALESCE(OLD.internal_group_id, 0)
          AND internal_agent_id = COALESCE(OLD.internal_agent_id, 0);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO ticket_counts (status_id, priority, group_id, assignee_id, internal_group_id, internal_agent_id, n)
        VALUES (NEW.status_id, NEW.priority, COALESCE(NEW.group_id, 0), COALESCE(NEW.assignee_id, 0), COALESCE(NEW.internal_group_id, 0), COALESCE(NEW.internal_agent_id, 0), 1)
        ON CONFLICT (status_id, priority, group_id, assignee_id, internal_group_id, internal_agent_id)
        DO UPDATE SET n = ticket_counts.n + 1;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER tickets_counts_insert_delete AFTER INSERT OR DELETE ON tickets
FOR EACH ROW EXECUTE FUNCTION ticket_counts_apply();

CREATE TRIGGER tickets_counts_update AFTER UPDATE ON tickets
FOR EACH ROW WHEN (OLD.status_id IS DISTINCT FROM NEW.status_id OR OLD.priority IS DISTINCT FROM NEW.priority
  OR OLD.group_id IS DISTINCT FROM NEW.group_id OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id
  OR OLD.internal_group_id IS DISTINCT FROM NEW.internal_group_id
  OR OLD.internal_agent_id IS DISTINCT FROM NEW.internal_agent_id)
EXECUTE FUNCTION ticket_counts_apply();

-- Views split "open tickets of my groups" into one branch per (group, status): each walks one
-- index range in update order, whatever share of a group's tickets is closed.
CREATE INDEX tickets_group_status_updated_idx ON tickets (group_id, status_id, updated_at, id);
CREATE INDEX tickets_assignee_status_updated_idx ON tickets (assignee_id, status_id, updated_at, id);

-- Most tickets have no internal owner. Indexing only those that do keeps the indexes small and,
-- on SQLite, gives the planner statistics about the tickets that have one (an index over all rows
-- counts the NULLs as one huge key and makes "internal agent = 7" look like a full scan).
DROP INDEX tickets_internal_group_idx;
DROP INDEX tickets_internal_agent_idx;
DROP INDEX tickets_internal_group_updated_idx;
DROP INDEX tickets_internal_agent_updated_idx;
CREATE INDEX tickets_internal_group_updated_idx ON tickets (internal_group_id, updated_at, id)
    WHERE internal_group_id IS NOT NULL;
CREATE INDEX tickets_internal_agent_updated_idx ON tickets (internal_agent_id, updated_at, id)
    WHERE internal_agent_id IS NOT NULL;
CREATE INDEX tickets_internal_group_status_updated_idx ON tickets (internal_group_id, status_id, updated_at, id)
    WHERE internal_group_id IS NOT NULL;

-- Every ticket write updates one or two counter rows. Free room on each page lets those updates
-- stay HOT (no index change, old versions pruned in place), and a fixed vacuum threshold keeps
-- a table of a few thousand rows from carrying a million dead versions between vacuums.
ALTER TABLE ticket_counts SET (fillfactor = 50, autovacuum_vacuum_scale_factor = 0.0,
    autovacuum_vacuum_threshold = 1000, autovacuum_analyze_scale_factor = 0.0,
    autovacuum_analyze_threshold = 1000);

-- Counting a time window ("updated in the last 7 days") is an index-only scan only on pages the
-- visibility map marks all-visible; the default thresholds (20% of the table) would let a
-- million-ticket desk run for weeks with every recently updated page needing a heap fetch.
-- Vacuum after 1% instead.
ALTER TABLE tickets SET (autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_insert_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.02);
