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

        var cluster = builder.Configuration.GetSection(ClusterSettings.Section).Get<ClusterSettings>() ?? new ClusterSettings();
        if (cluster.IsGatewayOnly)
        {
            builder.AddPlatformClient(mode, cluster);
            builder.AddGateway();
        }
        else
        {
            builder.AddPlatformSilo(mode, cluster);
            builder.AddGateway();
            builder.Services.AddHostedService<BootstrapAdminService>();
        }

        var app = builder.Build();
        app.UseGateway();
        return app;
    }
}
