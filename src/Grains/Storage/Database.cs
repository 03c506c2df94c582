using System.Data.Common;
using Npgsql;
using NpgsqlTypes;

namespace ApiPlatform.Grains.Storage;

/// <summary>
/// The project's own SQL database: one data source and the dialect it speaks, registered once per silo and injected
/// into every store. Stores ask it for commands and connections and branch on <see cref="Dialect"/> where the SQL
/// differs; they never build a data source of their own.
/// </summary>
public sealed class Database(DbDataSource dataSource, SqlDialect dialect) : IAsyncDisposable
{
    private readonly SqlitePreparedReads? _sqliteReads = dialect == SqlDialect.Sqlite ? new SqlitePreparedReads(dataSource.ConnectionString) : null;

    public DbDataSource DataSource => dataSource;

    public SqlDialect Dialect => dialect;

    public bool IsPostgres => dialect == SqlDialect.Postgres;

    /// <summary>A command on a pooled connection of its own (one statement, one implicit transaction).</summary>
    public DbCommand CreateCommand(string? sql = null) => dataSource.CreateCommand(sql);

    /// <summary>An open pooled connection, for work that needs a transaction or several statements.</summary>
    public ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken = default) =>
        dataSource.OpenConnectionAsync(cancellationToken);

    /// <summary>
    /// Runs a read built on a command from <see cref="CreateCommand"/>. On SQLite the statement is compiled once per
    /// connection and reused (<see cref="SqlitePreparedReads"/>); on PostgreSQL the command runs as it is (Npgsql
    /// prepares repeated statements itself). Use it for the hot read shapes; dispose the result to give the
    /// connection back.
    /// </summary>
    public async ValueTask<PreparedRead> ExecuteReaderAsync(DbCommand command, CancellationToken cancellationToken = default) =>
        _sqliteReads is null
            ? new PreparedRead(await command.ExecuteReaderAsync(cancellationToken))
            : await _sqliteReads.ExecuteReaderAsync(command, cancellationToken);

    public ValueTask DisposeAsync() => _sqliteReads?.DisposeAsync() ?? ValueTask.CompletedTask;

    /// <summary>
    /// Has the data source work out, once at start, how it writes the array parameters of the batched statements
    /// (the group commit of creates, acknowledgements, webhook results). Npgsql does that on first use, with
    /// reflection and converters built at run time; on a freshly started silo that first use sat inside the first
    /// group commit, which every create of the first second waits for (bench/README.md, "The SSE tail"). One round
    /// trip that touches no table; nothing on SQLite.
    /// </summary>
    public async Task WarmUpAsync(CancellationToken cancellationToken = default)
    {
        if (!IsPostgres)
        {
            return;
        }

        await using var command = (NpgsqlCommand)CreateCommand(
            "SELECT cardinality(@a) + cardinality(@b) + cardinality(@c) + cardinality(@d) + cardinality(@e) + cardinality(@f)");
        var p = command.Parameters;
        p.Add(SqlCommandExtensions.Texts("a", []));
        p.Add(new NpgsqlParameter<string[]>("b", Array.Empty<string>()));
        p.Add(new NpgsqlParameter<long[]>("c", Array.Empty<long>()));
        p.Add(new NpgsqlParameter<int[]>("d", Array.Empty<int>()));
        p.Add(new NpgsqlParameter<int?[]>("e", NpgsqlDbType.Array | NpgsqlDbType.Integer) { TypedValue = [] });
        p.Add(new NpgsqlParameter<long?[]>("f", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = [] });
        await command.ExecuteScalarAsync(cancellationToken);
    }
}
