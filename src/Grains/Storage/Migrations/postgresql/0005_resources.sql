-- Resources: the document and its query columns in one row, so a change and its visibility in
-- lists are one write. Timestamps are microseconds since the Unix epoch (bigint), the same in
-- SQLite and PostgreSQL, so one query builder serves both. Text sorts use the "C" collation:
-- byte order, identical in both databases and stable across OS locale changes.
CREATE TABLE IF NOT EXISTS resources
(
    id          text   NOT NULL PRIMARY KEY,
    owner_id    text   NOT NULL,
    name        text   COLLATE "C" NOT NULL,
    description text,
    type        text   COLLATE "C" NOT NULL,
    status      text   COLLATE "C" NOT NULL,
    metadata    text   NOT NULL,
    created_at  bigint NOT NULL,
    updated_at  bigint NOT NULL,
    version     bigint NOT NULL
);

-- One index per sort field, ending in id (the tie-breaker), so every sort and its keyset cursor
-- is an index range scan; PostgreSQL scans them backwards for descending sorts.
CREATE INDEX IF NOT EXISTS resources_owner_created ON resources (owner_id, created_at, id);
CREATE INDEX IF NOT EXISTS resources_owner_updated ON resources (owner_id, updated_at, id);
CREATE INDEX IF NOT EXISTS resources_owner_name    ON resources (owner_id, name, id);
CREATE INDEX IF NOT EXISTS resources_owner_type    ON resources (owner_id, type, created_at, id);
CREATE INDEX IF NOT EXISTS resources_owner_status  ON resources (owner_id, status, created_at, id);

-- Exact totals without counting rows: one counter per owner, type and status, kept by triggers
-- in the same transaction as the row change. A filtered total sums a handful of counters.
CREATE TABLE IF NOT EXISTS resource_counts
(
    owner_id text   NOT NULL,
    type     text   COLLATE "C" NOT NULL,
    status   text   COLLATE "C" NOT NULL,
    n        bigint NOT NULL,
    PRIMARY KEY (owner_id, type, status)
);

CREATE OR REPLACE FUNCTION resource_counts_apply() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE resource_counts SET n = n - 1
        WHERE owner_id = OLD.owner_id AND type = OLD.type AND status = OLD.status;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO resource_counts (owner_id, type, status, n) VALUES (NEW.owner_id, NEW.type, NEW.status, 1)
        ON CONFLICT (owner_id, type, status) DO UPDATE SET n = resource_counts.n + 1;
    END IF;
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS resources_count_insert_delete ON resources;
CREATE TRIGGER resources_count_insert_delete AFTER INSERT OR DELETE ON resources
    FOR EACH ROW EXECUTE FUNCTION resource_counts_apply();

-- Only a change of type or status moves a row between counters.
DROP TRIGGER IF EXISTS resources_count_update ON resources;
CREATE TRIGGER resources_count_update AFTER UPDATE OF type, status ON resources
    FOR EACH ROW WHEN (OLD.type IS DISTINCT FROM NEW.type OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION resource_counts_apply();

-- Idempotency-Key records: the first response to a key, replayed to retries for 24 hours.
CREATE TABLE IF NOT EXISTS idempotency_keys
(
    owner_id     text   NOT NULL,
    key          text   NOT NULL,
    request_hash text   NOT NULL,
    status       int    NOT NULL,
    headers      text   NOT NULL,
    body         text   NOT NULL,
    created_at   bigint NOT NULL,
    PRIMARY KEY (owner_id, key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys (created_at);
