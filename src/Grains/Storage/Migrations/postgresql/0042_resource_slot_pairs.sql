-- Filter-then-sort on indexed metadata fields: one composite index per ordered pair of slots (equality field first,
-- then the sort field, then id for the cursor's tiebreak), so `filter[metadata.a]=v&sort=metadata.b` is an index
-- range scan that stops after the page, whatever share of the type's resources matches (without it the page walks
-- the sort field's index and reads every row to test the filter: ten rows read per row returned at 10 %). Partial on
-- both slots being set: a resource pays for the pairs of its own type's fields only (k fields: k * (k - 1) entries;
-- none for undeclared types), and the number of indexes stays fixed however many tenants declare types. See
-- docs/architecture.md (indexed metadata fields).
CREATE INDEX IF NOT EXISTS resources_type_ix1_ix2 ON resources (owner_id, type, ix1, ix2, id) WHERE ix1 IS NOT NULL AND ix2 IS NOT NULL;
CREATE INDEX IF NOT EXISTS resources_type_ix1_ix3 ON resources (owner_id, type, ix1, ix3, id) WHERE ix1 IS NOT NULL AND ix3 IS NOT NULL;
CREATE INDEX IF NOT EXISTS resources_type_ix1_ix4 ON resources (owner_id, type, ix1, ix4, id) WHERE ix1 IS NOT NULL AND ix4 IS NOT NULL;
CREATE INDEX IF NOT EXISTS resources_type_ix1_ix5 ON resources (owner_id, type, ix1, ix5, id) WHERE ix1 IS NOT NULL AND ix5 IS NOT NULL;
CREATE INDEX IF NOT EXISTS resources_type_ix2_ix1 ON resources (owner_id, type, ix2, ix1, id) WHERE ix2 IS NOT NULL AND ix1 IS NOT NULL;
CREATE INDEX IF NOT EXISTS resources_type_ix2_ix3 ON resources (owner_id, type, ix2, ix3, id) WHERE ix2 IS NOT NULL AND ix3 IS NOT NULL;
CREATE INDEX IF NOT EXISTS resources_type_ix2_ix4 ON resources (owner_id, type, ix2, ix4, id) WHERE ix2 IS NOT NULL AND ix4 IS NOT NULL;
CREATE INDEX IF NOT EXISTS resources_type_ix2_ix5 ON resources (owner_id, type, ix2, ix5, id) WHERE ix2 IS NOT NULL AND ix5 IS NOT NULL;
CREATE INDEX IF NOT EXISTS resources_type_ix3_ix1 ON resources (owner_id, type, ix3, ix1, id) WHERE ix3 IS NOT NULL AND ix1 IS NOT NULL;
CREATE INDEX IF NOT EXISTS resources_type_ix3_ix2 ON resources (owner_id, type, ix3, ix2, id) WHERE ix3 IS NOT NULL AND ix2 IS NOT NULL;
CREATE INDEX IF NOT EXISTS resources_type_ix3_ix4 ON resources (owner_id, type, ix3, ix4, id) WHERE ix3 IS NOT NULL AND ix4 IS NOT NULL;
CREATE INDEX IF NOT EXISTS resources_type_ix3_ix5 ON resources (owner_id, type, ix3, ix5, id) WHERE ix3 IS NOT NULL AND ix5 IS NOT NULL;
CREATE INDEX IF NOT EXISTS resources_type_ix4_ix1 ON resources (owner_id, type, ix4, ix1, id) WHERE ix4 IS NOT NULL AND ix1 IS NOT NULL;
CREATE INDEX IF NOT EXISTS resources_type_ix4_ix2 ON resources (owner_id, type, ix4, ix2, id) WHERE ix4 IS NOT NULL AND ix2 IS NOT NULL;
CREATE INDEX IF NOT EXISTS resources_type_ix4_ix3 ON resources (owner_id, type, ix4, ix3, id) WHERE ix4 IS NOT NULL AND ix3 IS NOT NULL;
CREATE INDEX IF NOT EXISTS resources_type_ix4_ix5 ON resources (owner_id, type, ix4, ix5, id) WHERE ix4 IS NOT NULL AND ix5 IS NOT NULL;
CREATE INDEX IF NOT EXISTS resources_type_ix5_ix1 ON resources (owner_id, type, ix5, ix1, id) WHERE ix5 IS NOT NULL AND ix1 IS NOT NULL;
CREATE INDEX IF NOT EXISTS resources_type_ix5_ix2 ON resources (owner_id, type, ix5, ix2, id) WHERE ix5 IS NOT NULL AND ix2 IS NOT NULL;
CREATE INDEX IF NOT EXISTS resources_type_ix5_ix3 ON resources (owner_id, type, ix5, ix3, id) WHERE ix5 IS NOT NULL AND ix3 IS NOT NULL;
CREATE INDEX IF NOT EXISTS resources_type_ix5_ix4 ON resources (owner_id, type, ix5, ix4, id) WHERE ix5 IS NOT NULL AND ix4 IS NOT NULL;
