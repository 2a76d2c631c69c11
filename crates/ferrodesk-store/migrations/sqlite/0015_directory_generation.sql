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

CREATE TRIGGER group_members_generation_insert AFTER INSERT ON group_members
BEGIN
    UPDATE directory_generation SET value = random() WHERE id = 1;
END;

CREATE TRIGGER group_members_generation_update AFTER UPDATE ON group_members
BEGIN
    UPDATE directory_generation SET value = random() WHERE id = 1;
END;

CREATE TRIGGER group_members_generation_delete AFTER DELETE ON group_members
BEGIN
    UPDATE directory_generation SET value = random() WHERE id = 1;
END;

CREATE TRIGGER organization_members_generation_insert AFTER INSERT ON organization_members
BEGIN
    UPDATE directory_generation SET value = random() WHERE id = 1;
END;

CREATE TRIGGER organization_members_generation_update AFTER UPDATE ON organization_members
BEGIN
    UPDATE directory_generation SET value = random() WHERE id = 1;
END;

CREATE TRIGGER organization_members_generation_delete AFTER DELETE ON organization_members
BEGIN
    UPDATE directory_generation SET value = random() WHERE id = 1;
END;

CREATE TRIGGER organizations_generation_insert AFTER INSERT ON organizations
BEGIN
    UPDATE directory_generation SET value = random() WHERE id = 1;
END;

CREATE TRIGGER organizations_generation_update AFTER UPDATE ON organizations
BEGIN
    UPDATE directory_generation SET value = random() WHERE id = 1;
END;

CREATE TRIGGER organizations_generation_delete AFTER DELETE ON organizations
BEGIN
    UPDATE directory_generation SET value = random() WHERE id = 1;
END;

CREATE TRIGGER statuses_generation_insert AFTER INSERT ON statuses
BEGIN
    UPDATE directory_generation SET value = random() WHERE id = 1;
END;

CREATE TRIGGER statuses_generation_update AFTER UPDATE ON statuses
BEGIN
    UPDATE directory_generation SET value = random() WHERE id = 1;
END;

CREATE TRIGGER statuses_generation_delete AFTER DELETE ON statuses
BEGIN
    UPDATE directory_generation SET value = random() WHERE id = 1;
END;

CREATE TRIGGER status_groups_generation_insert AFTER INSERT ON status_groups
BEGIN
    UPDATE directory_generation SET value = random() WHERE id = 1;
END;

CREATE TRIGGER status_groups_generation_update AFTER UPDATE ON status_groups
BEGIN
    UPDATE directory_generation SET value = random() WHERE id = 1;
END;

CREATE TRIGGER status_groups_generation_delete AFTER DELETE ON status_groups
BEGIN
    UPDATE directory_generation SET value = random() WHERE id = 1;
END;

CREATE TRIGGER custom_fields_generation_insert AFTER INSERT ON custom_fields
BEGIN
    UPDATE directory_generation SET value = random() WHERE id = 1;
END;

CREATE TRIGGER custom_fields_generation_update AFTER UPDATE ON custom_fields
BEGIN
    UPDATE directory_generation SET value = random() WHERE id = 1;
END;

CREATE TRIGGER custom_fields_generation_delete AFTER DELETE ON custom_fields
BEGIN
    UPDATE directory_generation SET value = random() WHERE id = 1;
END;

CREATE TRIGGER rules_generation_insert AFTER INSERT ON rules
BEGIN
    UPDATE directory_generation SET value = random() WHERE id = 1;
END;

CREATE TRIGGER rules_generation_update AFTER UPDATE ON rules
BEGIN
    UPDATE directory_generation SET value = random() WHERE id = 1;
END;

CREATE TRIGGER rules_generation_delete AFTER DELETE ON rules
BEGIN
    UPDATE directory_generation SET value = random() WHERE id = 1;
END;
