-- An agent an admin trusts to add customers to organizations, remove them, and give them
-- access to their organizations' tickets (SPEC 3.4: "agents holding an explicit permission an
-- admin grants"). Admins hold it by their role.
ALTER TABLE users ADD COLUMN manages_memberships BIGINT NOT NULL DEFAULT 0;
