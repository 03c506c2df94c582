-- The event log. Every event an owner produces is one row of `events`, written in the transaction of the change it
-- describes (the transactional outbox), and kept for Events:Retention. Each owner's events are numbered 1, 2, 3, ...
-- in commit order: the number comes from the owner's `event_owners` row, updated in the same transaction, whose row
-- lock is held until commit, so a committed `seq` implies every smaller one committed before it (no gaps, no
-- reordering). That order is what a consumer resumes from (SSE Last-Event-ID) and what it orders by.
--
-- `event_acks` is how far each owner's events were consumed: the webhook fan-out (in its own transaction) or the
-- acknowledgement batcher moves it; the recovery sweep republishes what stays behind it too long. `deliver` is true
-- when an enabled webhook of the owner subscribed to the type when the event committed (the fan-out has work).
-- Timestamps are microseconds since the Unix epoch (bigint), like the rest of the project's tables.
CREATE TABLE IF NOT EXISTS event_owners
(
    owner_id text   NOT NULL PRIMARY KEY,
    last_seq bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS event_acks
(
    owner_id  text   NOT NULL PRIMARY KEY,
    acked_seq bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS events
(
    owner_id   text    NOT NULL,
    seq        bigint  NOT NULL,
    id         text    NOT NULL,
    type       text    NOT NULL,
    payload    text    NOT NULL,
    created_at bigint  NOT NULL,
    deliver    boolean NOT NULL,
    PRIMARY KEY (owner_id, seq)
);
CREATE UNIQUE INDEX IF NOT EXISTS events_id ON events (id);
-- GET /v1/events: newest first, with or without filter[type] and a created_at range.
CREATE INDEX IF NOT EXISTS events_owner_created ON events (owner_id, created_at, seq);
CREATE INDEX IF NOT EXISTS events_owner_type_created ON events (owner_id, type, created_at, seq);
-- Retention: the oldest rows first, whoever owns them.
CREATE INDEX IF NOT EXISTS events_created ON events (created_at);

-- Exact totals for the event list without counting rows: one counter per owner and type, kept by triggers once per
-- statement (a group commit inserts many events in one statement; the purge deletes in batches).
CREATE TABLE IF NOT EXISTS event_counts
(
    owner_id text   NOT NULL,
    type     text   NOT NULL,
    n        bigint NOT NULL,
    PRIMARY KEY (owner_id, type)
);

CREATE OR REPLACE FUNCTION event_counts_insert_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO event_counts (owner_id, type, n)
    SELECT owner_id, type, count(*) FROM inserted_rows GROUP BY owner_id, type ORDER BY owner_id, type
    ON CONFLICT (owner_id, type) DO UPDATE SET n = event_counts.n + excluded.n;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION event_counts_delete_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE event_counts c SET n = c.n - d.n
    FROM (SELECT owner_id, type, count(*) AS n FROM deleted_rows GROUP BY owner_id, type) d
    WHERE c.owner_id = d.owner_id AND c.type = d.type;
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS events_count_insert ON events;
CREATE TRIGGER events_count_insert AFTER INSERT ON events
    REFERENCING NEW TABLE AS inserted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION event_counts_insert_rows();

DROP TRIGGER IF EXISTS events_count_delete ON events;
CREATE TRIGGER events_count_delete AFTER DELETE ON events
    REFERENCING OLD TABLE AS deleted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION event_counts_delete_rows();

-- The old outbox held events a webhook subscribed to and the relay had not moved yet: they become the first entries
-- of their owners' logs, unacknowledged, so the recovery sweep publishes them after the upgrade.
INSERT INTO events (owner_id, seq, id, type, payload, created_at, deliver)
SELECT owner_id, row_number() OVER (PARTITION BY owner_id ORDER BY created_at, id), id, type, payload, created_at, TRUE
FROM events_outbox;
INSERT INTO event_owners (owner_id, last_seq)
SELECT owner_id, count(*) FROM events_outbox GROUP BY owner_id;
DROP TABLE events_outbox;

-- Deliveries remember their event's position, so an endpoint sends in event order.
ALTER TABLE webhook_deliveries ADD COLUMN IF NOT EXISTS event_seq bigint;
-- The claim column of the polling worker is no longer used: the endpoint's grain is its deliveries' only sender.
ALTER TABLE webhook_deliveries DROP COLUMN IF EXISTS locked_until;
DROP INDEX IF EXISTS webhook_deliveries_due;
-- The recovery sweep's question: which endpoints have a delivery due soon.
CREATE INDEX IF NOT EXISTS webhook_deliveries_pending ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
-- Delivery retention: finished deliveries, oldest first.
CREATE INDEX IF NOT EXISTS webhook_deliveries_finished ON webhook_deliveries (updated_at) WHERE status <> 'pending';

-- Set when the owner was deleted: the endpoint still receives the owner's events up to this one (the deletion
-- itself included), once each, and nothing after.
ALTER TABLE webhooks ADD COLUMN IF NOT EXISTS final_seq bigint;
