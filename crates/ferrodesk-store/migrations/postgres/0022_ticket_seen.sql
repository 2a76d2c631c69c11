-- When each staff member last opened each ticket (the list's "updated since you last looked"
-- marker) and last had its page open (presence: "also looking at this ticket"). Not part of
-- the ticket: no version, no audit. `seen_at` 0: pinged but never opened.
CREATE TABLE ticket_seen (
    user_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    seen_at   BIGINT NOT NULL,
    pinged_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, ticket_id)
);
-- Who else has a ticket open: one range of this index per presence poll.
CREATE INDEX ticket_seen_presence_idx ON ticket_seen (ticket_id, pinged_at);
