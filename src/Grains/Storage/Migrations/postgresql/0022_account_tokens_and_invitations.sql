-- Single-use tokens sent by mail (password reset, email verification): only the secret's SHA-256 is stored.
CREATE TABLE IF NOT EXISTS account_tokens
(
    id          text   NOT NULL PRIMARY KEY,
    kind        text   NOT NULL,
    user_id     text   NOT NULL,
    email       text   NOT NULL,
    secret_hash text   NOT NULL,
    created_at  bigint NOT NULL,
    expires_at  bigint NOT NULL,
    used_at     bigint
);
CREATE INDEX IF NOT EXISTS account_tokens_user ON account_tokens (user_id, kind) WHERE used_at IS NULL;
CREATE INDEX IF NOT EXISTS account_tokens_expires ON account_tokens (expires_at);

-- Invitations to organizations, owned by the organization's grain; the token's secret is stored as its SHA-256.
CREATE TABLE IF NOT EXISTS invitations
(
    id               text   NOT NULL PRIMARY KEY,
    org_id           text   NOT NULL,
    email            text   NOT NULL,
    email_normalized text   NOT NULL,
    role             text   NOT NULL,
    invited_by       text   NOT NULL,
    secret_hash      text   NOT NULL,
    created_at       bigint NOT NULL,
    expires_at       bigint NOT NULL,
    accepted_at      bigint,
    accepted_by      text,
    revoked_at       bigint
);
CREATE INDEX IF NOT EXISTS invitations_org ON invitations (org_id, created_at, id);
CREATE INDEX IF NOT EXISTS invitations_expires ON invitations (expires_at);
