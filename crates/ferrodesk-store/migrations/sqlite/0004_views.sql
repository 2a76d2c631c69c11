-- Agent views (SPEC §6): saved filters, personal, shared with a group, or for everyone.
-- The default views are rows with built_in = 1 and visibility 'everyone'.

CREATE TABLE views (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    visibility TEXT NOT NULL CHECK (visibility IN ('personal', 'group', 'everyone')),
    owner_id   BIGINT REFERENCES users (id) ON DELETE CASCADE,
    group_id   BIGINT REFERENCES agent_groups (id) ON DELETE CASCADE,
    built_in   BIGINT NOT NULL DEFAULT 0,
    position   BIGINT NOT NULL,
    definition TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX views_owner_idx ON views (owner_id);
CREATE INDEX views_group_idx ON views (group_id);

-- Lists sort by last update within each of the columns views filter on.
CREATE INDEX tickets_assignee_updated_idx ON tickets (assignee_id, updated_at, id);
CREATE INDEX tickets_group_updated_idx ON tickets (group_id, updated_at, id);
CREATE INDEX tickets_internal_agent_updated_idx ON tickets (internal_agent_id, updated_at, id);
CREATE INDEX tickets_internal_group_updated_idx ON tickets (internal_group_id, updated_at, id);
CREATE INDEX tickets_status_updated_idx ON tickets (status_id, updated_at, id);
CREATE INDEX tickets_requester_updated_idx ON tickets (requester_id, updated_at, id);
CREATE INDEX tickets_organization_updated_idx ON tickets (organization_id, updated_at, id);
CREATE INDEX tickets_updated_id_idx ON tickets (updated_at, id);

INSERT INTO views (name, visibility, built_in, position, definition, created_at, updated_at) VALUES
('My tickets', 'everyone', 1, 1, '{"conditions":{"all":[{"field":"assignee","operator":"is","value":"me"},{"field":"category","operator":"is_not","value":["resolved","closed"]}],"any":[]},"sort":{"by":"updated_at","order":"desc"},"columns":["subject","requester","status","priority","updated_at"]}', 0, 0),
('My groups'' tickets', 'everyone', 1, 2, '{"conditions":{"all":[{"field":"group","operator":"is","value":"my_groups"},{"field":"category","operator":"is_not","value":["resolved","closed"]}],"any":[]},"sort":{"by":"updated_at","order":"desc"},"columns":["subject","requester","status","assignee","updated_at"]}', 0, 0),
('Shared with me', 'everyone', 1, 3, '{"conditions":{"all":[{"field":"internal_agent","operator":"is","value":"me"},{"field":"category","operator":"is_not","value":["resolved","closed"]}],"any":[]},"sort":{"by":"updated_at","order":"desc"},"columns":["subject","requester","status","assignee","updated_at"]}', 0, 0),
('Shared with my groups', 'everyone', 1, 4, '{"conditions":{"all":[{"field":"internal_group","operator":"is","value":"my_groups"},{"field":"category","operator":"is_not","value":["resolved","closed"]}],"any":[]},"sort":{"by":"updated_at","order":"desc"},"columns":["subject","requester","status","internal_agent","updated_at"]}', 0, 0),
('Unassigned', 'everyone', 1, 5, '{"conditions":{"all":[{"field":"assignee","operator":"is","value":null},{"field":"category","operator":"is_not","value":["resolved","closed"]}],"any":[]},"sort":{"by":"updated_at","order":"desc"},"columns":["subject","requester","status","group","updated_at"]}', 0, 0),
('Customer Responded', 'everyone', 1, 6, '{"conditions":{"all":[{"field":"status","operator":"is","value":"Customer Responded"}],"any":[]},"sort":{"by":"updated_at","order":"desc"},"columns":["subject","requester","assignee","internal_agent","updated_at"]}', 0, 0),
('Recently updated', 'everyone', 1, 7, '{"conditions":{"all":[{"field":"updated_at","operator":"within_days","value":7}],"any":[]},"sort":{"by":"updated_at","order":"desc"},"columns":["subject","requester","status","updated_at"]}', 0, 0);
