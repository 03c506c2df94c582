-- Exact totals for a filter on one indexed field without counting rows: one counter per owner, type,
-- slot, stored value and status, kept by triggers in the same transaction as the row change (as
-- resource_counts is for type and status). A total for `filter[metadata.f]=v` or `[in]=a,b` (with
-- or without filter[status]) sums a handful of counters; ranges and combinations of metadata
-- filters are counted on the slot's index instead.
CREATE TABLE IF NOT EXISTS resource_index_counts
(
    owner_id text     NOT NULL,
    type     text     COLLATE "C" NOT NULL,
    slot     smallint NOT NULL,
    value    text     COLLATE "C" NOT NULL,
    status   text     COLLATE "C" NOT NULL,
    n        bigint   NOT NULL,
    PRIMARY KEY (owner_id, type, slot, value, status)
);

-- Inserts: once per statement (a group commit inserts many rows), counters in key order.
CREATE OR REPLACE FUNCTION resource_index_counts_insert_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO resource_index_counts (owner_id, type, slot, value, status, n)
    SELECT r.owner_id, r.type, s.slot, s.value, r.status, count(*)
    FROM inserted_rows r
    CROSS JOIN LATERAL (VALUES (1, r.ix1), (2, r.ix2), (3, r.ix3), (4, r.ix4), (5, r.ix5)) AS s(slot, value)
    WHERE s.value IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (owner_id, type, slot, value, status) DO UPDATE SET n = resource_index_counts.n + excluded.n;
    RETURN NULL;
END;
$$;

-- Updates and deletes: the old values out, the new ones in, as one statement in key order, so
-- two writes moving rows between the same counters take their locks in the same order.
CREATE OR REPLACE FUNCTION resource_index_counts_apply() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO resource_index_counts (owner_id, type, slot, value, status, n)
    SELECT owner_id, type, slot, value, status, SUM(d) FROM (
        SELECT OLD.owner_id, OLD.type, s.slot, s.value, OLD.status, -1
        FROM (VALUES (1, OLD.ix1), (2, OLD.ix2), (3, OLD.ix3), (4, OLD.ix4), (5, OLD.ix5)) AS s(slot, value)
        WHERE s.value IS NOT NULL
        UNION ALL
        SELECT NEW.owner_id, NEW.type, s.slot, s.value, NEW.status, 1
        FROM (VALUES (1, NEW.ix1), (2, NEW.ix2), (3, NEW.ix3), (4, NEW.ix4), (5, NEW.ix5)) AS s(slot, value)
        WHERE TG_OP = 'UPDATE' AND s.value IS NOT NULL
    ) x(owner_id, type, slot, value, status, d)
    GROUP BY 1, 2, 3, 4, 5
    HAVING SUM(d) <> 0
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (owner_id, type, slot, value, status) DO UPDATE SET n = resource_index_counts.n + excluded.n;
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS resources_index_count_insert ON resources;
CREATE TRIGGER resources_index_count_insert AFTER INSERT ON resources
    REFERENCING NEW TABLE AS inserted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION resource_index_counts_insert_rows();

DROP TRIGGER IF EXISTS resources_index_count_delete ON resources;
CREATE TRIGGER resources_index_count_delete AFTER DELETE ON resources
    FOR EACH ROW WHEN (OLD.ix1 IS NOT NULL OR OLD.ix2 IS NOT NULL OR OLD.ix3 IS NOT NULL OR OLD.ix4 IS NOT NULL OR OLD.ix5 IS NOT NULL)
    EXECUTE FUNCTION resource_index_counts_apply();

DROP TRIGGER IF EXISTS resources_index_count_update ON resources;
CREATE TRIGGER resources_index_count_update AFTER UPDATE OF type, status, ix1, ix2, ix3, ix4, ix5 ON resources
    FOR EACH ROW WHEN (OLD.type IS DISTINCT FROM NEW.type OR OLD.status IS DISTINCT FROM NEW.status
        OR OLD.ix1 IS DISTINCT FROM NEW.ix1 OR OLD.ix2 IS DISTINCT FROM NEW.ix2 OR OLD.ix3 IS DISTINCT FROM NEW.ix3
        OR OLD.ix4 IS DISTINCT FROM NEW.ix4 OR OLD.ix5 IS DISTINCT FROM NEW.ix5)
    EXECUTE FUNCTION resource_index_counts_apply();
