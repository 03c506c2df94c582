using ApiPlatform.ApiTests.Infrastructure;
using ApiPlatform.Grains.Events;
using Microsoft.Extensions.Options;

namespace ApiPlatform.ApiTests;

/// <summary>Events:* settings are checked at start-up; a retired one is refused by name, not ignored.</summary>
public sealed class EventOptionsTests
{
    [Fact]
    public void The_defaults_are_valid()
    {
        Assert.True(new EventOptionsValidator().Validate(null, new EventOptions()).Succeeded);
    }

    [Theory]
    [InlineData("00:00:00.005")]
    [InlineData("00:00:11")]
    public void A_read_wait_out_of_range_is_refused(string wait)
    {
        var result = new EventOptionsValidator().Validate(null, new EventOptions { StreamReadWait = TimeSpan.Parse(wait, System.Globalization.CultureInfo.InvariantCulture) });

        Assert.True(result.Failed);
        Assert.Contains("Events:StreamReadWait", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_retired_poll_interval_stops_the_start_and_names_its_replacement()
    {
        await using var server = new EmbeddedServer { Overrides = { ["Events:StreamPollInterval"] = "00:00:00.020" } };

        var error = await Assert.ThrowsAsync<OptionsValidationException>(server.StartAsync);

        Assert.Contains("Events:StreamPollInterval", error.Message, StringComparison.Ordinal);
        Assert.Contains("Events:StreamReadWait", error.Message, StringComparison.Ordinal);
    }
}
