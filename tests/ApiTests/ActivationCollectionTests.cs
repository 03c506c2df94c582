using ApiPlatform.ApiTests.Infrastructure;
using ApiPlatform.Silo.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace ApiPlatform.ApiTests;

/// <summary>Orleans:ActivationCollection sets when the silo collects idle activations; bad values stop the start.</summary>
public sealed class ActivationCollectionTests
{
    [Fact]
    public async Task The_configured_age_and_quantum_reach_the_silo()
    {
        await using var server = new EmbeddedServer
        {
            Overrides = { ["Orleans:ActivationCollection:Age"] = "00:02:00", ["Orleans:ActivationCollection:Quantum"] = "00:00:20" },
        };
        await server.StartAsync();

        var collection = server.Services.GetRequiredService<IOptions<GrainCollectionOptions>>().Value;
        Assert.Equal(TimeSpan.FromMinutes(2), collection.CollectionAge);
        Assert.Equal(TimeSpan.FromSeconds(20), collection.CollectionQuantum);
    }

    [Fact]
    public void Unset_values_keep_Orleans_defaults()
    {
        var defaults = new GrainCollectionOptions();
        var applied = new GrainCollectionOptions();
        new ActivationCollectionOptions().ApplyTo(applied);

        Assert.Equal((defaults.CollectionAge, defaults.CollectionQuantum), (applied.CollectionAge, applied.CollectionQuantum));
        Assert.True(new ActivationCollectionOptionsValidator().Validate(null, new ActivationCollectionOptions()).Succeeded);
    }

    [Theory]
    [InlineData("00:00:30", null)]          // shorter than Orleans' default quantum of a minute
    [InlineData("00:01:00", "00:01:00")]    // not longer than the quantum
    [InlineData(null, "00:00:00")]
    public void An_age_not_longer_than_the_quantum_is_refused(string? age, string? quantum)
    {
        var options = new ActivationCollectionOptions
        {
            Age = age is null ? null : TimeSpan.Parse(age, System.Globalization.CultureInfo.InvariantCulture),
            Quantum = quantum is null ? null : TimeSpan.Parse(quantum, System.Globalization.CultureInfo.InvariantCulture),
        };

        var result = new ActivationCollectionOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("Orleans:ActivationCollection", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_value_stops_the_start()
    {
        await using var server = new EmbeddedServer { Overrides = { ["Orleans:ActivationCollection:Age"] = "00:00:10" } };

        var error = await Assert.ThrowsAsync<OptionsValidationException>(server.StartAsync);
        Assert.Contains("Age longer than Quantum", error.Message, StringComparison.Ordinal);
    }
}
