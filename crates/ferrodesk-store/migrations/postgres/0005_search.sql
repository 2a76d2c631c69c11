-- Full-text search over subjects and comments (SPEC §6). PostgreSQL: tsvector + GIN.
-- Public and private text are separate so that end users never match a private note.
CREATE TABLE ticket_search (
    ticket_id    BIGINT PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    subject      TEXT NOT NULL,
    public_text  TEXT NOT NULL DEFAULT '',
    private_text TEXT NOT NULL DEFAULT '',
    public_tsv   tsvector GENERATED ALWAYS AS (to_tsvector('simple', subject || ' ' || public_text)) STORED,
    all_tsv      tsvector GENERATED ALWAYS AS (to_tsvector('simple', subject || ' ' || public_text || ' ' || private_text)) STORED
);
CREATE INDEX ticket_search_public_idx ON ticket_search USING GIN (public_tsv);
CREATE INDEX ticket_search_all_idx ON ticket_search USING GIN (all_tsv);

INSERT INTO ticket_search (ticket_id, subject, public_text, private_text)
SELECT t.id, t.subject,
       COALESCE((SELECT string_agg(c.body, E'\n' ORDER BY c.id) FROM comments c WHERE c.ticket_id = t.id AND c.public = 1), ''),
       COALESCE((SELECT string_agg(c.body, E'\n' ORDER BY c.id) FROM comments c WHERE c.ticket_id = t.id AND c.public = 0), '')
FROM tickets t;
