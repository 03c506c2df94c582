using ApiPlatform.Grains.Storage;
using Npgsql;

namespace ApiPlatform.StorageTests;

public sealed class PostgresMigrationTests
{
    [Fact]
    public async Task Migrating_twice_is_a_no_op_the_second_time()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var database = await PostgresTestDatabase.CreateAsync(ct);

        await DatabaseMigrator.MigratePostgresAsync(database.ConnectionString, null, ct);
        await using var connection = await database.OpenAsync(ct);
        var firstRun = await ReadStringsAsync(connection, "SELECT version || ':' || applied_at::text FROM schema_migrations ORDER BY version", ct);
        var queriesAfterFirst = await ReadStringsAsync(connection, "SELECT QueryKey || ':' || md5(QueryText) FROM OrleansQuery ORDER BY QueryKey", ct);

        // Also through the data source overload.
        await using (var dataSource = NpgsqlDataSource.Create(database.ConnectionString))
        {
            await DatabaseMigrator.MigratePostgresAsync(dataSource, null, ct);
        }

        Assert.Equal(firstRun, await ReadStringsAsync(connection, "SELECT version || ':' || applied_at::text FROM schema_migrations ORDER BY version", ct));
        Assert.Equal(queriesAfterFirst, await ReadStringsAsync(connection, "SELECT QueryKey || ':' || md5(QueryText) FROM OrleansQuery ORDER BY QueryKey", ct));
        Assert.Equal(
            DatabaseMigrator.PostgresScripts.Select(s => $"{s.Version}_{s.Name}"),
            await ReadStringsAsync(connection, "SELECT version || '_' || name FROM schema_migrations ORDER BY version", ct));

        var tables = await ReadStringsAsync(connection, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'", ct);
        foreach (var table in new[] { "orleansquery", "orleansmembershipversiontable", "orleansmembershiptable", "orleansstorage", "orleansreminderstable", "schema_migrations" })
        {
            Assert.Contains(table, tables);
        }
    }

    [Fact]
    public async Task Concurrent_migrations_on_an_empty_database_apply_each_script_once()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var database = await PostgresTestDatabase.CreateAsync(ct);

        // Separate data sources behave like separate silo processes (own pools, own sessions).
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            await using var dataSource = NpgsqlDataSource.Create(database.ConnectionString);
            await DatabaseMigrator.MigratePostgresAsync(dataSource, null, ct);
        }, ct)));

        await using var connection = await database.OpenAsync(ct);
        Assert.Equal(
            DatabaseMigrator.PostgresScripts.Select(s => s.Version.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            await ReadStringsAsync(connection, "SELECT version::text FROM schema_migrations ORDER BY schema_migrations.version", ct));
    }

    [Fact]
    public async Task Every_query_key_the_providers_load_is_registered()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var database = await PostgresTestDatabase.CreateAsync(ct);
        await DatabaseMigrator.MigratePostgresAsync(database.ConnectionString, null, ct);

        await using var connection = await database.OpenAsync(ct);
        var keys = await ReadStringsAsync(connection, "SELECT QueryKey FROM OrleansQuery", ct);

        // Spelled out here rather than taken from OrleansQueryKeys, so a key dropped from both the
        // list and the scripts still fails. Source: DbStoredQueries / AdoNetGrainStorage in 10.4.2.
        string[] clustering =
        [
            "InsertMembershipVersionKey", "InsertMembershipKey", "UpdateMembershipKey", "UpdateIAmAlivetimeKey",
            "MembershipReadRowKey", "MembershipReadAllKey", "GatewaysQueryKey", "DeleteMembershipTableEntriesKey",
            "CleanupDefunctSiloEntriesKey", "CleanupDefunctSiloEntryKey",
        ];
        string[] persistence = ["WriteToStorageKey", "ReadFromStorageKey", "ClearStorageKey", "DeleteStorageKey"];
        string[] reminders =
        [
            "UpsertReminderRowKey", "ReadReminderRowsKey", "ReadReminderRowKey", "ReadRangeRows1Key",
            "ReadRangeRows2Key", "DeleteReminderRowKey", "DeleteReminderRowsKey",
        ];
        Assert.Equal(clustering.Concat(persistence).Concat(reminders).Order(), keys.Order());
        Assert.Equal(OrleansQueryKeys.Postgres.Order(), keys.Order());
    }

    internal static async Task<List<string>> ReadStringsAsync(NpgsqlConnection connection, string sql, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var values = new List<string>();
        while (await reader.ReadAsync(ct))
        {
            values.Add(reader.GetString(0));
        }

        return values;
    }
}
