-- Webhooks, the transactional outbox and the delivery log (see the PostgreSQL script for the reasoning).
CREATE TABLE IF NOT EXISTS webhooks
(
    id                         TEXT    NOT NULL PRIMARY KEY,
    owner_id                   TEXT    NOT NULL,
    url                        TEXT    NOT NULL,
    events                     TEXT    NOT NULL,
    description                TEXT,
    secret                     TEXT    NOT NULL,
    previous_secret            TEXT,
    previous_secret_expires_at INTEGER,
    enabled                    INTEGER NOT NULL,
    disabled_reason            TEXT,
    created_at                 INTEGER NOT NULL,
    updated_at                 INTEGER NOT NULL,
    version                    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS webhooks_owner ON webhooks (owner_id, created_at, id);

CREATE TABLE IF NOT EXISTS events_outbox
(
    id         TEXT    NOT NULL PRIMARY KEY,
    owner_id   TEXT    NOT NULL,
    type       TEXT    NOT NULL,
    payload    TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_outbox_created ON events_outbox (created_at, id);

CREATE TABLE IF NOT EXISTS webhook_deliveries
(
    id               TEXT    NOT NULL PRIMARY KEY,
    webhook_id       TEXT    NOT NULL,
    owner_id         TEXT    NOT NULL,
    event_id         TEXT    NOT NULL,
    event_type       TEXT    NOT NULL,
    payload          TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    attempts         INTEGER NOT NULL,
    last_status_code INTEGER,
    last_error       TEXT,
    next_attempt_at  INTEGER,
    locked_until     INTEGER NOT NULL,
    redelivery_of    TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS webhook_deliveries_event ON webhook_deliveries (webhook_id, event_id) WHERE redelivery_of IS NULL;
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX IF NOT EXISTS webhook_deliveries_webhook ON webhook_deliveries (webhook_id, created_at);
