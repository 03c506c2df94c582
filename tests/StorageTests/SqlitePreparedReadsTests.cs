using ApiPlatform.Grains.Storage;
using Microsoft.Data.Sqlite;

namespace ApiPlatform.StorageTests;

/// <summary>
/// Reads on SQLite reuse a compiled statement per connection (<see cref="Database.ExecuteReaderAsync"/>). These tests
/// hold the reuse to what a fresh statement per read gives: each read sees its own parameters and the schema as it is
/// now, reads in parallel do not mix, a failed read does not spoil the connection, and a finished read leaves no
/// transaction open that would stop a checkpoint.
/// </summary>
public sealed class SqlitePreparedReadsTests
{
    private static async Task<(SqliteTestFile File, Database Database)> CreateAsync()
    {
        var file = new SqliteTestFile();
        Directory.CreateDirectory(Path.GetDirectoryName(file.FilePath)!);
        await using (var connection = new SqliteConnection(file.ConnectionString))
        {
            await connection.OpenAsync(TestContext.Current.CancellationToken);
            await ExecuteAsync(connection, """
                PRAGMA journal_mode=WAL;
                CREATE TABLE t (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, v TEXT NOT NULL);
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
                INSERT INTO t (id, owner, v) SELECT i, 'o' || (i % 10), 'v' || i FROM n;
                """);
        }

        return (file, new Database(SqliteFactory.Instance.CreateDataSource(file.ConnectionString), SqlDialect.Sqlite));
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
    }

    private static async Task<List<string>> ReadAsync(Database database, string sql, params (string Name, object Value)[] parameters)
    {
        await using var command = database.CreateCommand(sql);
        foreach (var (name, value) in parameters)
        {
            command.With(name, value);
        }

        await using var read = await database.ExecuteReaderAsync(command, TestContext.Current.CancellationToken);
        var values = new List<string>();
        while (await read.Reader.ReadAsync(TestContext.Current.CancellationToken))
        {
            values.Add(string.Join("|", Enumerable.Range(0, read.Reader.FieldCount).Select(i => Convert.ToString(read.Reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture))));
        }

        return values;
    }

    private const string ByOwner = "SELECT v FROM t WHERE owner = @owner ORDER BY id LIMIT @n";

    [Fact]
    public async Task The_same_statement_read_again_sees_each_reads_own_parameters()
    {
        var (file, database) = await CreateAsync();
        using var _ = file;
        await using var __ = database;

        for (var round = 0; round < 3; round++)
        {
            for (var owner = 0; owner < 10; owner++)
            {
                var n = 1 + ((owner + round) % 4);
                var expected = Enumerable.Range(0, n).Select(k => "v" + (owner == 0 ? 10 * (k + 1) : owner + (10 * k))).ToList();
                Assert.Equal(expected, await ReadAsync(database, ByOwner, ("owner", "o" + owner), ("n", n)));
            }
        }
    }

    [Fact]
    public async Task A_statement_compiled_before_a_schema_change_reads_the_schema_as_it_is_after_it()
    {
        var (file, database) = await CreateAsync();
        using var _ = file;
        await using var __ = database;
        const string all = "SELECT * FROM t WHERE id = @id";
        Assert.Equal(["1|o1|v1"], await ReadAsync(database, all, ("id", 1)));

        await using (var connection = new SqliteConnection(file.ConnectionString))
        {
            await connection.OpenAsync(TestContext.Current.CancellationToken);
            await ExecuteAsync(connection, "ALTER TABLE t ADD COLUMN extra TEXT NOT NULL DEFAULT 'x'; CREATE INDEX t_owner ON t (owner, id);");
        }

        Assert.Equal(["1|o1|v1|x"], await ReadAsync(database, all, ("id", 1)));
        Assert.Equal(["v1", "v11"], await ReadAsync(database, ByOwner, ("owner", "o1"), ("n", 2)));
    }

    [Fact]
    public async Task Parallel_reads_each_get_their_own_rows()
    {
        var (file, database) = await CreateAsync();
        using var _ = file;
        await using var __ = database;

        var results = await Task.WhenAll(Enumerable.Range(0, 400).Select(i => Task.Run(async () =>
        {
            var id = 1 + (i % 200);
            return (id, await ReadAsync(database, "SELECT id, v FROM t WHERE id = @id", ("id", id)));
        }, TestContext.Current.CancellationToken)));

        foreach (var (id, rows) in results)
        {
            Assert.Equal([$"{id}|v{id}"], rows);
        }
    }

    [Fact]
    public async Task A_read_that_fails_leaves_the_next_reads_working()
    {
        var (file, database) = await CreateAsync();
        using var _ = file;
        await using var __ = database;

        await Assert.ThrowsAsync<SqliteException>(() => ReadAsync(database, "SELECT v FROM missing_table WHERE id = @id", ("id", 1)));
        await Assert.ThrowsAnyAsync<Exception>(() => ReadAsync(database, ByOwner, ("owner", "o1")));
        // A read abandoned after its first row, its reader disposed with rows left.
        await using (var command = database.CreateCommand("SELECT v FROM t ORDER BY id"))
        {
            await using var read = await database.ExecuteReaderAsync(command, TestContext.Current.CancellationToken);
            Assert.True(await read.Reader.ReadAsync(TestContext.Current.CancellationToken));
        }

        Assert.Equal(["v2", "v12"], await ReadAsync(database, ByOwner, ("owner", "o2"), ("n", 2)));
        Assert.Equal(["v1"], await ReadAsync(database, "SELECT v FROM t ORDER BY id LIMIT 1"));
    }

    [Fact]
    public async Task Finished_reads_hold_no_transaction_so_a_writer_can_checkpoint_the_whole_log()
    {
        var (file, database) = await CreateAsync();
        using var _ = file;
        await using var __ = database;
        await Task.WhenAll(Enumerable.Range(0, 16).Select(i => ReadAsync(database, ByOwner, ("owner", "o" + (i % 10)), ("n", 5))));

        await using var writer = new SqliteConnection(file.ConnectionString);
        await writer.OpenAsync(TestContext.Current.CancellationToken);
        await ExecuteAsync(writer, "UPDATE t SET v = 'changed' WHERE id = 1");
        await using var checkpoint = writer.CreateCommand();
        checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
        await using var result = await checkpoint.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        Assert.True(await result.ReadAsync(TestContext.Current.CancellationToken));
        Assert.Equal(0, result.GetInt32(0)); // not SQLITE_BUSY: no lent connection still had a read open
        await result.DisposeAsync();

        Assert.Equal(["changed"], await ReadAsync(database, "SELECT v FROM t WHERE id = @id", ("id", 1)));
    }
}
