using ApiPlatform.Gateway.Hosting;

namespace ApiPlatform.Silo.Hosting;

/// <summary>
/// Builds the process: an Orleans silo with the HTTP API co-hosted, or (<c>Orleans:Role=Gateway</c>) the HTTP API
/// alone as a client of the cluster. Tests build it the same way.
/// </summary>
public static class SiloHost
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);

        var mode = StorageMode.From(builder.Configuration);
        SigningKeySetup.Apply(builder, mode);
        // Without an SMTP host, account mail is written as files next to the data.
        builder.Configuration["Email:PickupDirectory"] ??= Path.Combine(mode.DataDirectory, "mail");

        var cluster = builder.Configuration.ReadValidated<OrleansClusterOptions, OrleansClusterOptionsValidator>(OrleansClusterOptions.Section);
        var tracing = TelemetryOptions.From(builder.Configuration).TracingEnabled(builder.Configuration);
        var dashboard = DashboardSetup.Options(builder.Configuration);
        builder.AddTelemetry(cluster);
        builder.AddManagement();
        if (cluster.IsGatewayOnly)
        {
            builder.AddPlatformClient(mode, cluster, tracing);
            builder.AddGateway();
        }
        else
        {
            builder.AddPlatformSilo(mode, cluster, tracing, dashboard);
            builder.AddGateway();
            builder.Services.AddHostedService<BootstrapAdminService>();
            if (dashboard.Enabled)
            {
                builder.AddDashboardAccess();
            }
        }

        var app = builder.Build();
        app.UseGateway();
        if (!cluster.IsGatewayOnly && dashboard.Enabled)
        {
            app.MapPlatformDashboard();
        }

        return app;
    }
}
