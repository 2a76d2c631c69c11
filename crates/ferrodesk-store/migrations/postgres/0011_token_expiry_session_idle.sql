-- API tokens may expire; sessions end after a while without use (besides their fixed end).
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT;
