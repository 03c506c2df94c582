namespace ApiPlatform.Grains.Storage;

/// <summary>The SQL flavours the project's own stores speak: embedded SQLite and PostgreSQL.</summary>
public enum SqlDialect
{
    Sqlite,
    Postgres,
}

/// <summary>SQL fragments whose spelling differs between the dialects.</summary>
public static class SqlDialects
{
    /// <summary>
    /// The <c>WHERE</c> of an upsert's <c>DO UPDATE</c> that updates only when one of <paramref name="columns"/> differs
    /// (nulls compared as values): an upsert that would rewrite a row with what it holds writes nothing, no new row
    /// version and no WAL (activations re-upsert their projection rows, and most find them unchanged).
    /// </summary>
    public static string WhereChanged(this SqlDialect dialect, string table, params string[] columns) =>
        "WHERE " + string.Join(" OR ", columns.Select(c =>
            $"{table}.{c} {(dialect == SqlDialect.Postgres ? "IS DISTINCT FROM" : "IS NOT")} excluded.{c}"));
}
