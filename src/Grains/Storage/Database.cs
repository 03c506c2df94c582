using System.Data.Common;

namespace ApiPlatform.Grains.Storage;

/// <summary>
/// The project's own SQL database: one data source and the dialect it speaks, registered once per silo and injected
/// into every store. Stores ask it for commands and connections and branch on <see cref="Dialect"/> where the SQL
/// differs; they never build a data source of their own.
/// </summary>
public sealed class Database(DbDataSource dataSource, SqlDialect dialect)
{
    public DbDataSource DataSource => dataSource;

    public SqlDialect Dialect => dialect;

    public bool IsPostgres => dialect == SqlDialect.Postgres;

    /// <summary>A command on a pooled connection of its own (one statement, one implicit transaction).</summary>
    public DbCommand CreateCommand(string? sql = null) => dataSource.CreateCommand(sql);

    /// <summary>An open pooled connection, for work that needs a transaction or several statements.</summary>
    public ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken = default) =>
        dataSource.OpenConnectionAsync(cancellationToken);
}
