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

    /// <summary>
    /// Share of requests (and webhook deliveries) that start a recorded trace; a caller's sampled <c>traceparent</c> is
    /// always followed. Unset: <c>OTEL_TRACES_SAMPLER_ARG</c>, else <see cref="DefaultTraceSampleRatio"/>.
    /// </summary>
    public double? TraceSampleRatio { get; set; }

    /// <summary>
    /// The share traced when nothing says otherwise: one request in ten. Every request traced costs a cheap read about
    /// a third of its throughput (bench/README.md, "What telemetry costs"); a tenth keeps enough traces to find a slow
    /// path and keeps the cost within the 10 % budget.
    /// </summary>
    public const double DefaultTraceSampleRatio = 0.1;

    /// <summary>The standard sampler variables (the OpenTelemetry SDK environment specification).</summary>
    public const string SamplerVariable = "OTEL_TRACES_SAMPLER";
    public const string SamplerArgVariable = "OTEL_TRACES_SAMPLER_ARG";

    public bool TracingEnabled(IConfiguration configuration) =>
        Tracing ?? !string.IsNullOrWhiteSpace(configuration[OtlpEndpointVariable]);

    /// <summary>
    /// The sampler the configuration asks for: <c>OTEL_TRACES_SAMPLER</c> (<c>always_on</c>, <c>always_off</c>,
    /// <c>traceidratio</c> and their <c>parentbased_</c> forms) with <c>OTEL_TRACES_SAMPLER_ARG</c> as the ratio; unset,
    /// <c>parentbased_traceidratio</c> at <see cref="TraceSampleRatio"/> (default <see cref="DefaultTraceSampleRatio"/>).
    /// Null with the reason when a value is not understood.
    /// </summary>
    public (bool ParentBased, double Ratio)? Sampler(IConfiguration configuration, out string? error)
    {
        error = null;
        var ratio = TraceSampleRatio ?? DefaultTraceSampleRatio;
        if (configuration[SamplerArgVariable] is { Length: > 0 } arg)
        {
            if (!double.TryParse(arg, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var parsed)
                || parsed is < 0 or > 1)
            {
                error = $"{SamplerArgVariable} must be a ratio between 0 and 1.";
                return null;
            }

            ratio = TraceSampleRatio ?? parsed;
        }

        var name = configuration[SamplerVariable]?.Trim().ToLowerInvariant();
        (bool, double)? sampler = name switch
        {
            null or "" or "parentbased_traceidratio" => (true, ratio),
            "traceidratio" => (false, ratio),
            "parentbased_always_on" => (true, 1),
            "always_on" => (false, 1),
            "parentbased_always_off" => (true, 0),
            "always_off" => (false, 0),
            _ => null,
        };
        if (sampler is null)
        {
            error = $"{SamplerVariable}={name} is not supported: use always_on, always_off, traceidratio or their parentbased_ forms.";
        }

        return sampler;
    }

    public static TelemetryOptions From(IConfiguration configuration) =>
        configuration.GetSection(Section).Get<TelemetryOptions>() ?? new TelemetryOptions();
}

/// <summary>Validates <see cref="TelemetryOptions"/> at start-up.</summary>
public sealed class TelemetryOptionsValidator(IConfiguration configuration) : IValidateOptions<TelemetryOptions>
{
    public ValidateOptionsResult Validate(string? name, TelemetryOptions options)
    {
        if (options.TraceSampleRatio is < 0 or > 1)
        {
            return ValidateOptionsResult.Fail("Telemetry:TraceSampleRatio must be between 0 and 1.");
        }

        return options.Sampler(configuration, out var error) is null ? ValidateOptionsResult.Fail(error!) : ValidateOptionsResult.Success;
    }
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
        // An invalid sampler fails start-up through the validator; until then, the default.
        var (parentBased, ratio) = options.Sampler(configuration, out _) ?? (true, TelemetryOptions.DefaultTraceSampleRatio);
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
                .SetSampler(parentBased ? new ParentBasedSampler(new ProductRootSampler(ratio)) : new ProductRootSampler(ratio, sampleChildren: true))
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
    /// Npgsql's) and this host's own; other hosts' dropped, and the <see cref="Unasked"/>. Request durations get
    /// sub-millisecond buckets.
    /// </summary>
    private static Func<Instrument, MetricStreamConfiguration?> OwnInstruments(IMeterFactory own) => instrument =>
        instrument.Meter.Scope is not null && !ReferenceEquals(instrument.Meter.Scope, own) ? MetricStreamConfiguration.Drop
        : Unasked.Contains(instrument.Name) ? MetricStreamConfiguration.Drop
        : instrument.Name is "http.server.request.duration" or "http.client.request.duration"
            ? new ExplicitBucketHistogramConfiguration { Boundaries = DurationBuckets }
            : null;

    /// <summary>
    /// Instruments recorded on every request that no dashboard, document or alert uses: each costs a tag lookup per
    /// request. Routing's match attempts repeat what <c>http.server.request.duration</c> already counts by route.
    /// </summary>
    private static readonly HashSet<string> Unasked = new(StringComparer.Ordinal) { "aspnetcore.routing.match_attempts" };

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
    /// is dropped, so traces show the work a user caused rather than the cluster's heartbeat. Wrapped in a
    /// <see cref="ParentBasedSampler"/> for the <c>parentbased_</c> samplers; for the others (<paramref name="sampleChildren"/>)
    /// a span with a parent is kept by the ratio of its trace id, as the standard <c>traceidratio</c> does.
    /// </summary>
    private sealed class ProductRootSampler(double ratio, bool sampleChildren = false) : Sampler
    {
        private const string HttpRequestActivity = "Microsoft.AspNetCore.Hosting.HttpRequestIn";
        private readonly TraceIdRatioBasedSampler _ratio = new(ratio);

        public override SamplingResult ShouldSample(in SamplingParameters samplingParameters)
        {
            if (sampleChildren && samplingParameters.ParentContext.TraceId != default)
            {
                return _ratio.ShouldSample(samplingParameters);
            }

            var name = samplingParameters.Name;
            var isRoot = name == HttpRequestActivity || ApiTelemetry.RootSpanNames.Contains(name);
            return isRoot ? _ratio.ShouldSample(samplingParameters) : new SamplingResult(SamplingDecision.Drop);
        }
    }
}

