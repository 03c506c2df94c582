using System.Net;
using System.Net.Sockets;
using ApiPlatform.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace ApiPlatform.StorageTests;

/// <summary>
/// Starts and stops a real in-process silo host configured the way production would configure
/// the Orleans ADO.NET providers against a migrated database.
/// </summary>
internal sealed class TestSilo : IAsyncDisposable
{
    public const string StorageName = "store";

    private readonly IHost host;

    private TestSilo(IHost host) => this.host = host;

    public IClusterClient Client => host.Services.GetRequiredService<IClusterClient>();

    public IGrainFactory Grains => host.Services.GetRequiredService<IGrainFactory>();

    /// <summary>A silo on localhost clustering (no database membership) with SQLite grain state.</summary>
    public static Task<TestSilo> StartSqliteAsync(string connectionString, string clusterId, string serviceId, CancellationToken ct) =>
        StartAsync(silo =>
        {
            silo.UseLocalhostClustering(FreeTcpPort(), FreeTcpPort(), serviceId: serviceId, clusterId: clusterId);
            silo.AddAdoNetGrainStorage(StorageName, options =>
            {
                options.Invariant = DatabaseMigrator.SqliteInvariant;
                options.ConnectionString = connectionString;
                // As the production silo: clearing deletes the row (needs DeleteStorageKey).
                options.DeleteStateOnClear = true;
            });
        }, ct);

    /// <summary>A silo whose membership, grain state and reminders all live in PostgreSQL.</summary>
    public static Task<TestSilo> StartPostgresAsync(string connectionString, string clusterId, string serviceId, CancellationToken ct) =>
        StartAsync(silo =>
        {
            silo.Configure<ClusterOptions>(options =>
            {
                options.ClusterId = clusterId;
                options.ServiceId = serviceId;
            });
            silo.ConfigureEndpoints(IPAddress.Loopback, FreeTcpPort(), FreeTcpPort());
            silo.UseAdoNetClustering(options =>
            {
                options.Invariant = DatabaseMigrator.PostgresInvariant;
                options.ConnectionString = connectionString;
            });
            silo.AddAdoNetGrainStorage(StorageName, options =>
            {
                options.Invariant = DatabaseMigrator.PostgresInvariant;
                options.ConnectionString = connectionString;
                options.DeleteStateOnClear = true;
            });
            silo.UseAdoNetReminderService(options =>
            {
                options.Invariant = DatabaseMigrator.PostgresInvariant;
                options.ConnectionString = connectionString;
            });
        }, ct);

    public async Task StopAsync(CancellationToken ct) => await host.StopAsync(ct);

    public async ValueTask DisposeAsync()
    {
        try
        {
            // Graceful stop so the silo marks itself Dead in the membership table; bounded so a
            // failed test cannot hang the run.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await host.StopAsync(timeout.Token);
        }
        finally
        {
            host.Dispose();
        }
    }

    private static async Task<TestSilo> StartAsync(Action<ISiloBuilder> configure, CancellationToken ct)
    {
        // No defaults: appsettings / environment variables of the machine must not leak in.
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddProvider(new TestOutputLoggerProvider());
        builder.UseOrleans(silo =>
        {
            configure(silo);
            // 10.x persists state as bytes produced by the registered IGrainStorageSerializer.
            silo.UseSystemTextJsonGrainStorageSerializer();
        });

        var host = builder.Build();
        try
        {
            await host.StartAsync(ct);
        }
        catch
        {
            host.Dispose();
            throw;
        }

        return new TestSilo(host);
    }

    // Binding to port 0 lets the OS pick a free port; it is released again for the silo. A race
    // with another process grabbing it in between is possible but unlikely on a test machine.
    private static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
