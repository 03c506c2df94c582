using ApiPlatform.Grains.Storage;

namespace ApiPlatform.StorageTests;

public sealed class PostgresSiloTests
{
    [Fact]
    public async Task Two_silos_form_a_cluster_and_persist_state_and_reminders()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var database = await PostgresTestDatabase.CreateAsync(ct);
        await DatabaseMigrator.MigratePostgresAsync(database.ConnectionString, null, ct);
        var clusterId = "cluster-" + Guid.NewGuid().ToString("N");
        var serviceId = "svc-" + Guid.NewGuid().ToString("N");

        await using var first = await TestSilo.StartPostgresAsync(database.ConnectionString, clusterId, serviceId, ct);

        var grain = first.Grains.GetGrain<ICounterGrain>("alpha");
        await grain.SetAsync(1, "first");
        await grain.SetAsync(42, "answer");
        await grain.RegisterReminderAsync("tick");
        Assert.True(await grain.HasReminderAsync("tick"));
        // Update (version bump) and delete-by-ETag of a second reminder.
        await grain.RegisterReminderAsync("tock");
        await grain.RegisterReminderAsync("tock");
        await grain.UnregisterReminderAsync("tock");
        Assert.False(await grain.HasReminderAsync("tock"));

        // Clearing deletes the row (DeleteStateOnClear); the next write inserts it afresh.
        var scratch = first.Grains.GetGrain<ICounterGrain>("scratch");
        await scratch.SetAsync(5, "gone soon");
        await scratch.ClearAsync();
        await scratch.DeactivateAsync();
        Assert.Equal(0, (await scratch.GetAsync()).Value);

        // Re-activation reads the state back from PostgreSQL, not from memory.
        await grain.DeactivateAsync();
        var state = await grain.GetAsync();
        Assert.Equal(42, state.Value);
        Assert.Equal("answer", state.Note);

        await using var second = await TestSilo.StartPostgresAsync(database.ConnectionString, clusterId, serviceId, ct);

        // Both silos are Active (3) in the database-backed membership table.
        await using (var connection = await database.OpenAsync(ct))
        {
            var active = await PostgresMigrationTests.ReadStringsAsync(connection,
                $"SELECT Address || ':' || Port FROM OrleansMembershipTable WHERE DeploymentId = '{clusterId}' AND Status = 3", ct);
            Assert.Equal(2, active.Count);

            var storedVersions = await PostgresMigrationTests.ReadStringsAsync(connection,
                $"SELECT Version::text FROM OrleansStorage WHERE ServiceId = '{serviceId}'", ct);
            Assert.Equal(["2"], storedVersions);

            var reminders = await PostgresMigrationTests.ReadStringsAsync(connection,
                $"SELECT ReminderName FROM OrleansRemindersTable WHERE ServiceId = '{serviceId}'", ct);
            Assert.Equal(["tick"], reminders);
        }

        // The second silo sees the first one's membership and reaches the same grain and state.
        var management = second.Grains.GetGrain<IManagementGrain>(0);
        var hosts = await management.GetHosts(onlyActive: true, ct);
        Assert.Equal(2, hosts.Count);
        var viaSecond = await second.Grains.GetGrain<ICounterGrain>("alpha").GetAsync();
        Assert.Equal(42, viaSecond.Value);

        await second.StopAsync(ct);
        await first.StopAsync(ct);

        // A graceful stop leaves no Active rows behind.
        await using (var connection = await database.OpenAsync(ct))
        {
            var stillActive = await PostgresMigrationTests.ReadStringsAsync(connection,
                $"SELECT Address FROM OrleansMembershipTable WHERE DeploymentId = '{clusterId}' AND Status = 3", ct);
            Assert.Empty(stillActive);
        }
    }
}
