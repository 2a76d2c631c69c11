-- Automation rules (SPEC §5) and the system user that authors rule notes.

CREATE TABLE rules (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    active     BIGINT NOT NULL DEFAULT 1,
    position   BIGINT NOT NULL,
    definition TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX rules_active_idx ON rules (active, position, id);

-- Ferrodesk itself: the author of notes added by rules. Suspended, so it can never sign in.
INSERT INTO users (name, email, email_lower, role, ticket_scope, access, suspended, created_at, updated_at)
VALUES ('Ferrodesk', 'system@ferrodesk.invalid', 'system@ferrodesk.invalid', 'agent', 'assigned', 'requested', 1, 0, 0);

-- The default rules of a new installation: an end user's public reply keeps the ticket with
-- its internal team (Customer Responded) or reopens it when nobody owns it internally.
INSERT INTO rules (name, active, position, definition, created_at, updated_at) VALUES
('Customer replied (shared ownership)', 1, 1,
 '{"events":[{"type":"comment_added","public":true}],"performed_by":"end_user","conditions":{"all":[{"field":"internal_group","operator":"is_not","value":null},{"field":"status","operator":"is_not","value":"Customer Responded"}],"any":[]},"actions":[{"field":"status","value":"Customer Responded"}]}',
 0, 0),
('Customer replied', 1, 2,
 '{"events":[{"type":"comment_added","public":true}],"performed_by":"end_user","conditions":{"all":[{"field":"internal_group","operator":"is","value":null}],"any":[{"field":"category","operator":"is","value":"pending"},{"field":"category","operator":"is","value":"resolved"}]},"actions":[{"field":"status","value":"Open"}]}',
 0, 0);
