-- Attachments (SPEC §6): the file's bytes live outside the database, content-addressed by
-- SHA-256 (the same file uploaded twice is stored once); a row is its metadata. An upload
-- waits with its token (hashed) until a comment takes it; unattached uploads expire. The
-- ticket is kept beside the comment so a download asks the policy without a join.
CREATE TABLE attachments (
    id           INTEGER PRIMARY KEY,
    token_hash   TEXT,
    comment_id   BIGINT REFERENCES comments (id) ON DELETE CASCADE,
    ticket_id    BIGINT,
    file_name    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    sha256       TEXT NOT NULL,
    uploader_id  BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    redacted_by  BIGINT,
    redacted_at  BIGINT
);
CREATE UNIQUE INDEX attachments_token_idx ON attachments (token_hash);
CREATE INDEX attachments_comment_idx ON attachments (comment_id, id);
CREATE INDEX attachments_sha_idx ON attachments (sha256);
CREATE INDEX attachments_unattached_idx ON attachments (created_at) WHERE comment_id IS NULL;
