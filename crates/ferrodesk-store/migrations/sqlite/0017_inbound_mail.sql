-- Inbound email: every message received and what became of it (a ticket, a comment, or
-- suppressed / refused / rejected with the reason in words). The raw message is kept: agents
-- open the original of a comment, admins inspect what was not accepted. Message-IDs thread
-- later replies (References) and make a redelivered message a no-op. The raw message is
-- stored as base64 text (any bytes, the same on both databases and in exports).
CREATE TABLE inbound_messages (
    id           INTEGER PRIMARY KEY,
    message_id   TEXT,
    from_address TEXT,
    subject      TEXT NOT NULL,
    size         BIGINT NOT NULL,
    raw_base64   TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    reason       TEXT,
    ticket_id    BIGINT,
    comment_id   BIGINT,
    user_id      BIGINT,
    notice_sent  BIGINT NOT NULL DEFAULT 0,
    received_at  BIGINT NOT NULL
);
CREATE INDEX inbound_messages_message_id_idx ON inbound_messages (message_id);
CREATE INDEX inbound_messages_sender_idx ON inbound_messages (from_address, received_at);
CREATE INDEX inbound_messages_outcome_idx ON inbound_messages (outcome, id);
CREATE INDEX inbound_messages_comment_idx ON inbound_messages (comment_id);

-- The key that signs reply addresses (support+123-<signature>@…): random per installation,
-- from the database's strong random source, never shown by the API.
INSERT INTO settings (key, value) VALUES ('mail_reply_secret', lower(hex(randomblob(32))));
