using ApiPlatform.Gateway.Hosting;
using ApiPlatform.Grains;
using ApiPlatform.Grains.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Orleans.Configuration;

namespace ApiPlatform.Silo.Hosting;

/// <summary>
/// The gateway-only role: the HTTP API as an Orleans client of a cluster. It finds the silos through the same
/// clustering table (PostgreSQL), or the local silo's gateway port in the embedded mode, and holds no grains,
/// no schema and no database connection of its own beyond membership discovery.
/// </summary>
internal static class ClientSetup
{
    public static WebApplicationBuilder AddPlatformClient(this WebApplicationBuilder builder, StorageMode mode, OrleansClusterOptions cluster, bool tracing)
    {
        builder.Services.TryAddSingleton(ApiClock.System);
        // Grains answer with the database failures they met; the client must read them as the silos wrote them.
        builder.Services.AddDatabaseExceptionSerialization();
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = cluster.ClusterId;
                o.ServiceId = cluster.ServiceId;
            });
            var responseTimeout = FailureDetection.ResponseTimeout(builder.Configuration);
            client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = responseTimeout);
            var tls = builder.Configuration.ReadValidated<OrleansTlsOptions, OrleansTlsOptionsValidator>(OrleansTlsOptions.Section);
            if (tls.Enabled)
            {
                var certificate = tls.LoadCertificate();
                client.UseTls(certificate, o => tls.Apply(o, certificate));
            }

            if (tracing)
            {
                // The trace of a request goes on into the silos that serve its grain calls.
                client.AddActivityPropagation();
            }

            if (mode.IsPostgres)
            {
                client.UseAdoNetClustering(o =>
                {
                    o.Invariant = DatabaseMigrator.PostgresInvariant;
                    o.ConnectionString = mode.PostgresConnectionString;
                });
            }
            else
            {
                client.UseLocalhostClustering(cluster.GatewayPort, cluster.ServiceId, cluster.ClusterId);
            }
        });

        builder.Services.AddHealthChecks()
            .AddCheck<ClusterReachableCheck>("cluster", tags: [Gateway.Endpoints.HealthApi.ReadyTag]);
        return builder;
    }
}

/// <summary>Ready while at least one silo of the cluster answers.</summary>
internal sealed class ClusterReachableCheck(IClusterClient client) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var hosts = await client.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true).WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
            return hosts.Count > 0
                ? HealthCheckResult.Healthy($"{hosts.Count} active silo(s)")
                : HealthCheckResult.Unhealthy("no active silo");
        }
        catch (Exception e) when (e is TimeoutException or OrleansException or OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("cluster unreachable");
        }
    }
}
