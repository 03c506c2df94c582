-- The event log, per-owner numbering, acknowledgements and counters (see the PostgreSQL script for the reasoning).
-- SQLite has one writer at a time, so the numbering follows commit order here by construction.
CREATE TABLE IF NOT EXISTS event_owners
(
    owner_id TEXT    NOT NULL PRIMARY KEY,
    last_seq INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS event_acks
(
    owner_id  TEXT    NOT NULL PRIMARY KEY,
    acked_seq INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS events
(
    owner_id   TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    id         TEXT    NOT NULL,
    type       TEXT    NOT NULL,
    payload    TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    deliver    INTEGER NOT NULL,
    PRIMARY KEY (owner_id, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS events_id ON events (id);
CREATE INDEX IF NOT EXISTS events_owner_created ON events (owner_id, created_at, seq);
CREATE INDEX IF NOT EXISTS events_owner_type_created ON events (owner_id, type, created_at, seq);
CREATE INDEX IF NOT EXISTS events_created ON events (created_at);

CREATE TABLE IF NOT EXISTS event_counts
(
    owner_id TEXT    NOT NULL,
    type     TEXT    NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (owner_id, type)
) WITHOUT ROWID;

CREATE TRIGGER IF NOT EXISTS events_count_insert AFTER INSERT ON events
BEGIN
    INSERT INTO event_counts (owner_id, type, n) VALUES (NEW.owner_id, NEW.type, 1)
    ON CONFLICT (owner_id, type) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER IF NOT EXISTS events_count_delete AFTER DELETE ON events
BEGIN
    UPDATE event_counts SET n = n - 1 WHERE owner_id = OLD.owner_id AND type = OLD.type;
END;

INSERT INTO events (owner_id, seq, id, type, payload, created_at, deliver)
SELECT owner_id, row_number() OVER (PARTITION BY owner_id ORDER BY created_at, id), id, type, payload, created_at, 1
FROM events_outbox;
INSERT INTO event_owners (owner_id, last_seq)
SELECT owner_id, count(*) FROM events_outbox GROUP BY owner_id;
DROP TABLE events_outbox;

ALTER TABLE webhook_deliveries ADD COLUMN event_seq INTEGER;
ALTER TABLE webhook_deliveries DROP COLUMN locked_until;
DROP INDEX IF EXISTS webhook_deliveries_due;
CREATE INDEX IF NOT EXISTS webhook_deliveries_pending ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS webhook_deliveries_finished ON webhook_deliveries (updated_at) WHERE status <> 'pending';

ALTER TABLE webhooks ADD COLUMN final_seq INTEGER;
