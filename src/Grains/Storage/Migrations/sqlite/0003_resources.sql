-- Resources: the document and its query columns in one row (see the PostgreSQL script for the
-- reasoning). Timestamps are microseconds since the Unix epoch; text compares bytewise (BINARY),
-- as PostgreSQL's "C" collation does.
CREATE TABLE IF NOT EXISTS resources
(
    id          TEXT    NOT NULL PRIMARY KEY,
    owner_id    TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    description TEXT,
    type        TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    metadata    TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    version     INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS resources_owner_created ON resources (owner_id, created_at, id);
CREATE INDEX IF NOT EXISTS resources_owner_updated ON resources (owner_id, updated_at, id);
CREATE INDEX IF NOT EXISTS resources_owner_name    ON resources (owner_id, name, id);
CREATE INDEX IF NOT EXISTS resources_owner_type    ON resources (owner_id, type, created_at, id);
CREATE INDEX IF NOT EXISTS resources_owner_status  ON resources (owner_id, status, created_at, id);

CREATE TABLE IF NOT EXISTS resource_counts
(
    owner_id TEXT    NOT NULL,
    type     TEXT    NOT NULL,
    status   TEXT    NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (owner_id, type, status)
) WITHOUT ROWID;

CREATE TRIGGER IF NOT EXISTS resources_count_insert AFTER INSERT ON resources
BEGIN
    INSERT INTO resource_counts (owner_id, type, status, n) VALUES (NEW.owner_id, NEW.type, NEW.status, 1)
    ON CONFLICT (owner_id, type, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER IF NOT EXISTS resources_count_delete AFTER DELETE ON resources
BEGIN
    UPDATE resource_counts SET n = n - 1 WHERE owner_id = OLD.owner_id AND type = OLD.type AND status = OLD.status;
END;

CREATE TRIGGER IF NOT EXISTS resources_count_update AFTER UPDATE OF type, status ON resources
    WHEN OLD.type IS NOT NEW.type OR OLD.status IS NOT NEW.status
BEGIN
    UPDATE resource_counts SET n = n - 1 WHERE owner_id = OLD.owner_id AND type = OLD.type AND status = OLD.status;
    INSERT INTO resource_counts (owner_id, type, status, n) VALUES (NEW.owner_id, NEW.type, NEW.status, 1)
    ON CONFLICT (owner_id, type, status) DO UPDATE SET n = n + 1;
END;

CREATE TABLE IF NOT EXISTS idempotency_keys
(
    owner_id     TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    request_hash TEXT    NOT NULL,
    status       INTEGER NOT NULL,
    headers      TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (owner_id, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys (created_at);
