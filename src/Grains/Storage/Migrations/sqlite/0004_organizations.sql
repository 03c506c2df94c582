-- Organizations and memberships: the organization grain's state, written in one transaction per change, and the
-- source of "which organizations does this user belong to" and "who shares an organization with whom".
CREATE TABLE IF NOT EXISTS organizations
(
    id         TEXT   NOT NULL PRIMARY KEY,
    name       TEXT   NOT NULL,
    slug       TEXT   NOT NULL,
    plan       TEXT   NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version    INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS memberships
(
    org_id    TEXT   NOT NULL,
    user_id   TEXT   NOT NULL,
    role      TEXT   NOT NULL,
    joined_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX IF NOT EXISTS memberships_user ON memberships (user_id, org_id);

-- The user directory behind GET /v1/users: one row per user, written by the user grain after its own state
-- (and rewritten whenever the grain activates, which repairs a row a crash left behind).
CREATE TABLE IF NOT EXISTS users_directory
(
    id         TEXT   NOT NULL PRIMARY KEY,
    email      TEXT   NOT NULL,
    username   TEXT   NOT NULL,
    first_name TEXT,
    last_name  TEXT,
    avatar_url TEXT,
    role       TEXT   NOT NULL,
    plan       TEXT   NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS users_directory_created ON users_directory (created_at, id);
