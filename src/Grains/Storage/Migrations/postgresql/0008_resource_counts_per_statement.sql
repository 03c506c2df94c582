-- Inserts update the counters once per statement instead of once per row: a group of creates
-- (several rows in one INSERT) then adds to each (owner, type, status) counter once, holding
-- that hot row's lock for one update instead of one per row. Deletes and type/status changes
-- keep the row-level triggers of 0005 (they come one row at a time).
CREATE OR REPLACE FUNCTION resource_counts_insert_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO resource_counts (owner_id, type, status, n)
    SELECT owner_id, type, status, count(*) FROM inserted_rows GROUP BY owner_id, type, status
    ORDER BY owner_id, type, status
    ON CONFLICT (owner_id, type, status) DO UPDATE SET n = resource_counts.n + excluded.n;
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS resources_count_insert_delete ON resources;
DROP TRIGGER IF EXISTS resources_count_delete ON resources;
CREATE TRIGGER resources_count_delete AFTER DELETE ON resources
    FOR EACH ROW EXECUTE FUNCTION resource_counts_apply();

DROP TRIGGER IF EXISTS resources_count_insert ON resources;
CREATE TRIGGER resources_count_insert AFTER INSERT ON resources
    REFERENCING NEW TABLE AS inserted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION resource_counts_insert_rows();
