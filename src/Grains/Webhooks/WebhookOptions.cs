namespace ApiPlatform.Grains.Webhooks;

/// <summary>Webhook delivery settings (configuration section <c>Webhooks</c>).</summary>
public sealed class WebhookOptions
{
    public const string Section = "Webhooks";

    /// <summary>The default retry delays after each failed attempt: 27.5 hours in all, then the endpoint is disabled.</summary>
    public static readonly IReadOnlyList<TimeSpan> DefaultRetrySchedule =
    [
        TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2),
        TimeSpan.FromHours(5), TimeSpan.FromHours(10), TimeSpan.FromHours(10),
    ];

    /// <summary>True lets webhooks target loopback, private and link-local addresses (development and tests).</summary>
    public bool AllowPrivateNetworks { get; set; }

    /// <summary>
    /// When set, the only destination ports webhooks may use (e.g. 443, 8443); checked when a URL is saved and again at
    /// each delivery. Unset or empty: any port.
    /// </summary>
    public int[]? AllowedPorts { get; set; }

    /// <summary>False stops this silo's relay and delivery worker (events stay queued in the database).</summary>
    public bool DispatchEnabled { get; set; } = true;

    /// <summary>How often the relay and the worker look for work when nothing signalled them.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long one POST may take, connection included.</summary>
    public TimeSpan DeliveryTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a rotated-out secret still signs deliveries, as a second signature.</summary>
    public TimeSpan SecretRotationOverlap { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Events or deliveries taken per round.</summary>
    public int BatchSize { get; set; } = 50;

    /// <summary>Deliveries in flight at once per silo.</summary>
    public int MaxConcurrentDeliveries { get; set; } = 8;

    /// <summary>Retry delays (<c>Webhooks:RetrySchedule:0</c>, <c>:1</c>, ...); unset means <see cref="DefaultRetrySchedule"/>.</summary>
    public TimeSpan[]? RetrySchedule { get; set; }

    public IReadOnlyList<TimeSpan> Schedule => RetrySchedule is { Length: > 0 } schedule ? schedule : DefaultRetrySchedule;
}
