-- GET /v1/events lists an owner's events in commit order (seq), newest first, as the stream and webhooks deliver them:
-- created_at is stamped by whichever silo made the change, before its commit, so silos' clocks (and two concurrent
-- commits on one silo) can disagree with that order. A type filter walks this index from the newest and stops after
-- the page; created_at ranges keep events_owner_created (the range's count, and its rows when the range is narrow).
DROP INDEX IF EXISTS events_owner_type_created;
CREATE INDEX IF NOT EXISTS events_owner_type_seq ON events (owner_id, type, seq);
