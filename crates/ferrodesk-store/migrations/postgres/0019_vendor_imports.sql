-- Imports from Zendesk and Freshdesk (SPEC §8): which record here each record of a source
-- became, so that a rerun continues where it stopped and imports nothing twice; and the
-- sharing modes organizations arrived with, so that the sharing register is complete from
-- the first day ("imported from Zendesk on DATE").
CREATE TABLE import_links (
    source      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    external_id BIGINT NOT NULL,
    local_id    BIGINT NOT NULL,
    PRIMARY KEY (source, kind, external_id)
);

CREATE TABLE sharing_imports (
    organization_id BIGINT PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    sharing         TEXT NOT NULL,
    vendor          TEXT NOT NULL,
    source          TEXT NOT NULL,
    imported_at     BIGINT NOT NULL
);
