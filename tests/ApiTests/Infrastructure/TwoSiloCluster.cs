using System.Security.Cryptography;

namespace ApiPlatform.ApiTests.Infrastructure;

/// <summary>
/// Two silo processes' worth of the real product (each with its own HTTP port) forming one Orleans cluster on one
/// PostgreSQL database: what a request on one silo changes, the other must see.
/// </summary>
public sealed class TwoSiloCluster : IAsyncLifetime
{
    private readonly TestDatabase _database = new();

    public TwoSiloCluster()
    {
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(48));
        First = new PostgresServer(_database, key, clusterId: null);
        Second = new PostgresServer(_database, key, First.ClusterId);
    }

    public PostgresServer First { get; }

    public PostgresServer Second { get; }

    public bool Available => First.Available;

    public async ValueTask InitializeAsync()
    {
        if (!Available)
        {
            return;
        }

        await _database.CreateAsync();
        // Started together, as a deployment would: the schema set-up must tolerate the race.
        await Task.WhenAll(First.InitializeAsync().AsTask(), Second.InitializeAsync().AsTask());
    }

    public async ValueTask DisposeAsync()
    {
        await Second.DisposeAsync();
        await First.DisposeAsync();
        await _database.DropAsync();
    }
}
