-- Accounts: the directory shows whether an account is disabled and its email verified.
ALTER TABLE users_directory ADD COLUMN IF NOT EXISTS email_verified boolean NOT NULL DEFAULT FALSE;
ALTER TABLE users_directory ADD COLUMN IF NOT EXISTS disabled boolean NOT NULL DEFAULT FALSE;
-- The few administrators are looked up by role when one is demoted or disabled.
CREATE INDEX IF NOT EXISTS users_directory_role ON users_directory (role) WHERE role = 'admin';

-- Sessions: each session grain's state (its refresh-token family) as a row, so a user's sessions can be listed and
-- ended or expired ones purged. Timestamps are microseconds since the Unix epoch.
CREATE TABLE IF NOT EXISTS sessions
(
    id             text   NOT NULL PRIMARY KEY,
    user_id        text   NOT NULL,
    created_at     bigint NOT NULL,
    last_used_at   bigint NOT NULL,
    expires_at     bigint NOT NULL,
    max_expires_at bigint NOT NULL,
    revoked_at     bigint,
    lifetime_ms    bigint NOT NULL,
    user_agent     text,
    current_hash   text   NOT NULL,
    used_hashes    text   NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id, last_used_at);
CREATE INDEX IF NOT EXISTS sessions_expires ON sessions (expires_at);
CREATE INDEX IF NOT EXISTS sessions_revoked ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- API keys as listed (never a secret or its hash): one row per key, written by the key's grain. The owner's key
-- registry keeps only its active keys, so it no longer grows with every key ever revoked.
CREATE TABLE IF NOT EXISTS api_keys
(
    id             text   NOT NULL PRIMARY KEY,
    owner_id       text   NOT NULL,
    created_by     text   NOT NULL,
    created_by_key text,
    name           text   NOT NULL,
    plan           text   NOT NULL,
    scopes         text   NOT NULL,
    last_four      text   NOT NULL,
    expires_at     bigint,
    created_at     bigint NOT NULL,
    rolled_at      bigint,
    revoked_at     bigint,
    -- Creation order per owner (the list's order): one more than the owner's last, set at insert.
    seq            bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS api_keys_owner ON api_keys (owner_id, seq);
CREATE INDEX IF NOT EXISTS api_keys_created_by_key ON api_keys (created_by_key) WHERE created_by_key IS NOT NULL;
