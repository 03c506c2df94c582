-- Orleans' ADO.NET persistence provider loads its SQL from this table at start-up
-- (`SELECT QueryKey, QueryText FROM OrleansQuery WHERE QueryKey = ...`) and afterwards only
-- runs those texts, binding parameters and reading result columns by name. The next script
-- creates the state table and registers the query texts.
CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  TEXT NOT NULL PRIMARY KEY,
    QueryText TEXT NOT NULL
);
