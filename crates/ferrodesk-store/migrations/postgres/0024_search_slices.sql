-- Search at a million tickets (#19): the newest matches of a search are looked for first
-- among the newest tickets. GIN cannot return matches in id order and reads the whole list of
-- every word it is asked for (a common word's list is the size of the desk), so each index
-- entry also holds the lexeme '#sN', N the ticket id >> 14 (buckets of 16,384 ids; the text
-- parser never makes a lexeme with '#'), and a search asks the index for its uncommon words in
-- the newest buckets, checking the common ones on those few rows (store/search.rs).
-- These indexes replace the plain ones (every text search uses the same expression).
CREATE INDEX ticket_search_public_slice_idx ON ticket_search
    USING GIN ((public_tsv || array_to_tsvector(ARRAY['#s' || (ticket_id >> 14)::text])));
CREATE INDEX ticket_search_all_slice_idx ON ticket_search
    USING GIN ((all_tsv || array_to_tsvector(ARRAY['#s' || (ticket_id >> 14)::text])));
DROP INDEX ticket_search_public_idx;
DROP INDEX ticket_search_all_idx;
