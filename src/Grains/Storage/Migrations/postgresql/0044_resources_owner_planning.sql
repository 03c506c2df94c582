-- Plan every owner's page as if the owner were one of the biggest. A page statement is prepared once per connection,
-- and after five executions PostgreSQL may keep one generic plan for it, costed for an owner of average size: with
-- thousands of small tenants that is a few rows, so the generic plan reads all of the owner's rows and sorts them,
-- which for the big tenants (the busy ones) costs many times the index walk that stops after the page
-- (bench/README.md, "Many tenants"). With n_distinct at 100, the generic estimate is the most common owner's rows, or
-- a hundredth of the table, whichever is smaller; custom plans of a known big owner still use its own count, and of
-- any other owner the least common of the known big ones. Both give the index walk for pages, and a bitmap index scan
-- for whole-owner statements. ANALYZE applies it now; autovacuum's later ANALYZEs keep it.
ALTER TABLE resources ALTER COLUMN owner_id SET (n_distinct = 100);
ANALYZE resources;
