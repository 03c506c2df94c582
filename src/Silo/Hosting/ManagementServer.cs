using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace ApiPlatform.Silo.Hosting;

/// <summary>The management listener (configuration section <c>Management</c>).</summary>
public sealed class ManagementOptions
{
    public const string Section = "Management";

    /// <summary>
    /// Where <c>GET /metrics</c> (Prometheus text format) is served, apart from the public API: semicolon-separated
    /// URLs, <c>http://0.0.0.0:9464</c> in a pod. Empty turns the listener off.
    /// </summary>
    public string Urls { get; set; } = "http://localhost:9464";

    /// <summary>
    /// A bearer token that opens the Orleans Dashboard without an administrator's login (for operators' scripts and
    /// break-glass access). Unset: only signed-in administrators get in.
    /// </summary>
    public string? Token { get; set; }
}

/// <summary>Validates <see cref="ManagementOptions"/> at start-up.</summary>
public sealed class ManagementOptionsValidator : IValidateOptions<ManagementOptions>
{
    /// <summary>Shortest management token accepted: it is a password that never expires.</summary>
    public const int MinTokenLength = 32;

    public ValidateOptionsResult Validate(string? name, ManagementOptions options)
    {
        foreach (var url in ManagementServer.Split(options.Urls))
        {
            if (!Uri.TryCreate(url.Replace("://+", "://0.0.0.0", StringComparison.Ordinal).Replace("://*", "://0.0.0.0", StringComparison.Ordinal),
                    UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp || uri.AbsolutePath != "/")
            {
                return ValidateOptionsResult.Fail($"Management:Urls: '{url}' is not an http://host:port URL.");
            }
        }

        return options.Token is { } token && token.Length < MinTokenLength
            ? ValidateOptionsResult.Fail($"Management:Token must be at least {MinTokenLength} characters.")
            : ValidateOptionsResult.Success;
    }
}

/// <summary>
/// A second, small HTTP server in the process for operators: <c>GET /metrics</c> for Prometheus and nothing else. It
/// listens apart from the public API so that the metrics (routes, plans, grain counts) are never served to the
/// internet, and a scrape never competes with API requests for the public listener's limits. It shares the process's
/// meters and logging, and its own requests are left out of the HTTP metrics and traces.
/// </summary>
public sealed class ManagementServer(IOptions<ManagementOptions> options, MeterProvider meterProvider, ILoggerFactory loggerFactory)
    : IHostedService, IAsyncDisposable
{
    public const string MetricsPath = "/metrics";

    private WebApplication? _app;

    /// <summary>The addresses it listens on once started (with the real port where the configuration said 0).</summary>
    public IReadOnlyList<Uri> Addresses { get; private set; } = [];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var urls = Split(options.Value.Urls);
        if (urls.Count == 0)
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
        app.Use((context, next) =>
        {
            if (context.Features.Get<IHttpMetricsTagsFeature>() is { } metrics)
            {
                metrics.MetricsDisabled = true;
            }

            return next(context);
        });
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

    internal static List<string> Split(string? urls) =>
        [.. (urls ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
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
