-- Macros (canned responses): a reply or note text with property changes, filled into the
-- ticket page for the agent to review before sending. Personal, group or everyone, as views.

CREATE TABLE macros (
    id                INTEGER PRIMARY KEY,
    name              TEXT NOT NULL,
    visibility        TEXT NOT NULL CHECK (visibility IN ('personal', 'group', 'everyone')),
    owner_id          BIGINT REFERENCES users (id) ON DELETE CASCADE,
    group_id          BIGINT REFERENCES agent_groups (id) ON DELETE CASCADE,
    body              TEXT NOT NULL,
    public            BIGINT NOT NULL DEFAULT 1,
    -- What applying it sets; NULL leaves the property as it is.
    status_id         BIGINT REFERENCES statuses (id) ON DELETE SET NULL,
    priority          TEXT CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    set_group_id      BIGINT REFERENCES agent_groups (id) ON DELETE SET NULL,
    internal_group_id BIGINT REFERENCES agent_groups (id) ON DELETE SET NULL,
    -- Tags to add, as a JSON array.
    add_tags          TEXT NOT NULL DEFAULT '[]',
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
-- The list an agent sees: everyone's, their own, their groups', by name.
CREATE INDEX macros_everyone_name_idx ON macros (visibility, name, id);
CREATE INDEX macros_owner_name_idx ON macros (owner_id, name, id);
CREATE INDEX macros_group_name_idx ON macros (group_id, name, id);
-- ON DELETE SET NULL of the properties looks rows up by these.
CREATE INDEX macros_status_idx ON macros (status_id);
CREATE INDEX macros_set_group_idx ON macros (set_group_id);
CREATE INDEX macros_internal_group_idx ON macros (internal_group_id);
