-- Declared resource types: per owner, a JSON Schema for metadata, a document size cap, up to five
-- indexed metadata fields and whether writes need If-Match. `version` moves with every change and
-- every resource write checks it in its own transaction; `index_gen` moves when the indexes
-- change, `built_gen` when every resource of the type holds the index values of that generation.
-- `build_created_at`/`build_id` are the re-index position (keyset over resources_owner_type).
CREATE TABLE IF NOT EXISTS resource_types
(
    owner_id         text    NOT NULL,
    name             text    COLLATE "C" NOT NULL,
    schema           text,
    max_bytes        integer,
    indexes          text    NOT NULL,
    require_if_match boolean NOT NULL,
    index_gen        bigint  NOT NULL,
    built_gen        bigint  NOT NULL,
    build_created_at bigint,
    build_id         text    COLLATE "C",
    created_at       bigint  NOT NULL,
    updated_at       bigint  NOT NULL,
    version          bigint  NOT NULL,
    PRIMARY KEY (owner_id, name)
);

-- The re-index workers' queue: only types whose indexes are being built.
CREATE INDEX IF NOT EXISTS resource_types_building ON resource_types (updated_at) WHERE built_gen < index_gen;

-- Index values of declared indexed fields: slot N of a resource's type holds its field's value in
-- ixN, encoded so that byte order is value order ('' for missing, '=' + value otherwise; see
-- ResourceIndexValues). A resource whose type uses no slot N has NULL there and no entry in the
-- partial index, so tenants without indexed fields pay no index maintenance for them. A fixed set
-- of slot columns (not an index per tenant and field) keeps the number of indexes on resources
-- constant however many tenants declare types.
ALTER TABLE resources ADD COLUMN IF NOT EXISTS ix1 text COLLATE "C";
ALTER TABLE resources ADD COLUMN IF NOT EXISTS ix2 text COLLATE "C";
ALTER TABLE resources ADD COLUMN IF NOT EXISTS ix3 text COLLATE "C";
ALTER TABLE resources ADD COLUMN IF NOT EXISTS ix4 text COLLATE "C";
ALTER TABLE resources ADD COLUMN IF NOT EXISTS ix5 text COLLATE "C";

CREATE INDEX IF NOT EXISTS resources_type_ix1 ON resources (owner_id, type, ix1, id) WHERE ix1 IS NOT NULL;
CREATE INDEX IF NOT EXISTS resources_type_ix2 ON resources (owner_id, type, ix2, id) WHERE ix2 IS NOT NULL;
CREATE INDEX IF NOT EXISTS resources_type_ix3 ON resources (owner_id, type, ix3, id) WHERE ix3 IS NOT NULL;
CREATE INDEX IF NOT EXISTS resources_type_ix4 ON resources (owner_id, type, ix4, id) WHERE ix4 IS NOT NULL;
CREATE INDEX IF NOT EXISTS resources_type_ix5 ON resources (owner_id, type, ix5, id) WHERE ix5 IS NOT NULL;
