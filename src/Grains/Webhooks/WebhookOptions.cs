using Microsoft.Extensions.Options;

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

    /// <summary>How long one POST may take, connection included.</summary>
    public TimeSpan DeliveryTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long after its POST ended an attempt's result may take to be written and reported back to its endpoint.
    /// Past it the report is taken as lost: the endpoint frees the attempt's place and takes its schedule from the
    /// database again (which holds the result if it was written), rather than waiting for it for ever.
    /// </summary>
    public TimeSpan AttemptReportTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long a rotated-out secret still signs deliveries, as a second signature.</summary>
    public TimeSpan SecretRotationOverlap { get; set; } = TimeSpan.FromHours(24);

    /// <summary>POSTs in flight at once per endpoint: a slow endpoint delays only itself, and by this much at most.</summary>
    public int MaxConcurrentPerEndpoint { get; set; } = 4;

    /// <summary>Retry delays (<c>Webhooks:RetrySchedule:0</c>, <c>:1</c>, ...); unset means <see cref="DefaultRetrySchedule"/>.</summary>
    public TimeSpan[]? RetrySchedule { get; set; }

    public IReadOnlyList<TimeSpan> Schedule => RetrySchedule is { Length: > 0 } schedule ? schedule : DefaultRetrySchedule;

    /// <summary>The per-endpoint circuit breaker.</summary>
    public BreakerOptions Breaker { get; set; } = new();

    /// <summary>How long finished deliveries (succeeded or failed) stay in the delivery log.</summary>
    public TimeSpan DeliveryRetention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>The per-endpoint budget of <c>POST …/test</c> and <c>…/redeliver</c> calls (together).</summary>
    public ManualDeliveryOptions ManualDeliveries { get; set; } = new();

    /// <summary>How long the verdict on a webhook URL (its host's addresses) is reused.</summary>
    public TimeSpan UrlCheckCacheDuration { get; set; } = TimeSpan.FromSeconds(60);
}

/// <summary>After <see cref="FailureThreshold"/> consecutive failed attempts an endpoint's circuit opens.</summary>
public sealed class BreakerOptions
{
    public int FailureThreshold { get; set; } = 5;

    /// <summary>The first cool-down; each failed probe doubles it up to <see cref="MaxOpenDuration"/>.</summary>
    public TimeSpan OpenDuration { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan MaxOpenDuration { get; set; } = TimeSpan.FromMinutes(10);
}

/// <summary>A fixed window of manual deliveries per endpoint.</summary>
public sealed class ManualDeliveryOptions
{
    public int Limit { get; set; } = 10;

    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>Checks <see cref="WebhookOptions"/> at start-up.</summary>
public sealed class WebhookOptionsValidator : IValidateOptions<WebhookOptions>
{
    public ValidateOptionsResult Validate(string? name, WebhookOptions o)
    {
        var errors = new List<string>();
        if (o.DeliveryTimeout <= TimeSpan.Zero)
        {
            errors.Add("Webhooks:DeliveryTimeout must be positive.");
        }

        if (o.AttemptReportTimeout < TimeSpan.FromSeconds(1))
        {
            errors.Add("Webhooks:AttemptReportTimeout must be at least one second.");
        }

        if (o.MaxConcurrentPerEndpoint is < 1 or > 64)
        {
            errors.Add("Webhooks:MaxConcurrentPerEndpoint must be from 1 to 64.");
        }

        if (o.Schedule.Any(d => d < TimeSpan.Zero))
        {
            errors.Add("Webhooks:RetrySchedule delays must not be negative.");
        }

        if (o.Breaker.FailureThreshold < 1 || o.Breaker.OpenDuration <= TimeSpan.Zero || o.Breaker.MaxOpenDuration < o.Breaker.OpenDuration)
        {
            errors.Add("Webhooks:Breaker needs FailureThreshold ≥ 1, a positive OpenDuration and MaxOpenDuration ≥ OpenDuration.");
        }

        if (o.DeliveryRetention < TimeSpan.FromDays(2))
        {
            errors.Add("Webhooks:DeliveryRetention must be at least two days (a delivery is retried for more than a day).");
        }

        if (o.ManualDeliveries.Limit < 1 || o.ManualDeliveries.Window <= TimeSpan.Zero)
        {
            errors.Add("Webhooks:ManualDeliveries needs a Limit ≥ 1 and a positive Window.");
        }

        if (o.UrlCheckCacheDuration < TimeSpan.Zero)
        {
            errors.Add("Webhooks:UrlCheckCacheDuration must not be negative.");
        }

        if ((o.AllowedPorts ?? []).Any(p => p is < 1 or > 65535))
        {
            errors.Add("Webhooks: AllowedPorts must be 1-65535.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
