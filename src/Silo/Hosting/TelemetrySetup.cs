using System.Diagnostics.Metrics;
using ApiPlatform.Grains.Telemetry;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Context.Propagation;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace ApiPlatform.Silo.Hosting;

/// <summary>Telemetry settings (configuration section <c>Telemetry</c>); export is set with the standard <c>OTEL_*</c> variables.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    /// <summary>The standard OpenTelemetry variable: when set, traces, metrics and logs are exported over OTLP.</summary>
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>
    /// Whether traces are recorded. Unset: only when an OTLP endpoint is configured, since a span nobody exports is
    /// pure cost. <c>true</c> records them anyway (for an exporter added in code, as the tests do).
    /// </summary>
    public bool? Tracing { get; set; }

    /// <summary>
    /// Whether metrics are collected at all (default true). False turns off the meter provider, and with it
    /// <c>/metrics</c> and metric export: for measuring what telemetry costs, not for production.
    /// </summary>
    public bool Metrics { get; set; } = true;

    /// <summary>Share of requests (and webhook deliveries) that start a recorded trace; a caller's sampled <c>traceparent</c> is always followed.</summary>
    public double TraceSampleRatio { get; set; } = 1.0;

    public bool TracingEnabled(IConfiguration configuration) =>
        Tracing ?? !string.IsNullOrWhiteSpace(configuration[OtlpEndpointVariable]);

    public static TelemetryOptions From(IConfiguration configuration) =>
        configuration.GetSection(Section).Get<TelemetryOptions>() ?? new TelemetryOptions();
}

/// <summary>Validates <see cref="TelemetryOptions"/> at start-up.</summary>
public sealed class TelemetryOptionsValidator : IValidateOptions<TelemetryOptions>
{
    public ValidateOptionsResult Validate(string? name, TelemetryOptions options) =>
        options.TraceSampleRatio is >= 0 and <= 1
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail("Telemetry:TraceSampleRatio must be between 0 and 1.");
}

/// <summary>
/// OpenTelemetry for both roles. Metrics are always collected (the management listener serves them to Prometheus);
/// traces and OTLP export only when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set. Logs carry trace and span ids (and,
/// during a request, its <c>request_id</c>), and the JSON console formatter writes them.
/// </summary>
internal static class TelemetrySetup
{
    /// <summary>Meters exported besides the product's: ASP.NET Core's come with its instrumentation, .NET's with the runtime's.</summary>
    public const string OrleansMeter = "Microsoft.Orleans";

    /// <summary>All of Orleans' activity sources (grain calls, placement, activation, storage).</summary>
    public const string OrleansActivitySources = "Microsoft.Orleans.*";

    /// <summary>
    /// Bucket bounds in seconds for request durations: ASP.NET Core's default starts at 5 ms, but a read served from
    /// a grain's memory takes well under a millisecond, and a latency histogram must tell those apart.
    /// </summary>
    private static readonly double[] DurationBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    public static WebApplicationBuilder AddTelemetry(this WebApplicationBuilder builder, OrleansClusterOptions cluster)
    {
        var services = builder.Services;
        var configuration = builder.Configuration;
        services.AddOptions<TelemetryOptions>().Bind(configuration.GetSection(TelemetryOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TelemetryOptions>, TelemetryOptionsValidator>();
        var options = TelemetryOptions.From(configuration);
        var tracing = options.TracingEnabled(configuration);
        var otlp = !string.IsNullOrWhiteSpace(configuration[TelemetryOptions.OtlpEndpointVariable]);

        // Every log line carries the current trace and span; the JSON formatter also writes the scopes, which is
        // where those ids and the request's request_id live.
        builder.Logging.Configure(o => o.ActivityTrackingOptions =
            ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId | ActivityTrackingOptions.ParentId);
        services.Configure<JsonConsoleFormatterOptions>(o =>
        {
            o.IncludeScopes = true;
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
        });

        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource =>
            {
                // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (read by the SDK) win over these defaults.
                if (string.IsNullOrWhiteSpace(configuration["OTEL_SERVICE_NAME"]))
                {
                    resource.AddService("api-platform", serviceInstanceId: cluster.SiloName, autoGenerateServiceInstanceId: cluster.SiloName is null);
                }

                resource.AddAttributes([new("api_platform.role", cluster.IsGatewayOnly ? "gateway" : "silo")]);
            });

        if (options.Metrics)
        {
            telemetry.WithMetrics(metrics => metrics
                .AddMeter(ApiTelemetry.Name, OrleansMeter)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddNpgsqlInstrumentation()
                .AddPrometheusExporter());
            services.ConfigureOpenTelemetryMeterProvider((provider, metrics) => metrics.AddView(OwnInstruments(provider.GetRequiredService<IMeterFactory>())));
        }

        if (tracing)
        {
            // W3C trace context only, injected by .NET's own HTTP handler: OpenTelemetry's default (trace context and
            // baggage) would have its HttpClient instrumentation inject headers itself, past the handler's propagator,
            // and webhook receivers must get none (WebhookSetup turns the handler's off).
            Sdk.SetDefaultTextMapPropagator(new TraceContextPropagator());
            telemetry.WithTracing(traces => traces
                .SetSampler(new ParentBasedSampler(new ProductRootSampler(options.TraceSampleRatio)))
                .AddAspNetCoreInstrumentation(o =>
                {
                    o.Filter = IsTracedRequest;
                    o.RecordException = true;
                })
                .AddHttpClientInstrumentation()
                .AddNpgsql()
                .AddSource(OrleansActivitySources, ApiTelemetry.Name));
        }

        if (otlp)
        {
            telemetry.WithLogging(configureBuilder: _ => { }, configureOptions: o =>
            {
                o.IncludeScopes = true;
                o.IncludeFormattedMessage = true;
            });
            // Reads OTEL_EXPORTER_OTLP_ENDPOINT, _PROTOCOL, _HEADERS and the per-signal variants.
            telemetry.UseOtlpExporter();
        }

        return builder;
    }

    /// <summary>
    /// One view for every instrument. Meters that a host creates through its <see cref="IMeterFactory"/> (ASP.NET
    /// Core's, Kestrel's, Orleans') carry that factory as their scope, and a meter provider listens to every meter of
    /// a name in the process: without this, the management listener's own ASP.NET Core meters (a second host in the
    /// process) would feed the API's HTTP series, and when one host's meters go (a test process runs many hosts) the
    /// series they share would go with them. So: process-wide meters (scope null: the product's, the runtime's,
    /// Npgsql's) and this host's own; other hosts' dropped. Request durations get sub-millisecond buckets.
    /// </summary>
    private static Func<Instrument, MetricStreamConfiguration?> OwnInstruments(IMeterFactory own) => instrument =>
        instrument.Meter.Scope is not null && !ReferenceEquals(instrument.Meter.Scope, own) ? MetricStreamConfiguration.Drop
        : instrument.Name is "http.server.request.duration" or "http.client.request.duration"
            ? new ExplicitBucketHistogramConfiguration { Boundaries = DurationBuckets }
            : null;

    /// <summary>Health probes, the dashboard's polling and the documentation pages are not worth a trace each.</summary>
    private static bool IsTracedRequest(HttpContext context)
    {
        var path = context.Request.Path;
        return !(path.StartsWithSegments("/health") || path.StartsWithSegments("/dashboard") || path.StartsWithSegments("/swagger")
            || path.StartsWithSegments("/metrics"));
    }

    /// <summary>
    /// Decides for spans without a parent: an HTTP request or a product operation starts a trace (at the configured
    /// ratio); anything else without a parent (Orleans' own membership and directory traffic, background SQL polls)
    /// is dropped, so traces show the work a user caused rather than the cluster's heartbeat.
    /// </summary>
    private sealed class ProductRootSampler(double ratio) : Sampler
    {
        private const string HttpRequestActivity = "Microsoft.AspNetCore.Hosting.HttpRequestIn";
        private readonly TraceIdRatioBasedSampler _ratio = new(ratio);

        public override SamplingResult ShouldSample(in SamplingParameters samplingParameters)
        {
            var name = samplingParameters.Name;
            var isRoot = name == HttpRequestActivity || ApiTelemetry.RootSpanNames.Contains(name);
            return isRoot ? _ratio.ShouldSample(samplingParameters) : new SamplingResult(SamplingDecision.Drop);
        }
    }
}

