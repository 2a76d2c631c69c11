-- PostgreSQL's search index gains scope lexemes (see the PostgreSQL twin of this migration).
-- FTS5 walks its matches newest first and SQLite tests the scope on each quickly, so SQLite
-- needs nothing.
SELECT 1;
