-- Adding a comment must not rewrite a ticket's whole history in the search index. A ticket's
-- text stays in its ticket_search row while it is short; once more than a chunk (16 KiB) has
-- been added, the ticket's text continues in chunks of ticket_search_more (the first of them a
-- copy of its ticket_search row, so a long ticket is searchable across its chunks there), and
-- a comment rewrites at most the chunk being filled. search_fill says which chunk that is.
CREATE TABLE search_fill (
    ticket_id     INTEGER PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    chunk_len     INTEGER NOT NULL,
    more_id       INTEGER,
    first_more_id INTEGER
);

CREATE VIRTUAL TABLE ticket_search_more USING fts5(subject, public_text, private_text, ticket_id UNINDEXED, tokenize = 'unicode61 remove_diacritics 2');

INSERT INTO search_fill (ticket_id, chunk_len)
SELECT rowid, length(CAST(public_text AS BLOB)) + length(CAST(private_text AS BLOB)) FROM ticket_search;
