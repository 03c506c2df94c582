-- The last guard behind the uniqueness grains (UniqueIndexGrain): one row per claimed value, keyed by the value, so
-- two owners can never hold one email, username or slug at the same time, whatever happens to the grains (duplicate
-- activations while a cluster forms, a silo dying mid-claim). The grain writes here before its own state.
CREATE TABLE IF NOT EXISTS unique_claims
(
    claim_key  TEXT    NOT NULL PRIMARY KEY,
    owner_id   TEXT    NOT NULL,
    confirmed  INTEGER NOT NULL,
    claimed_at INTEGER NOT NULL
);
