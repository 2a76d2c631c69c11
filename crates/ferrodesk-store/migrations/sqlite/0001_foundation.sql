-- Ferrodesk foundation schema (SQLite). Paired with postgres/0001_foundation.sql:
-- same tables, columns and indexes; timestamps are integer microseconds since the epoch.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id                      INTEGER PRIMARY KEY,
    name                    TEXT NOT NULL,
    email                   TEXT NOT NULL,
    email_lower             TEXT NOT NULL,
    role                    TEXT NOT NULL CHECK (role IN ('admin', 'agent', 'end_user')),
    ticket_scope            TEXT NOT NULL DEFAULT 'global' CHECK (ticket_scope IN ('global', 'group', 'assigned')),
    access                  TEXT NOT NULL DEFAULT 'requested' CHECK (access IN ('requested', 'organization')),
    suspended               BIGINT NOT NULL DEFAULT 0,
    password_hash           TEXT,
    default_organization_id BIGINT,
    created_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL,
    CONSTRAINT users_email_unique UNIQUE (email_lower)
);
CREATE INDEX users_role_idx ON users (role, id);

CREATE TABLE organizations (
    id                     INTEGER PRIMARY KEY,
    name                   TEXT NOT NULL,
    name_lower             TEXT NOT NULL,
    domain_names           TEXT NOT NULL DEFAULT '[]',
    details                TEXT NOT NULL DEFAULT '',
    notes                  TEXT NOT NULL DEFAULT '',
    tags                   TEXT NOT NULL DEFAULT '[]',
    sharing                TEXT NOT NULL DEFAULT 'own_only' CHECK (sharing IN ('own_only', 'read_only', 'read_write')),
    sharing_blocked        BIGINT NOT NULL DEFAULT 0,
    sharing_blocked_reason TEXT NOT NULL DEFAULT '',
    auto_join_by_domain    BIGINT NOT NULL DEFAULT 0,
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL,
    CONSTRAINT organizations_name_unique UNIQUE (name_lower)
);

CREATE TABLE organization_members (
    organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX organization_members_user_idx ON organization_members (user_id, organization_id);

CREATE TABLE agent_groups (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    name_lower TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT agent_groups_name_unique UNIQUE (name_lower)
);

CREATE TABLE group_members (
    group_id   BIGINT NOT NULL REFERENCES agent_groups (id) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user_idx ON group_members (user_id, group_id);

CREATE TABLE statuses (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL,
    name_lower     TEXT NOT NULL,
    customer_label TEXT NOT NULL,
    category       TEXT NOT NULL CHECK (category IN ('open', 'pending', 'resolved', 'closed')),
    built_in       BIGINT NOT NULL DEFAULT 0,
    position       BIGINT NOT NULL,
    all_groups     BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    CONSTRAINT statuses_name_unique UNIQUE (name_lower)
);

CREATE TABLE status_groups (
    status_id BIGINT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    group_id  BIGINT NOT NULL REFERENCES agent_groups (id) ON DELETE CASCADE,
    PRIMARY KEY (status_id, group_id)
);

CREATE TABLE tickets (
    id                INTEGER PRIMARY KEY,
    subject           TEXT NOT NULL,
    requester_id      BIGINT NOT NULL REFERENCES users (id),
    organization_id   BIGINT REFERENCES organizations (id),
    status_id         BIGINT NOT NULL REFERENCES statuses (id),
    priority          TEXT NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    group_id          BIGINT REFERENCES agent_groups (id),
    assignee_id       BIGINT REFERENCES users (id),
    internal_group_id BIGINT REFERENCES agent_groups (id),
    internal_agent_id BIGINT REFERENCES users (id),
    channel           TEXT NOT NULL,
    sharing_check     TEXT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    version           BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX tickets_requester_idx ON tickets (requester_id, id);
CREATE INDEX tickets_organization_idx ON tickets (organization_id, id);
CREATE INDEX tickets_group_idx ON tickets (group_id, id);
CREATE INDEX tickets_assignee_idx ON tickets (assignee_id, id);
CREATE INDEX tickets_internal_group_idx ON tickets (internal_group_id, id);
CREATE INDEX tickets_internal_agent_idx ON tickets (internal_agent_id, id);
CREATE INDEX tickets_status_idx ON tickets (status_id, id);
CREATE INDEX tickets_updated_idx ON tickets (updated_at, id);

CREATE TABLE ticket_ccs (
    ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    user_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (ticket_id, user_id)
);
CREATE INDEX ticket_ccs_user_idx ON ticket_ccs (user_id, ticket_id);

CREATE TABLE ticket_tags (
    ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    tag       TEXT NOT NULL,
    PRIMARY KEY (ticket_id, tag)
);
CREATE INDEX ticket_tags_tag_idx ON ticket_tags (tag, ticket_id);

CREATE TABLE custom_fields (
    id         INTEGER PRIMARY KEY,
    key        TEXT NOT NULL,
    title      TEXT NOT NULL,
    field_type TEXT NOT NULL CHECK (field_type IN ('text', 'number', 'checkbox', 'dropdown', 'date')),
    options    TEXT NOT NULL DEFAULT '[]',
    active     BIGINT NOT NULL DEFAULT 1,
    position   BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT custom_fields_key_unique UNIQUE (key)
);

CREATE TABLE ticket_field_values (
    ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    field_id  BIGINT NOT NULL REFERENCES custom_fields (id) ON DELETE CASCADE,
    value     TEXT NOT NULL,
    PRIMARY KEY (ticket_id, field_id)
);

CREATE TABLE comments (
    id         INTEGER PRIMARY KEY,
    ticket_id  BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    author_id  BIGINT NOT NULL REFERENCES users (id),
    body       TEXT NOT NULL,
    public     BIGINT NOT NULL,
    channel    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX comments_ticket_idx ON comments (ticket_id, id);

CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY,
    seq         BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    actor_kind  TEXT NOT NULL,
    actor_id    BIGINT,
    via         TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id   BIGINT NOT NULL,
    action      TEXT NOT NULL,
    changes     TEXT NOT NULL,
    reason      TEXT,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    CONSTRAINT audit_events_seq_unique UNIQUE (seq)
);
CREATE INDEX audit_events_entity_idx ON audit_events (entity_type, entity_id, seq);

-- The head of the audit chain: one row, locked by every append so the chain never forks.
CREATE TABLE audit_head (
    id   BIGINT PRIMARY KEY,
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    CONSTRAINT api_tokens_hash_unique UNIQUE (token_hash)
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);

CREATE TABLE sessions (
    id         INTEGER PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    CONSTRAINT sessions_hash_unique UNIQUE (token_hash)
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

-- The outbox: jobs written in the same transaction as the change that caused them.
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    run_at       BIGINT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT,
    done_at      BIGINT,
    last_error   TEXT,
    created_at   BIGINT NOT NULL
);
CREATE INDEX jobs_due_idx ON jobs (done_at, run_at, id);

CREATE TABLE idempotency_keys (
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    route      TEXT NOT NULL,
    status     BIGINT NOT NULL,
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, key, route)
);

-- The built-in statuses and the custom status every new installation has (SPEC §4).
INSERT INTO statuses (name, name_lower, customer_label, category, built_in, position, all_groups, created_at, updated_at) VALUES
    ('Open', 'open', 'Open', 'open', 1, 1, 0, 0, 0),
    ('Pending', 'pending', 'Awaiting your reply', 'pending', 1, 2, 0, 0, 0),
    ('Resolved', 'resolved', 'Solved', 'resolved', 1, 3, 0, 0, 0),
    ('Closed', 'closed', 'Closed', 'closed', 1, 4, 0, 0, 0),
    ('Customer Responded', 'customer responded', 'Open', 'open', 0, 5, 1, 0, 0);

INSERT INTO settings (key, value) VALUES
    ('time_zone', 'UTC'),
    ('public_base_url', 'http://127.0.0.1:8080');
