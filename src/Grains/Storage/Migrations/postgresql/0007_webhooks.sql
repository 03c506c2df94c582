-- Webhooks: endpoints per owner, the transactional outbox of events, and the delivery log. An event row is written
-- in the same transaction as the change it describes; the relay fans it out to delivery rows and deletes it; the
-- delivery worker signs and POSTs each delivery, retrying with backoff. Timestamps are microseconds (bigint).
CREATE TABLE IF NOT EXISTS webhooks
(
    id                         text    NOT NULL PRIMARY KEY,
    owner_id                   text    NOT NULL,
    url                        text    NOT NULL,
    events                     text    NOT NULL,
    description                text,
    secret                     text    NOT NULL,
    previous_secret            text,
    previous_secret_expires_at bigint,
    enabled                    boolean NOT NULL,
    disabled_reason            text,
    created_at                 bigint  NOT NULL,
    updated_at                 bigint  NOT NULL,
    version                    bigint  NOT NULL
);
CREATE INDEX IF NOT EXISTS webhooks_owner ON webhooks (owner_id, created_at, id);

CREATE TABLE IF NOT EXISTS events_outbox
(
    id         text   NOT NULL PRIMARY KEY,
    owner_id   text   NOT NULL,
    type       text   NOT NULL,
    payload    text   NOT NULL,
    created_at bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS events_outbox_created ON events_outbox (created_at, id);

CREATE TABLE IF NOT EXISTS webhook_deliveries
(
    id               text   NOT NULL PRIMARY KEY,
    webhook_id       text   NOT NULL,
    owner_id         text   NOT NULL,
    event_id         text   NOT NULL,
    event_type       text   NOT NULL,
    payload          text   NOT NULL,
    status           text   NOT NULL,
    attempts         int    NOT NULL,
    last_status_code int,
    last_error       text,
    next_attempt_at  bigint,
    locked_until     bigint NOT NULL,
    redelivery_of    text,
    created_at       bigint NOT NULL,
    updated_at       bigint NOT NULL
);
-- One fan-out delivery per webhook and event, so a relay that runs twice cannot deliver twice; a manual
-- redelivery (redelivery_of set) is a further row of the same event.
CREATE UNIQUE INDEX IF NOT EXISTS webhook_deliveries_event ON webhook_deliveries (webhook_id, event_id) WHERE redelivery_of IS NULL;
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX IF NOT EXISTS webhook_deliveries_webhook ON webhook_deliveries (webhook_id, created_at);
