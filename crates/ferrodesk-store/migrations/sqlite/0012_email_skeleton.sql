-- The look-alike skeleton of each email address (Unicode TS #39), so that a new address that
-- looks like an existing one (Cyrillic а for Latin a) is refused. Filled by the server for
-- users created before this migration (Store::migrate).
ALTER TABLE users ADD COLUMN email_skeleton TEXT;
CREATE INDEX users_email_skeleton_idx ON users (email_skeleton);
