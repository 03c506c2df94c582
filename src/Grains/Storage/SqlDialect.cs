namespace ApiPlatform.Grains.Storage;

/// <summary>The SQL flavours the project's own stores speak: embedded SQLite and PostgreSQL.</summary>
public enum SqlDialect
{
    Sqlite,
    Postgres,
}
