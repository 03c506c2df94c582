using Microsoft.Extensions.DependencyInjection.Extensions;
using System.Net;
using ApiPlatform.Grains;
using ApiPlatform.Grains.Identity;
using ApiPlatform.Grains.Storage;
using Orleans.Configuration;

namespace ApiPlatform.Silo.Hosting;

/// <summary>
/// The Orleans silo for each storage mode. Embedded: localhost clustering, grain state in SQLite through Orleans'
/// ADO.NET provider, in-memory reminders. PostgreSQL: ADO.NET clustering, grain state and reminders.
/// </summary>
internal static class OrleansSetup
{
    public static WebApplicationBuilder AddPlatformSilo(this WebApplicationBuilder builder, StorageMode mode)
    {
        var cluster = builder.Configuration.GetSection(ClusterSettings.Section).Get<ClusterSettings>() ?? new ClusterSettings();
        builder.Services.AddSingleton(mode);
        builder.Services.TryAddSingleton(ApiClock.System);
        builder.Services.AddOptions<LoginThrottleOptions>().Bind(builder.Configuration.GetSection(LoginThrottleOptions.Section));

        // Registered before UseOrleans: hosted services start in order, and the silo needs the schema.
        builder.Services.AddHostedService<SchemaMigrationService>();

        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = cluster.ClusterId;
                o.ServiceId = cluster.ServiceId;
            });
            if (cluster.SiloName is { Length: > 0 } name)
            {
                silo.Configure<SiloOptions>(o => o.SiloName = name);
            }

            silo.UseSystemTextJsonGrainStorageSerializer();
            if (mode.IsPostgres)
            {
                var address = cluster.AdvertisedIPAddress is { Length: > 0 } ip ? IPAddress.Parse(ip) : IPAddress.Loopback;
                silo.ConfigureEndpoints(address, cluster.SiloPort, cluster.GatewayPort, listenOnAnyHostAddress: true);
                silo.UseAdoNetClustering(o =>
                {
                    o.Invariant = DatabaseMigrator.PostgresInvariant;
                    o.ConnectionString = mode.PostgresConnectionString;
                });
                silo.AddAdoNetGrainStorage(GrainStorage.Main, o =>
                {
                    o.Invariant = DatabaseMigrator.PostgresInvariant;
                    o.ConnectionString = mode.PostgresConnectionString;
                    o.DeleteStateOnClear = true;
                });
                silo.UseAdoNetReminderService(o =>
                {
                    o.Invariant = DatabaseMigrator.PostgresInvariant;
                    o.ConnectionString = mode.PostgresConnectionString;
                });
            }
            else
            {
                DatabaseMigrator.RegisterSqliteProviderFactory();
                silo.UseLocalhostClustering(cluster.SiloPort, cluster.GatewayPort, serviceId: cluster.ServiceId, clusterId: cluster.ClusterId);
                silo.AddAdoNetGrainStorage(GrainStorage.Main, o =>
                {
                    o.Invariant = DatabaseMigrator.SqliteInvariant;
                    o.ConnectionString = mode.SqliteConnectionString;
                    o.DeleteStateOnClear = true;
                });
                silo.UseInMemoryReminderService();
            }
        });

        builder.Services.AddHealthChecks()
            .AddCheck<SiloReadinessCheck>("silo", tags: [Gateway.Endpoints.HealthApi.ReadyTag])
            .AddCheck<StorageReadinessCheck>("storage", tags: [Gateway.Endpoints.HealthApi.ReadyTag]);
        return builder;
    }
}
