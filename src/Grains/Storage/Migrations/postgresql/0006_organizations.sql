-- Organizations and memberships: the organization grain's state, written in one transaction per change, and the
-- source of "which organizations does this user belong to" and "who shares an organization with whom".
CREATE TABLE IF NOT EXISTS organizations
(
    id         text   NOT NULL PRIMARY KEY,
    name       text   NOT NULL,
    slug       text   NOT NULL,
    plan       text   NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    version    bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS memberships
(
    org_id    text   NOT NULL,
    user_id   text   NOT NULL,
    role      text   NOT NULL,
    joined_at bigint NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX IF NOT EXISTS memberships_user ON memberships (user_id, org_id);

-- The user directory behind GET /v1/users: one row per user, written by the user grain after its own state
-- (and rewritten whenever the grain activates, which repairs a row a crash left behind).
CREATE TABLE IF NOT EXISTS users_directory
(
    id         text   NOT NULL PRIMARY KEY,
    email      text   NOT NULL,
    username   text   NOT NULL,
    first_name text,
    last_name  text,
    avatar_url text,
    role       text   NOT NULL,
    plan       text   NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS users_directory_created ON users_directory (created_at, id);
