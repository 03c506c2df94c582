-- Declared resource types and the index slot columns of resources (see the PostgreSQL script for
-- the reasoning). Text compares bytewise (BINARY), as PostgreSQL's "C" collation does.
CREATE TABLE IF NOT EXISTS resource_types
(
    owner_id         TEXT    NOT NULL,
    name             TEXT    NOT NULL,
    schema           TEXT,
    max_bytes        INTEGER,
    indexes          TEXT    NOT NULL,
    require_if_match INTEGER NOT NULL,
    index_gen        INTEGER NOT NULL,
    built_gen        INTEGER NOT NULL,
    build_created_at INTEGER,
    build_id         TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    version          INTEGER NOT NULL,
    PRIMARY KEY (owner_id, name)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS resource_types_building ON resource_types (updated_at) WHERE built_gen < index_gen;

ALTER TABLE resources ADD COLUMN ix1 TEXT;
ALTER TABLE resources ADD COLUMN ix2 TEXT;
ALTER TABLE resources ADD COLUMN ix3 TEXT;
ALTER TABLE resources ADD COLUMN ix4 TEXT;
ALTER TABLE resources ADD COLUMN ix5 TEXT;

CREATE INDEX IF NOT EXISTS resources_type_ix1 ON resources (owner_id, type, ix1, id) WHERE ix1 IS NOT NULL;
CREATE INDEX IF NOT EXISTS resources_type_ix2 ON resources (owner_id, type, ix2, id) WHERE ix2 IS NOT NULL;
CREATE INDEX IF NOT EXISTS resources_type_ix3 ON resources (owner_id, type, ix3, id) WHERE ix3 IS NOT NULL;
CREATE INDEX IF NOT EXISTS resources_type_ix4 ON resources (owner_id, type, ix4, id) WHERE ix4 IS NOT NULL;
CREATE INDEX IF NOT EXISTS resources_type_ix5 ON resources (owner_id, type, ix5, id) WHERE ix5 IS NOT NULL;
