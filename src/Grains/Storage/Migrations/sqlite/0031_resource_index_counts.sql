-- Counters per owner, type, index slot, stored value and status (see the PostgreSQL script).
CREATE TABLE IF NOT EXISTS resource_index_counts
(
    owner_id TEXT    NOT NULL,
    type     TEXT    NOT NULL,
    slot     INTEGER NOT NULL,
    value    TEXT    NOT NULL,
    status   TEXT    NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (owner_id, type, slot, value, status)
) WITHOUT ROWID;

CREATE TRIGGER IF NOT EXISTS resources_index_count_insert AFTER INSERT ON resources
    WHEN NEW.ix1 IS NOT NULL OR NEW.ix2 IS NOT NULL OR NEW.ix3 IS NOT NULL OR NEW.ix4 IS NOT NULL OR NEW.ix5 IS NOT NULL
BEGIN
    INSERT INTO resource_index_counts (owner_id, type, slot, value, status, n)
    SELECT NEW.owner_id, NEW.type, slot, value, NEW.status, 1
    FROM (SELECT 1 AS slot, NEW.ix1 AS value UNION ALL SELECT 2, NEW.ix2 UNION ALL SELECT 3, NEW.ix3
          UNION ALL SELECT 4, NEW.ix4 UNION ALL SELECT 5, NEW.ix5)
    WHERE value IS NOT NULL
    ON CONFLICT (owner_id, type, slot, value, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER IF NOT EXISTS resources_index_count_delete AFTER DELETE ON resources
    WHEN OLD.ix1 IS NOT NULL OR OLD.ix2 IS NOT NULL OR OLD.ix3 IS NOT NULL OR OLD.ix4 IS NOT NULL OR OLD.ix5 IS NOT NULL
BEGIN
    UPDATE resource_index_counts SET n = n - 1
    WHERE owner_id = OLD.owner_id AND type = OLD.type AND status = OLD.status
      AND ((slot = 1 AND value = OLD.ix1) OR (slot = 2 AND value = OLD.ix2) OR (slot = 3 AND value = OLD.ix3)
           OR (slot = 4 AND value = OLD.ix4) OR (slot = 5 AND value = OLD.ix5));
END;

CREATE TRIGGER IF NOT EXISTS resources_index_count_update AFTER UPDATE OF type, status, ix1, ix2, ix3, ix4, ix5 ON resources
    WHEN OLD.type IS NOT NEW.type OR OLD.status IS NOT NEW.status OR OLD.ix1 IS NOT NEW.ix1 OR OLD.ix2 IS NOT NEW.ix2
         OR OLD.ix3 IS NOT NEW.ix3 OR OLD.ix4 IS NOT NEW.ix4 OR OLD.ix5 IS NOT NEW.ix5
BEGIN
    UPDATE resource_index_counts SET n = n - 1
    WHERE owner_id = OLD.owner_id AND type = OLD.type AND status = OLD.status
      AND ((slot = 1 AND value = OLD.ix1) OR (slot = 2 AND value = OLD.ix2) OR (slot = 3 AND value = OLD.ix3)
           OR (slot = 4 AND value = OLD.ix4) OR (slot = 5 AND value = OLD.ix5));
    INSERT INTO resource_index_counts (owner_id, type, slot, value, status, n)
    SELECT NEW.owner_id, NEW.type, slot, value, NEW.status, 1
    FROM (SELECT 1 AS slot, NEW.ix1 AS value UNION ALL SELECT 2, NEW.ix2 UNION ALL SELECT 3, NEW.ix3
          UNION ALL SELECT 4, NEW.ix4 UNION ALL SELECT 5, NEW.ix5)
    WHERE value IS NOT NULL
    ON CONFLICT (owner_id, type, slot, value, status) DO UPDATE SET n = n + 1;
END;
