using Microsoft.Extensions.Options;

namespace ApiPlatform.Gateway.Events;

/// <summary>Server-Sent Events settings of the gateway (configuration section <c>Events</c>).</summary>
public sealed class EventStreamOptions
{
    public const string Section = "Events";

    /// <summary>A comment line is sent after this much silence, so proxies and clients see the connection alive.</summary>
    public TimeSpan Heartbeat { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Events held for one connection that the client has not read yet; past it the connection catches up from the
    /// log instead (nothing is lost, the client is just behind).
    /// </summary>
    public int ConnectionBuffer { get; set; } = 1024;

    /// <summary>How often this process renews its listener registrations and stream slots (well within their 90 s lease).</summary>
    public TimeSpan RenewInterval { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>Checks <see cref="EventStreamOptions"/> at start-up.</summary>
public sealed class EventStreamOptionsValidator : IValidateOptions<EventStreamOptions>
{
    public ValidateOptionsResult Validate(string? name, EventStreamOptions o) =>
        o.Heartbeat > TimeSpan.Zero && o.ConnectionBuffer >= 16 && o.RenewInterval > TimeSpan.Zero && o.RenewInterval <= TimeSpan.FromSeconds(60)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(
                "Events: Heartbeat must be positive, ConnectionBuffer at least 16, RenewInterval between zero and 60 s (listener leases last 90 s).");
}
