-- The record of every sharing change (SPEC §2.1): organization, before → after, the request
-- ticket, the evidence comments and who wrote them, the checking admin, the time.

CREATE TABLE sharing_changes (
    id                        INTEGER PRIMARY KEY,
    organization_id           BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    ticket_id                 BIGINT NOT NULL REFERENCES tickets (id),
    sharing_before            TEXT NOT NULL,
    sharing_after             TEXT NOT NULL,
    type_confirmed_comment_id BIGINT NOT NULL REFERENCES comments (id),
    type_confirmed_by         BIGINT NOT NULL REFERENCES users (id),
    risk_approved_comment_id  BIGINT REFERENCES comments (id),
    risk_approved_by          BIGINT REFERENCES users (id),
    admin_id                  BIGINT NOT NULL REFERENCES users (id),
    details_line              TEXT NOT NULL,
    created_at                BIGINT NOT NULL
);
CREATE INDEX sharing_changes_org_idx ON sharing_changes (organization_id, id);
CREATE INDEX organizations_sharing_idx ON organizations (sharing, id);

INSERT INTO settings (key, value) VALUES
    ('sharing_confirmation_template', 'Hello {{ requester_name }},

As requested, {% if enabled %}shared organization access ({{ sharing_label }}) is now enabled{% else %}shared organization access is now disabled{% endif %} for {{ organization_name }}.{% if enabled %} Members of {{ organization_name }} can now {% if sharing == "read_write" %}see and comment on{% else %}see{% endif %} each other''s tickets.{% endif %}

This request is now resolved.');
