using ApiPlatform.Grains.Storage;
using Microsoft.Data.Sqlite;

namespace ApiPlatform.StorageTests;

public sealed class SqliteSiloTests
{
    [Fact]
    public async Task Grain_state_written_by_one_silo_is_read_by_the_next_silo_on_the_same_file()
    {
        var ct = TestContext.Current.CancellationToken;
        using var file = new SqliteTestFile();
        await DatabaseMigrator.MigrateSqliteAsync(file.ConnectionString, null, ct);
        var serviceId = "svc-" + Guid.NewGuid().ToString("N");
        var clusterId = "cluster-" + Guid.NewGuid().ToString("N");

        await using (var first = await TestSilo.StartSqliteAsync(file.ConnectionString, clusterId, serviceId, ct))
        {
            var grain = first.Grains.GetGrain<ICounterGrain>("alpha");
            await grain.SetAsync(1, "first");
            // Exercises the UPDATE path (version 1 -> 2) on top of the initial INSERT.
            await grain.SetAsync(42, "answer");

            var other = first.Grains.GetGrain<ICounterGrain>("beta");
            await other.SetAsync(7, "to be cleared");
            await other.ClearAsync();
            await other.SetAsync(8, "after clear");

            await first.StopAsync(ct);
        }

        await using (var second = await TestSilo.StartSqliteAsync(file.ConnectionString, clusterId, serviceId, ct))
        {
            var state = await second.Grains.GetGrain<ICounterGrain>("alpha").GetAsync();
            Assert.Equal(42, state.Value);
            Assert.Equal("answer", state.Note);

            var other = await second.Grains.GetGrain<ICounterGrain>("beta").GetAsync();
            Assert.Equal(8, other.Value);

            // Writing again continues from the stored version rather than conflicting.
            await second.Grains.GetGrain<ICounterGrain>("alpha").SetAsync(43, "again");
            await second.StopAsync(ct);
        }

        await using var connection = new SqliteConnection(file.ConnectionString);
        await connection.OpenAsync(ct);
        var rows = await SqliteMigrationTests.ReadStringsAsync(connection, "SELECT Version FROM OrleansStorage ORDER BY Version", ct);
        // alpha: insert, update, update = 3; beta: insert, clear (row deleted), insert again = 1.
        Assert.Equal(["1", "3"], rows);
    }
}
