-- PostgreSQL's search index gains id buckets (see the PostgreSQL twin of this migration).
-- FTS5 already walks its matches newest first (by rowid), so SQLite needs nothing.
SELECT 1;
