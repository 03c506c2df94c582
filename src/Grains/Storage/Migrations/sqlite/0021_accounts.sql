-- Accounts: the directory shows whether an account is disabled and its email verified.
ALTER TABLE users_directory ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users_directory ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
-- The few administrators are looked up by role when one is demoted or disabled.
CREATE INDEX IF NOT EXISTS users_directory_role ON users_directory (role) WHERE role = 'admin';

-- Sessions: each session grain's state (its refresh-token family) as a row, so a user's sessions can be listed and
-- ended or expired ones purged. Timestamps are microseconds since the Unix epoch.
CREATE TABLE IF NOT EXISTS sessions
(
    id             TEXT    NOT NULL PRIMARY KEY,
    user_id        TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    last_used_at   INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    max_expires_at INTEGER NOT NULL,
    revoked_at     INTEGER,
    lifetime_ms    INTEGER NOT NULL,
    user_agent     TEXT,
    current_hash   TEXT    NOT NULL,
    used_hashes    TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id, last_used_at);
CREATE INDEX IF NOT EXISTS sessions_expires ON sessions (expires_at);
CREATE INDEX IF NOT EXISTS sessions_revoked ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- API keys as listed (never a secret or its hash): one row per key, written by the key's grain. The owner's key
-- registry keeps only its active keys, so it no longer grows with every key ever revoked.
CREATE TABLE IF NOT EXISTS api_keys
(
    id             TEXT    NOT NULL PRIMARY KEY,
    owner_id       TEXT    NOT NULL,
    created_by     TEXT    NOT NULL,
    created_by_key TEXT,
    name           TEXT    NOT NULL,
    plan           TEXT    NOT NULL,
    scopes         TEXT    NOT NULL,
    last_four      TEXT    NOT NULL,
    expires_at     INTEGER,
    created_at     INTEGER NOT NULL,
    rolled_at      INTEGER,
    revoked_at     INTEGER,
    -- Creation order per owner (the list's order): one more than the owner's last, set at insert.
    seq            INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS api_keys_owner ON api_keys (owner_id, seq);
CREATE INDEX IF NOT EXISTS api_keys_created_by_key ON api_keys (created_by_key) WHERE created_by_key IS NOT NULL;
