-- The directory generation: a value the writing transaction changes whenever a change could
-- alter what the server caches between requests — group and organization memberships,
-- organizations (their sharing), statuses and their group mapping, custom field definitions,
-- rules. A request reads it in the statement that reads its session or token (a write, in its
-- transaction) and uses a cached entry only at the same generation (store::cache), so nothing
-- is served past a committed change on any instance. The new value is random, never "+ 1":
-- a transaction that changed the directory and rolled back leaves a generation no committed
-- state will have, so what it read cannot be served later under a reused number.
CREATE TABLE directory_generation (
    id    BIGINT PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO directory_generation (id, value) VALUES (1, 1);

CREATE FUNCTION directory_generation_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE directory_generation SET value = floor(random() * 9007199254740991)::bigint WHERE id = 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER group_members_generation AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON group_members
FOR EACH STATEMENT EXECUTE FUNCTION directory_generation_bump();

CREATE TRIGGER organization_members_generation AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON organization_members
FOR EACH STATEMENT EXECUTE FUNCTION directory_generation_bump();

CREATE TRIGGER organizations_generation AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON organizations
FOR EACH STATEMENT EXECUTE FUNCTION directory_generation_bump();

CREATE TRIGGER statuses_generation AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON statuses
FOR EACH STATEMENT EXECUTE FUNCTION directory_generation_bump();

CREATE TRIGGER status_groups_generation AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON status_groups
FOR EACH STATEMENT EXECUTE FUNCTION directory_generation_bump();

CREATE TRIGGER custom_fields_generation AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON custom_fields
FOR EACH STATEMENT EXECUTE FUNCTION directory_generation_bump();

CREATE TRIGGER rules_generation AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON rules
FOR EACH STATEMENT EXECUTE FUNCTION directory_generation_bump();
