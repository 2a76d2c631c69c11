-- Full-text search over subjects and comments (SPEC §6). SQLite: FTS5, rowid = ticket id.
-- Public and private text are separate columns so that end users never match a private note.
CREATE VIRTUAL TABLE ticket_search USING fts5(subject, public_text, private_text, tokenize = 'unicode61 remove_diacritics 2');

INSERT INTO ticket_search (rowid, subject, public_text, private_text)
SELECT t.id, t.subject,
       COALESCE((SELECT group_concat(c.body, char(10)) FROM comments c WHERE c.ticket_id = t.id AND c.public = 1), ''),
       COALESCE((SELECT group_concat(c.body, char(10)) FROM comments c WHERE c.ticket_id = t.id AND c.public = 0), '')
FROM tickets t;
