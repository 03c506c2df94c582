using ApiPlatform.Gateway.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace ApiPlatform.Silo.Hosting;

/// <summary>
/// A second, small HTTP server in the process for operators: <c>GET /metrics</c> for Prometheus and nothing else. It
/// listens apart from the public API so that the metrics (routes, plans, grain counts) are never served to the
/// internet, and a scrape never competes with API requests for the public listener's limits. It shares the process's
/// meters and logging; its own requests are left out of the HTTP metrics (its ASP.NET Core meters are another host's,
/// which TelemetrySetup drops) and of the traces.
/// </summary>
public sealed class ManagementServer(IOptions<ManagementOptions> options, IServiceProvider services, ILoggerFactory loggerFactory)
    : IHostedService, IAsyncDisposable
{
    public const string MetricsPath = "/metrics";

    private WebApplication? _app;

    /// <summary>The addresses it listens on once started (with the real port where the configuration said 0).</summary>
    public IReadOnlyList<Uri> Addresses { get; private set; } = [];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var urls = ManagementOptions.Split(options.Value.Urls);
        // No meter provider when metrics are off (Telemetry:Metrics=false): nothing to serve.
        if (urls.Count == 0 || services.GetService<MeterProvider>() is not { } meterProvider)
        {
            return;
        }

        // An empty builder: no configuration sources of its own, so the API's Kestrel settings and ASPNETCORE_URLS
        // cannot leak into this listener.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = typeof(ManagementServer).Assembly.GetName().Name });
        builder.WebHost.UseKestrelCore().UseUrls([.. urls]);
        builder.Services.AddSingleton(loggerFactory);
        builder.Services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        var app = builder.Build();
        app.UseOpenTelemetryPrometheusScrapingEndpoint(meterProvider, predicate: null, path: MetricsPath, configureBranchedPipeline: null, optionsName: null);
        app.Run(context =>
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        });
        await app.StartAsync(cancellationToken);
        _app = app;
        Addresses = [.. app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Select(a => new Uri(a))];
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is { } app)
        {
            await app.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _app, null) is { } app)
        {
            await app.DisposeAsync();
        }
    }
}

/// <summary>Registration of the management listener.</summary>
internal static class ManagementSetup
{
    public static WebApplicationBuilder AddManagement(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ManagementOptions>().Bind(builder.Configuration.GetSection(ManagementOptions.Section)).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ManagementOptions>, ManagementOptionsValidator>();
        builder.Services.AddSingleton<ManagementServer>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ManagementServer>());
        return builder;
    }
}
