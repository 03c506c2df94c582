-- The user directory's search, index-backed: one lower-cased text of every searchable field (email, username, first
-- name, last name, "first last"), separated by chr(1) so a match cannot span two fields (search text may not contain
-- control characters), with a trigram index that serves LIKE '%term%' for terms of three or more characters.
-- pg_trgm ships with PostgreSQL (contrib; Debian's postgresql package) and is a trusted extension: the database's
-- owner may create it without superuser rights.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

ALTER TABLE users_directory ADD COLUMN IF NOT EXISTS search text GENERATED ALWAYS AS (
    lower(email || chr(1) || username || chr(1) || coalesce(first_name, '') || chr(1) || coalesce(last_name, '')
          || chr(1) || coalesce(first_name, '') || ' ' || coalesce(last_name, ''))
) STORED;

CREATE INDEX IF NOT EXISTS users_directory_search_trgm ON users_directory USING gin (search gin_trgm_ops);
