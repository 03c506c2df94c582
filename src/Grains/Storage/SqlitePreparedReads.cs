using System.Collections.Concurrent;
using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace ApiPlatform.Grains.Storage;

/// <summary>
/// Read statements on SQLite that are compiled once per connection, not once per request. Microsoft.Data.Sqlite keeps a
/// compiled statement only as long as its <see cref="SqliteCommand"/> and connection live, and a pooled connection's
/// close throws it away, so every read through the data source parsed and planned its SQL again: for the first page of
/// a list that was the larger part of SQLite's share of the silo's CPU (bench/README.md, item 5). This keeps a few
/// connections open, each with its commands by SQL text, and lends one per read.
/// </summary>
/// <remarks>
/// Only single reads go through here: no transaction is ever left open on a lent connection (a reader's dispose
/// resets its statements, which ends SQLite's implicit read transaction), so checkpoints and writers are not held up.
/// A connection whose statement failed to start is closed rather than lent again. SQLite recompiles a cached statement by itself
/// when the schema changed under it (a metadata index added at run time).
/// </remarks>
internal sealed class SqlitePreparedReads(string connectionString) : IAsyncDisposable
{
    /// <summary>Compiled statements kept per connection: the read shapes of the stores are a few dozen.</summary>
    internal const int StatementsPerConnection = 128;

    private static readonly int MaxIdle = Math.Max(4, Environment.ProcessorCount * 4);
    private readonly ConcurrentBag<Session> _idle = [];
    private bool _disposed;

    /// <summary>
    /// Runs <paramref name="template"/> (its text and parameters; it is never executed itself) on a lent connection
    /// through that connection's compiled statement for the same text.
    /// </summary>
    public async ValueTask<PreparedRead> ExecuteReaderAsync(DbCommand template, CancellationToken cancellationToken)
    {
        var session = _idle.TryTake(out var idle) ? idle : await Session.OpenAsync(connectionString, cancellationToken);
        try
        {
            var command = session.Command(template.CommandText);
            command.Parameters.Clear();
            foreach (SqliteParameter parameter in template.Parameters)
            {
                command.Parameters.Add(parameter);
            }

            var reader = await command.ExecuteReaderAsync(cancellationToken);
            return new PreparedRead(reader, this, session);
        }
        catch
        {
            await session.DisposeAsync();
            throw;
        }
    }

    internal async ValueTask ReturnAsync(DbDataReader reader, Session session)
    {
        try
        {
            await reader.DisposeAsync();
        }
        catch
        {
            await session.DisposeAsync();
            throw;
        }

        if (_disposed || _idle.Count >= MaxIdle)
        {
            await session.DisposeAsync();
            return;
        }

        _idle.Add(session);
    }

    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        while (_idle.TryTake(out var session))
        {
            await session.DisposeAsync();
        }
    }

    internal sealed class Session(SqliteConnection connection) : IAsyncDisposable
    {
        private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);

        public static async Task<Session> OpenAsync(string connectionString, CancellationToken cancellationToken)
        {
            var connection = new SqliteConnection(connectionString);
            try
            {
                await connection.OpenAsync(cancellationToken);
                return new Session(connection);
            }
            catch
            {
                await connection.DisposeAsync();
                throw;
            }
        }

        public SqliteCommand Command(string sql)
        {
            if (_commands.TryGetValue(sql, out var command))
            {
                return command;
            }

            if (_commands.Count >= StatementsPerConnection)
            {
                // Shapes beyond the usual few (many different [in] lists, say) start the cache over rather than grow it.
                foreach (var old in _commands.Values)
                {
                    old.Dispose();
                }

                _commands.Clear();
            }

            command = connection.CreateCommand();
            command.CommandText = sql;
            _commands.Add(sql, command);
            return command;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var command in _commands.Values)
            {
                await command.DisposeAsync();
            }

            _commands.Clear();
            await connection.DisposeAsync();
        }
    }
}

/// <summary>
/// A reader lent by <see cref="Database.ExecuteReaderAsync"/>; disposing it gives the connection back (SQLite) or
/// closes the command's own connection (PostgreSQL).
/// </summary>
public readonly struct PreparedRead : IAsyncDisposable
{
    private readonly SqlitePreparedReads? _pool;
    private readonly SqlitePreparedReads.Session? _session;

    internal PreparedRead(DbDataReader reader, SqlitePreparedReads? pool = null, SqlitePreparedReads.Session? session = null)
    {
        Reader = reader;
        _pool = pool;
        _session = session;
    }

    public DbDataReader Reader { get; }

    public ValueTask DisposeAsync() => _pool is null ? Reader.DisposeAsync() : _pool.ReturnAsync(Reader, _session!);
}
