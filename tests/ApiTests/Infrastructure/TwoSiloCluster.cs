using System.Security.Cryptography;

namespace ApiPlatform.ApiTests.Infrastructure;

/// <summary>
/// Two silo processes' worth of the real product (each with its own HTTP port) forming one Orleans cluster on one
/// PostgreSQL database, plus a gateway-only instance: what a request on one changes, the others must see.
/// </summary>
public sealed class TwoSiloCluster : IAsyncLifetime
{
    private readonly TestDatabase _database = new();

    public TwoSiloCluster()
    {
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(48));
        First = new PostgresServer(_database, key, clusterId: null);
        Second = new PostgresServer(_database, key, First.ClusterId);
        Gateway = new PostgresServer(_database, key, First.ClusterId) { Overrides = { ["Orleans:Role"] = "Gateway" } };
    }

    /// <summary>The gateway-only role: the same HTTP API as an Orleans client of the two silos.</summary>
    public PostgresServer Gateway { get; }

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
        // One after the other, so each test starts from one known order; tests/ClusterTests starts three real
        // processes at once to cover the simultaneous start. (Silos started together here once lost the bootstrap
        // administrator's login: each created an administrator of its own id. 45f3beb derived the id from the email,
        // and BootstrapTests covers silos bootstrapping at once.)
        await First.InitializeAsync();
        await Second.InitializeAsync();
        await Gateway.InitializeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Second.DisposeAsync();
        await First.DisposeAsync();
        await _database.DropAsync();
    }
}
