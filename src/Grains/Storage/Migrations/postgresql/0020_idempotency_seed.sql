-- Idempotency keys are recorded before the work starts (status 0 = pending) together with a per-use seed that the
-- ids the work creates derive from: a retry after a crash reuses the seed, a key reused after its retention gets a
-- new one. Completed records written before this migration have no seed and need none.
ALTER TABLE idempotency_keys ADD COLUMN IF NOT EXISTS seed text;
