using ApiPlatform.Grains.Storage;
using Microsoft.Data.Sqlite;

namespace ApiPlatform.StorageTests;

public sealed class SqliteMigrationTests
{
    [Fact]
    public async Task Migrating_a_fresh_file_twice_creates_the_schema_once()
    {
        var ct = TestContext.Current.CancellationToken;
        using var file = new SqliteTestFile();

        await DatabaseMigrator.MigrateSqliteAsync(file.ConnectionString, null, ct);
        await DatabaseMigrator.MigrateSqliteAsync(file.ConnectionString, null, ct);

        await using var connection = new SqliteConnection(file.ConnectionString);
        await connection.OpenAsync(ct);

        var tables = await ReadStringsAsync(connection, "SELECT name FROM sqlite_master WHERE type = 'table'", ct);
        Assert.Contains("OrleansQuery", tables);
        Assert.Contains("OrleansStorage", tables);
        Assert.Contains("schema_migrations", tables);

        var keys = await ReadStringsAsync(connection, "SELECT QueryKey FROM OrleansQuery", ct);
        Assert.Equal(OrleansQueryKeys.Persistence.Order(), keys.Order());

        var versions = await ReadStringsAsync(connection, "SELECT version || '_' || name FROM schema_migrations ORDER BY version", ct);
        Assert.Equal(DatabaseMigrator.SqliteScripts.Select(s => $"{s.Version}_{s.Name}"), versions);

        var journalMode = await ReadStringsAsync(connection, "PRAGMA journal_mode", ct);
        Assert.Equal(["wal"], journalMode);
    }

    [Fact]
    public async Task Concurrent_migrations_of_one_file_apply_each_script_once()
    {
        var ct = TestContext.Current.CancellationToken;
        using var file = new SqliteTestFile();

        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ =>
            Task.Run(() => DatabaseMigrator.MigrateSqliteAsync(file.ConnectionString, null, ct), ct)));

        await using var connection = new SqliteConnection(file.ConnectionString);
        await connection.OpenAsync(ct);
        var versions = await ReadStringsAsync(connection, "SELECT version FROM schema_migrations ORDER BY version", ct);
        Assert.Equal(DatabaseMigrator.SqliteScripts.Select(s => s.Version.ToString(System.Globalization.CultureInfo.InvariantCulture)), versions);
    }

    [Fact]
    public void Register_sqlite_provider_factory_is_idempotent()
    {
        DatabaseMigrator.RegisterSqliteProviderFactory();
        DatabaseMigrator.RegisterSqliteProviderFactory();

        Assert.Same(SqliteFactory.Instance, System.Data.Common.DbProviderFactories.GetFactory(DatabaseMigrator.SqliteInvariant));
    }

    [Fact]
    public void Embedded_scripts_are_found_and_ordered()
    {
        Assert.Equal([1, 2, 3, 4, 5, 10, 20, 21, 22, 30, 31, 40, 41, 42, 43], DatabaseMigrator.SqliteScripts.Select(s => s.Version));
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8, 10, 20, 21, 22, 30, 31, 40, 41, 42, 43, 44], DatabaseMigrator.PostgresScripts.Select(s => s.Version));
        Assert.All(DatabaseMigrator.PostgresScripts.Concat(DatabaseMigrator.SqliteScripts), s => Assert.False(string.IsNullOrWhiteSpace(s.Sql)));
    }

    internal static async Task<List<string>> ReadStringsAsync(SqliteConnection connection, string sql, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync(ct);
        var values = new List<string>();
        while (await reader.ReadAsync(ct))
        {
            values.Add(Convert.ToString(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture)!);
        }

        return values;
    }
}
