using Microsoft.Extensions.Options;

namespace ApiPlatform.Grains.Events;

/// <summary>The event log, its streams and its recovery (configuration section <c>Events</c>).</summary>
public sealed class EventOptions
{
    public const string Section = "Events";

    /// <summary>How long events stay in the log (<c>GET /v1/events</c>, SSE resume); older ones are purged.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// An event no consumer acknowledged for this long is republished by the recovery sweep. Acknowledgements
    /// normally follow within a second; this bounds the delay after a silo died between commit and publish.
    /// </summary>
    public TimeSpan AcknowledgeTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The recovery sweep's reminder period (Orleans reminders tick at most once a minute).</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How often the sweep also purges the event and delivery logs.</summary>
    public TimeSpan PurgeInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How long an owner's consumer waits for a missing event (a later one arrived first) before reading it from the
    /// log; concurrent commits of one owner are usually published within milliseconds of each other.
    /// </summary>
    public TimeSpan GapWait { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Stream queues of the cluster (in memory, <see cref="EventQueueStreams"/>), each read by one silo's pulling agent:
    /// one agent reads a few thousand messages a second.
    /// </summary>
    public int StreamQueues { get; set; } = 2;

    /// <summary>
    /// How long a pulling agent's read waits in an empty queue before it comes back empty and starts again: the work
    /// an idle queue costs (one call per wait), not the latency (a read returns as soon as a message is queued).
    /// </summary>
    public TimeSpan StreamReadWait { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Retired with the agents' polling (they now wait in the queue, <see cref="StreamReadWait"/>). Bound only so that
    /// a configuration still setting it is refused at start-up by name instead of being ignored without a word.
    /// </summary>
    public string? StreamPollInterval { get; set; }

    /// <summary>
    /// False leaves every committed event to the recovery sweep instead of publishing it after the commit: only
    /// for exercising the recovery path (tests); a cluster runs with the default.
    /// </summary>
    public bool PublishOnCommit { get; set; } = true;
}

/// <summary>Checks <see cref="EventOptions"/> at start-up.</summary>
public sealed class EventOptionsValidator : IValidateOptions<EventOptions>
{
    public ValidateOptionsResult Validate(string? name, EventOptions o)
    {
        var errors = new List<string>();
        if (o.Retention < TimeSpan.FromHours(1))
        {
            errors.Add("Events:Retention must be at least one hour.");
        }

        if (o.AcknowledgeTimeout <= TimeSpan.Zero)
        {
            errors.Add("Events:AcknowledgeTimeout must be positive.");
        }

        if (o.SweepInterval < TimeSpan.FromMinutes(1))
        {
            errors.Add("Events:SweepInterval must be at least one minute (the shortest reminder period).");
        }

        if (o.PurgeInterval < o.SweepInterval)
        {
            errors.Add("Events:PurgeInterval must not be shorter than Events:SweepInterval.");
        }

        if (o.GapWait < TimeSpan.Zero || o.GapWait > TimeSpan.FromSeconds(10))
        {
            errors.Add("Events:GapWait must be between zero and ten seconds.");
        }

        if (o.StreamQueues is < 1 or > 64)
        {
            errors.Add("Events:StreamQueues must be from 1 to 64.");
        }

        if (o.StreamReadWait < TimeSpan.FromMilliseconds(10) || o.StreamReadWait > TimeSpan.FromSeconds(10))
        {
            errors.Add("Events:StreamReadWait must be between 10 ms and 10 s.");
        }

        if (o.StreamPollInterval is not null)
        {
            errors.Add("Events:StreamPollInterval is no longer read: stream agents wait in the queue instead of polling. "
                + "Remove it; Events:StreamReadWait sets how long an empty read waits.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
