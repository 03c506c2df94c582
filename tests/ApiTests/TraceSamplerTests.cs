using ApiPlatform.Silo.Hosting;
using Microsoft.Extensions.Configuration;

namespace ApiPlatform.ApiTests;

/// <summary>
/// Which trace sampler the configuration asks for: the standard OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG
/// variables, the product's Telemetry:TraceSampleRatio, and the default (parent-based, a tenth).
/// </summary>
public sealed class TraceSamplerTests
{
    private static IConfiguration Configuration(string? sampler, string? arg, string? productRatio = null) =>
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [TelemetryOptions.SamplerVariable] = sampler,
            [TelemetryOptions.SamplerArgVariable] = arg,
            ["Telemetry:TraceSampleRatio"] = productRatio,
        }).Build();

    [Theory]
    [InlineData(null, null, null, true, TelemetryOptions.DefaultTraceSampleRatio)]
    [InlineData(null, "0.5", null, true, 0.5)]
    [InlineData("parentbased_traceidratio", "1", null, true, 1.0)]
    [InlineData("traceidratio", "0.25", null, false, 0.25)]
    [InlineData("TraceIdRatio", null, null, false, TelemetryOptions.DefaultTraceSampleRatio)]
    [InlineData("always_on", "0.5", null, false, 1.0)]
    [InlineData("always_off", null, null, false, 0.0)]
    [InlineData("parentbased_always_on", null, null, true, 1.0)]
    [InlineData("parentbased_always_off", null, null, true, 0.0)]
    [InlineData(null, "0.2", "1", true, 1.0)]
    [InlineData(null, null, "0.3", true, 0.3)]
    public void The_configuration_picks_the_sampler(string? sampler, string? arg, string? productRatio, bool parentBased, double ratio)
    {
        var configuration = Configuration(sampler, arg, productRatio);
        Assert.Equal((parentBased, ratio), TelemetryOptions.From(configuration).Sampler(configuration, out var error));
        Assert.Null(error);
        Assert.True(new TelemetryOptionsValidator(configuration).Validate(null, TelemetryOptions.From(configuration)).Succeeded);
    }

    [Theory]
    [InlineData("jaeger_remote", null, "OTEL_TRACES_SAMPLER=jaeger_remote is not supported")]
    [InlineData(null, "2", "OTEL_TRACES_SAMPLER_ARG must be a ratio between 0 and 1")]
    [InlineData("traceidratio", "a tenth", "OTEL_TRACES_SAMPLER_ARG must be a ratio between 0 and 1")]
    public void A_sampler_it_does_not_understand_fails_start_up_with_the_reason(string? sampler, string? arg, string reason)
    {
        var configuration = Configuration(sampler, arg);
        var result = new TelemetryOptionsValidator(configuration).Validate(null, TelemetryOptions.From(configuration));
        Assert.True(result.Failed);
        Assert.Contains(reason, result.FailureMessage, StringComparison.Ordinal);
    }
}
