using ApiPlatform.Gateway.Hosting;

namespace ApiPlatform.Silo.Hosting;

/// <summary>Builds the process: an Orleans silo with the HTTP API co-hosted. Tests build it the same way.</summary>
public static class SiloHost
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);

        var mode = StorageMode.From(builder.Configuration);
        SigningKeySetup.Apply(builder, mode);

        builder.AddPlatformSilo(mode);
        builder.AddGateway();
        builder.Services.AddHostedService<BootstrapAdminService>();

        var app = builder.Build();
        app.UseGateway();
        return app;
    }
}
