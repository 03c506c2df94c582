using System.Data.Common;
using ApiPlatform.Grains.Events;
using ApiPlatform.Grains.Storage;
using ApiPlatform.Grains.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Grains.Webhooks;

/// <summary>An event needs the webhook fan-out when an enabled endpoint of its owner subscribes to its type.</summary>
public sealed class WebhookSubscriptions : IEventSubscriptions
{
    public string ConditionSql(string ownerIdExpression, string typeExpression) =>
        $"EXISTS (SELECT 1 FROM webhooks w WHERE w.owner_id = {ownerIdExpression} AND w.enabled AND {WebhookStore.SubscribesSql("w.events", typeExpression)})";

    public Task<IReadOnlyList<string>> CloseOwnerAsync(DbConnection connection, DbTransaction transaction, string ownerId, long finalSeq, DateTimeOffset now) =>
        WebhookStore.CloseOwnerAsync(connection, transaction, ownerId, finalSeq, now);

    public async Task OwnerClosedAsync(Database database, IGrainFactory grains, string ownerId)
    {
        var endpoints = await WebhookStore.EndpointIdsAsync(database, ownerId);
        await Task.WhenAll(endpoints.Select(id => grains.GetGrain<IWebhookGrain>(id).OwnerDeletedAsync()));
    }
}

/// <summary>
/// The webhook side of an owner's events: stores a pending delivery per subscribed endpoint and event (acknowledging
/// the events in that transaction), then hands each endpoint's grain its new deliveries. The owners' runs that reach
/// this silo together are stored in one statement (<see cref="GroupCommit{TItem, TResult}"/>): with many owners, each
/// run is a few events, and one transaction per run was most of the fan-out's cost.
/// </summary>
/// <remarks>
/// The hand-over is awaited, not one-way: Orleans does not keep two messages to one grain in the order they were
/// sent (the first can wait on a directory lookup the second no longer needs), and an endpoint sends what it holds in
/// the order it received it, so run n must be held before run n + 1 is sent. A failed hand-over is only logged: the
/// deliveries are stored, and the recovery sweep wakes the endpoint for them.
/// </remarks>
public sealed partial class WebhookDispatcher : IEventConsumer
{
    private readonly IGrainFactory _grains;
    private readonly ApiClock _clock;
    private readonly ILogger<WebhookDispatcher> _logger;
    private readonly GroupCommit<OwnerRun, List<(string WebhookId, QueuedDelivery Delivery)>> _fanOut;

    public WebhookDispatcher(WebhookStore store, IGrainFactory grains, ApiClock clock, ILogger<WebhookDispatcher> logger)
    {
        _grains = grains;
        _clock = clock;
        _logger = logger;
        _fanOut = new(runs => store.FanOutAsync(runs, clock.UtcNow), maxGroup: 64);
    }

    public async Task<bool> ConsumeAsync(string ownerId, IReadOnlyList<EventEnvelope> events)
    {
        if (!events.Any(e => e.Deliver))
        {
            return false;
        }

        var created = await _fanOut.AddAsync(new OwnerRun(ownerId, events, events[^1].Seq));
        await Task.WhenAll(created.GroupBy(c => c.WebhookId).Select(endpoint => HandOverAsync(endpoint.Key, [.. endpoint.Select(c => c.Delivery)])));
        var now = _clock.UtcNow;
        foreach (var e in events)
        {
            if (e.Deliver)
            {
                ApiTelemetry.EventLag(ApiTelemetry.EventStage.HandedOver, e.CreatedAt, now);
            }
        }

        return true;
    }

    private async Task HandOverAsync(string webhookId, IReadOnlyList<QueuedDelivery> deliveries)
    {
        try
        {
            await _grains.GetGrain<IWebhookGrain>(webhookId).EnqueueAsync(deliveries);
        }
        catch (Exception e)
        {
            LogHandOverFailed(_logger, e, webhookId, deliveries.Count);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Handing {Count} deliveries to webhook {WebhookId} failed; the sweep wakes it for them")]
    private static partial void LogHandOverFailed(ILogger logger, Exception exception, string webhookId, int count);
}

/// <summary>The webhooks' part of the recovery sweep: wake endpoints whose deliveries fall due, purge the delivery log.</summary>
public sealed partial class WebhookSweepTask(WebhookStore store, IGrainFactory grains, IOptions<WebhookOptions> options, ILogger<WebhookSweepTask> logger)
    : ISweepTask
{
    private const int MaxWakes = 10_000;
    private const int PurgeBatch = 5000;

    public async Task SweepAsync(DateTimeOffset now, DateTimeOffset horizon)
    {
        foreach (var id in await store.DueEndpointsAsync(horizon, MaxWakes))
        {
            // One-way: an endpoint whose grain already holds its schedule ignores the call.
            _ = grains.GetGrain<IWebhookGrain>(id).WakeAsync();
        }
    }

    public async Task PurgeAsync(DateTimeOffset now)
    {
        var purged = 0;
        int deleted;
        do
        {
            deleted = await store.PurgeDeliveriesAsync(now - options.Value.DeliveryRetention, PurgeBatch);
            purged += deleted;
        }
        while (deleted == PurgeBatch);

        if (purged > 0)
        {
            LogPurged(logger, purged);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Purged {Count} finished webhook deliveries past retention")]
    private static partial void LogPurged(ILogger logger, int count);
}
