-- TOTP two-factor sign-in (RFC 6238): the shared secret (hex), whether it is confirmed, the
-- last step used (a code is good once) and the SHA-256 hashes of unused recovery codes (JSON).
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_enabled BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
ALTER TABLE users ADD COLUMN recovery_codes TEXT NOT NULL DEFAULT '[]';
