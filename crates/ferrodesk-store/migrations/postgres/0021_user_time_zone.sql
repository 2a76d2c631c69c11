-- A person's own time zone (an IANA name such as Europe/Berlin): pages show times in it.
-- None: the desk's time zone (Settings).
ALTER TABLE users ADD COLUMN time_zone TEXT;
