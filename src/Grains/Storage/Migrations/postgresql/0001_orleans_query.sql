-- Orleans' ADO.NET providers never issue hard-coded SQL against their own tables.
-- At start-up each provider runs `SELECT QueryKey, QueryText FROM OrleansQuery`,
-- caches the texts by key and from then on only executes those texts, binding
-- parameters by name (@DeploymentId, @GrainIdHash, ...) and reading result
-- columns by name. So this table is the whole contract: later scripts create
-- the tables the queries touch and register one row per query key.
--
-- QueryText is text rather than a bounded varchar so a query can grow without
-- another schema change.
CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  varchar(64) NOT NULL,
    QueryText text        NOT NULL,

    CONSTRAINT OrleansQuery_Key PRIMARY KEY (QueryKey)
);
