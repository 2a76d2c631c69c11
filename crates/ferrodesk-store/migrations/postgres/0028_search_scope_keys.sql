-- Search within a scope at a million tickets (#19): the search index also holds who may see
-- each ticket, so that a scoped search is an intersection inside the index instead of a test
-- of every match's ticket. Each ticket_search row keeps the lexemes of its ticket's scope
-- columns — '#rN' requester, '#oN' organization, '#gN' group, '#aN' assignee, '#igN' internal
-- group, '#iaN' internal agent, '#cN' each CC (the text parser never makes a '#') — and the GIN
-- indexes are built on the text's lexemes, the id bucket (0024) and these.
-- They only narrow what the index answers: every search still tests the person's scope on the
-- ticket itself (store/search.rs), so a key out of step could only hide a ticket, never show one.
ALTER TABLE ticket_search ADD COLUMN scope_keys TEXT[] NOT NULL DEFAULT '{}';

-- The scope lexemes of ticket `tid` as it is now ('{}' when it does not exist).
CREATE FUNCTION ticket_scope_keys(tid BIGINT) RETURNS TEXT[] LANGUAGE sql STABLE AS $$
    SELECT COALESCE((
        SELECT array_remove(ARRAY[
                   '#r' || t.requester_id,
                   '#o' || t.organization_id,
                   '#g' || t.group_id,
                   '#a' || t.assignee_id,
                   '#ig' || t.internal_group_id,
                   '#ia' || t.internal_agent_id], NULL)
               || COALESCE((SELECT array_agg('#c' || c.user_id ORDER BY c.user_id)
                            FROM ticket_ccs c WHERE c.ticket_id = t.id), '{}')
        FROM tickets t WHERE t.id = tid), '{}')
$$;

-- A new index row takes its ticket's keys.
CREATE FUNCTION ticket_search_scope_fill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.scope_keys := ticket_scope_keys(NEW.ticket_id);
    RETURN NEW;
END $$;
CREATE TRIGGER ticket_search_scope_fill BEFORE INSERT ON ticket_search
    FOR EACH ROW EXECUTE FUNCTION ticket_search_scope_fill();

-- A ticket whose scope columns or CCs changed gets its keys again when its transaction commits
-- (deferred: a save rewrites the CC rows, and only the final state counts), and only when
-- they differ, as rewriting the row recomputes its text vectors.
CREATE FUNCTION ticket_search_scope_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tid BIGINT;
BEGIN
    IF TG_TABLE_NAME = 'tickets' THEN
        tid := NEW.id;
    ELSIF TG_OP = 'DELETE' THEN
        tid := OLD.ticket_id;
    ELSE
        tid := NEW.ticket_id;
    END IF;
    UPDATE ticket_search SET scope_keys = k.keys
    FROM (SELECT ticket_scope_keys(tid) AS keys) AS k
    WHERE ticket_id = tid AND scope_keys IS DISTINCT FROM k.keys;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER tickets_scope_keys AFTER UPDATE ON tickets
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.requester_id IS DISTINCT FROM NEW.requester_id
       OR OLD.organization_id IS DISTINCT FROM NEW.organization_id
       OR OLD.group_id IS DISTINCT FROM NEW.group_id
       OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id
       OR OLD.internal_group_id IS DISTINCT FROM NEW.internal_group_id
       OR OLD.internal_agent_id IS DISTINCT FROM NEW.internal_agent_id)
    EXECUTE FUNCTION ticket_search_scope_refresh();
CREATE CONSTRAINT TRIGGER ticket_ccs_scope_keys AFTER INSERT OR DELETE ON ticket_ccs
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION ticket_search_scope_refresh();

-- The old indexes go first, so that filling the keys does not maintain them row by row.
DROP INDEX ticket_search_public_slice_idx;
DROP INDEX ticket_search_all_slice_idx;
UPDATE ticket_search SET scope_keys = ticket_scope_keys(ticket_id);

CREATE INDEX ticket_search_public_scope_idx ON ticket_search USING GIN (
    (public_tsv || array_to_tsvector(ARRAY['#s' || (ticket_id >> 14)::text] || scope_keys)));
CREATE INDEX ticket_search_all_scope_idx ON ticket_search USING GIN (
    (all_tsv || array_to_tsvector(ARRAY['#s' || (ticket_id >> 14)::text] || scope_keys)));
