-- An initial load into an empty desk (PostgreSQL, docs/operations.md "Imports") drops the
-- secondary indexes and the foreign keys of the ticket tables while it writes, as pg_restore
-- does, and adds them back at its end. What it dropped is kept here, exactly as the catalogue
-- gave it (pg_get_indexdef, pg_get_constraintdef), in the same transaction as the drop: a load
-- that never reached its end leaves its rows behind, and the next start of any ferrodesk
-- command adds them back. A foreign key stays here, added back but not yet validated, until its
-- validation succeeds. SQLite keeps the table empty (its imports load with everything on).
CREATE TABLE load_held_definitions (
    kind       TEXT NOT NULL,   -- 'index' | 'foreign_key'
    table_name TEXT NOT NULL,
    name       TEXT NOT NULL,
    definition TEXT NOT NULL,
    held_at    BIGINT NOT NULL,
    PRIMARY KEY (kind, table_name, name)
);
