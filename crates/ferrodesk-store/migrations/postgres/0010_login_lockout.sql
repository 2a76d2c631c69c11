-- Failed sign-ins per account: after five in a row the account is locked for a while (an admin
-- can lift it); a successful sign-in resets the count.
ALTER TABLE users ADD COLUMN failed_logins BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until BIGINT;
