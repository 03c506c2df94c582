-- Single-use tokens sent by mail (password reset, email verification): only the secret's SHA-256 is stored.
CREATE TABLE IF NOT EXISTS account_tokens
(
    id          TEXT   NOT NULL PRIMARY KEY,
    kind        TEXT   NOT NULL,
    user_id     TEXT   NOT NULL,
    email       TEXT   NOT NULL,
    secret_hash TEXT   NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);
CREATE INDEX IF NOT EXISTS account_tokens_user ON account_tokens (user_id, kind) WHERE used_at IS NULL;
CREATE INDEX IF NOT EXISTS account_tokens_expires ON account_tokens (expires_at);

-- Invitations to organizations, owned by the organization's grain; the token's secret is stored as its SHA-256.
CREATE TABLE IF NOT EXISTS invitations
(
    id               TEXT   NOT NULL PRIMARY KEY,
    org_id           TEXT   NOT NULL,
    email            TEXT   NOT NULL,
    email_normalized TEXT   NOT NULL,
    role             TEXT   NOT NULL,
    invited_by       TEXT   NOT NULL,
    secret_hash      TEXT   NOT NULL,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    accepted_at      INTEGER,
    accepted_by      TEXT,
    revoked_at       INTEGER
);
CREATE INDEX IF NOT EXISTS invitations_org ON invitations (org_id, created_at, id);
CREATE INDEX IF NOT EXISTS invitations_expires ON invitations (expires_at);
