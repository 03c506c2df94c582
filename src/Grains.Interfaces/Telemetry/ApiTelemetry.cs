using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ApiPlatform.Grains.Telemetry;

/// <summary>
/// The product's own telemetry: the <c>ApiPlatform</c> meter and activity source. Every instrument of the product is
/// declared here, with one method per fact, so a feature records a fact in one line and the exported names stay in
/// one place (docs/observability.md lists them; k8s/observability/grafana-dashboard.json queries them).
/// </summary>
/// <remarks>
/// The recording methods run on hot paths (every request): they allocate nothing. Tag values are strings the caller
/// already holds or cached boxes (status codes), passed through the <c>Add</c>/<c>Record</c> overloads that take tags
/// as arguments rather than arrays. Without a listener (metrics off), an instrument's <c>Enabled</c> is false and a
/// call costs a field read. The meter is static, not per host: its instruments are process-wide facts, and test
/// processes that run several hosts see the sum of them.
/// </remarks>
public static class ApiTelemetry
{
    /// <summary>Name of the meter and of the activity source.</summary>
    public const string Name = "ApiPlatform";

    /// <summary>Spans the product starts itself (work that no request started, such as a webhook delivery).</summary>
    public static readonly ActivitySource ActivitySource = new(Name);

    /// <summary>Names of the spans <see cref="ActivitySource"/> starts without a parent: each may start a trace.</summary>
    public static class Spans
    {
        public const string WebhookDelivery = "webhook.deliver";
    }

    /// <summary>The span names the trace sampler lets start a trace of their own (besides HTTP requests).</summary>
    public static readonly IReadOnlySet<string> RootSpanNames = new HashSet<string>(StringComparer.Ordinal) { Spans.WebhookDelivery };

    private static readonly Meter Meter = new(Name);

    private static readonly Counter<long> Requests = Meter.CreateCounter<long>(
        "apiplatform.requests", "{request}", "HTTP requests answered, by route template, method and status code.");

    private static readonly Counter<long> RateLimitRefusals = Meter.CreateCounter<long>(
        "apiplatform.rate_limit.refusals", "{request}", "Requests refused with 429 because the credential's rate limit was spent, by plan ('anonymous' for client addresses).");

    private static readonly Counter<long> PlanLimitRefusals = Meter.CreateCounter<long>(
        "apiplatform.plan_limit.refusals", "{request}", "Requests refused with 402 because the owner's plan cap was reached, by plan and route template.");

    private static readonly Counter<long> WebhookDeliveries = Meter.CreateCounter<long>(
        "apiplatform.webhook.deliveries", "{attempt}", "Webhook delivery attempts, by outcome: succeeded, retrying (will be retried), failed (given up).");

    private static readonly Histogram<double> WebhookDeliveryDuration = Meter.CreateHistogram(
        "apiplatform.webhook.delivery.duration", "s", "Time of one webhook POST, from sending to the response (or the error), by outcome.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });

    private static readonly Histogram<double> EventLagHistogram = Meter.CreateHistogram(
        "apiplatform.events.lag", "s",
        "Time from an event's commit to a step of the event path, by stage: consumed (the owner's consumer took it off its stream or the log), handed_over (its webhook deliveries were stored and held by their endpoints' grains).",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] });

    private static readonly Histogram<int> GroupCommitSize = Meter.CreateHistogram(
        "apiplatform.group_commit.size", "{row}", "Rows written by one group-commit statement (resource creates on PostgreSQL).",
        advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128] });

    private static readonly Counter<long> ApiKeyCacheLookups = Meter.CreateCounter<long>(
        "apiplatform.api_key_cache.lookups", "{lookup}", "API-key verifications answered from this silo's memory (result=hit) or by the key's grain (result=miss).");

    private static readonly Counter<long> FailoverFallbacks = Meter.CreateCounter<long>(
        "apiplatform.failover.fallbacks", "{request}",
        "Requests served without an unreachable silo's grain: kind=stale_api_key, stale_account, rate_limit_local or read_retry.");

    private static readonly UpDownCounter<long> SseStreams = Meter.CreateUpDownCounter<long>(
        "apiplatform.sse.active_streams", "{stream}", "Server-sent event streams open on this process.");

    private static long _outboxDepth = -1;
    private static long _pendingDeliveries = -1;

    // Observed at collection time (a scrape or an export), never on a request path. A value of -1 means not sampled
    // yet (or not on this process): nothing is reported rather than a made-up zero.
    private static readonly ObservableGauge<long> Backlog = Meter.CreateObservableGauge(
        "apiplatform.webhook.backlog", ObserveBacklog, "{event}",
        "Work waiting in the database: queue=outbox (committed events no consumer acknowledged yet), queue=deliveries (deliveries due or waiting for a retry).");

    private static readonly object[] StatusCodes = Enumerable.Range(0, 600).Select(code => (object)code).ToArray();

    /// <summary>Route label of a request that matched no endpoint.</summary>
    public const string UnmatchedRoute = "unmatched";

    /// <summary>One answered HTTP request. <paramref name="route"/> is the route template, never the raw path.</summary>
    public static void RequestCompleted(string route, string method, int statusCode)
    {
        if (Requests.Enabled)
        {
            Requests.Add(1,
                new KeyValuePair<string, object?>("http.route", route),
                new KeyValuePair<string, object?>("http.request.method", method),
                new KeyValuePair<string, object?>("http.response.status_code", BoxStatus(statusCode)));
        }
    }

    public static void RateLimitRefused(string plan) =>
        RateLimitRefusals.Add(1, new KeyValuePair<string, object?>("plan", plan));

    public static void PlanLimitRefused(string plan, string route) =>
        PlanLimitRefusals.Add(1, new KeyValuePair<string, object?>("plan", plan), new KeyValuePair<string, object?>("http.route", route));

    /// <summary>Outcomes of <see cref="WebhookAttempted"/>.</summary>
    public static class DeliveryOutcome
    {
        public const string Succeeded = "succeeded";
        public const string Retrying = "retrying";
        public const string Failed = "failed";
    }

    public static void WebhookAttempted(string outcome, TimeSpan duration)
    {
        var tag = new KeyValuePair<string, object?>("outcome", outcome);
        WebhookDeliveries.Add(1, tag);
        WebhookDeliveryDuration.Record(duration.TotalSeconds, tag);
    }

    /// <summary>Stages of <see cref="EventLag"/>.</summary>
    public static class EventStage
    {
        public const string Consumed = "consumed";
        public const string HandedOver = "handed_over";
    }

    /// <summary>How long after its commit (<paramref name="committedAt"/>) an event reached <paramref name="stage"/>.</summary>
    public static void EventLag(string stage, DateTimeOffset committedAt, DateTimeOffset now)
    {
        if (EventLagHistogram.Enabled)
        {
            EventLagHistogram.Record(Math.Max(0, (now - committedAt).TotalSeconds), new KeyValuePair<string, object?>("stage", stage));
        }
    }

    public static void GroupCommitted(int rows) => GroupCommitSize.Record(rows);

    public static void ApiKeyCacheLookup(bool hit)
    {
        if (ApiKeyCacheLookups.Enabled)
        {
            ApiKeyCacheLookups.Add(1, new KeyValuePair<string, object?>("result", hit ? "hit" : "miss"));
        }
    }

    /// <summary>A request was served by one of the gateway's failover fallbacks (docs/operations.md, "Failure model").</summary>
    public static void FailoverFallback(string kind) => FailoverFallbacks.Add(1, new KeyValuePair<string, object?>("kind", kind));

    /// <summary>An SSE stream opened; dispose the result when it closes.</summary>
    public static SseStreamScope SseStreamOpened()
    {
        SseStreams.Add(1);
        return default;
    }

    /// <summary>Closes the SSE stream count taken by <see cref="SseStreamOpened"/>.</summary>
    public readonly struct SseStreamScope : IDisposable
    {
        public void Dispose() => SseStreams.Add(-1);
    }

    /// <summary>The latest sample of the database backlog (taken by a background sampler, not by the scrape).</summary>
    public static void BacklogSampled(long outbox, long pendingDeliveries)
    {
        Interlocked.Exchange(ref _outboxDepth, outbox);
        Interlocked.Exchange(ref _pendingDeliveries, pendingDeliveries);
    }

    private static IEnumerable<Measurement<long>> ObserveBacklog()
    {
        var outbox = Interlocked.Read(ref _outboxDepth);
        var deliveries = Interlocked.Read(ref _pendingDeliveries);
        if (outbox < 0)
        {
            return [];
        }

        return
        [
            new Measurement<long>(outbox, new KeyValuePair<string, object?>("queue", "outbox")),
            new Measurement<long>(deliveries, new KeyValuePair<string, object?>("queue", "deliveries")),
        ];
    }

    private static object BoxStatus(int statusCode) =>
        (uint)statusCode < (uint)StatusCodes.Length ? StatusCodes[statusCode] : statusCode;
}
