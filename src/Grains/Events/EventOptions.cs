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
    /// Memory-stream queues of the cluster, each pulled by one silo's agent every <see cref="StreamPollInterval"/>:
    /// the in-memory work of an idle cluster grows with their number, its throughput too (one agent reads a few
    /// thousand messages a second).
    /// </summary>
    public int StreamQueues { get; set; } = 2;

    /// <summary>
    /// How often a pulling agent looks into its memory-stream queue: the added latency of the stream hop, and the
    /// in-memory work of an idle silo (no database is involved).
    /// </summary>
    public TimeSpan StreamPollInterval { get; set; } = TimeSpan.FromMilliseconds(20);

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

        if (o.StreamPollInterval < TimeSpan.FromMilliseconds(1) || o.StreamPollInterval > TimeSpan.FromSeconds(5))
        {
            errors.Add("Events:StreamPollInterval must be between 1 ms and 5 s.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
