-- The user directory's search text: one lower-cased text of every searchable field (email, username, first name, last
-- name, "first last"), separated by char(1) so a match cannot span two fields. SQLite (the embedded single-node mode)
-- scans it: its index for substrings, FTS5's trigram tokenizer, would need a second table kept in step by triggers;
-- a single node's directory is small enough for a scan of one column (see docs/architecture.md).
ALTER TABLE users_directory ADD COLUMN search TEXT GENERATED ALWAYS AS (
    lower(email || char(1) || username || char(1) || coalesce(first_name, '') || char(1) || coalesce(last_name, '')
          || char(1) || coalesce(first_name, '') || ' ' || coalesce(last_name, ''))
) VIRTUAL;
