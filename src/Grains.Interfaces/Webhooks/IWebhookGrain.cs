using Orleans.Concurrency;

namespace ApiPlatform.Grains.Webhooks;

/// <summary>
/// One webhook endpoint (key: its <c>wh_…</c> id): its configuration and its delivery schedule. It is the only
/// sender of its deliveries: it sends them in event order, a few at a time, retries on the schedule, keeps a circuit
/// breaker, and stops every pending retry the moment it is disabled or deleted or its owner is deleted. Every method
/// that a tenant reaches takes the caller's owner: another tenant's endpoint answers exactly as a missing one
/// (<see cref="WebhookStatus.NotFound"/>).
/// </summary>
[Alias("IWebhookGrain")]
public interface IWebhookGrain : IGrainWithStringKey
{
    /// <summary>Creates this endpoint unless the owner holds <paramref name="maxWebhooks"/> already; answers the secret once.</summary>
    [Alias("CreateAsync")]
    Task<WebhookOutcome> CreateAsync(WebhookDraft draft, long maxWebhooks);

    [AlwaysInterleave]
    [Alias("GetAsync")]
    Task<WebhookView?> GetAsync(string ownerId);

    /// <summary>Applies a patch; enabling clears the reason it was disabled, disabling fails every pending delivery.</summary>
    [Alias("UpdateAsync")]
    Task<WebhookOutcome> UpdateAsync(string ownerId, WebhookPatch patch);

    /// <summary>Deletes the endpoint and its deliveries; false when it does not exist for this owner.</summary>
    [Alias("DeleteAsync")]
    Task<bool> DeleteAsync(string ownerId);

    /// <summary>A new secret; the previous one keeps signing (as a second signature) for the configured overlap.</summary>
    [Alias("RotateSecretAsync")]
    Task<WebhookOutcome> RotateSecretAsync(string ownerId);

    /// <summary>Queues a <c>webhook.test</c> event for this endpoint only, whatever it subscribes to (per-endpoint limit).</summary>
    [Alias("SendTestAsync")]
    Task<WebhookOutcome> SendTestAsync(string ownerId);

    /// <summary>The endpoint's deliveries, newest first; null when it does not exist for this owner.</summary>
    [AlwaysInterleave]
    [Alias("ListDeliveriesAsync")]
    Task<DeliveryList?> ListDeliveriesAsync(string ownerId, int offset, int limit);

    /// <summary>Queues the delivery's event again as a new delivery (same event id), due now (per-endpoint limit).</summary>
    [Alias("RedeliverAsync")]
    Task<WebhookOutcome> RedeliverAsync(string ownerId, string deliveryId);

    /// <summary>
    /// Deliveries the event fan-out has just stored for this endpoint, in event order. Not one-way: the caller awaits
    /// it so that successive runs arrive in order.
    /// </summary>
    [Alias("EnqueueAsync")]
    Task EnqueueAsync(IReadOnlyList<QueuedDelivery> deliveries);

    /// <summary>The recovery sweep: some stored delivery of this endpoint is due; load the schedule if it is not loaded.</summary>
    [OneWay]
    [Alias("WakeAsync")]
    Task WakeAsync();

    /// <summary>
    /// An attempt answered 2xx gave its sending slot back (before its result is written) while deliveries waited for a
    /// slot: start them now rather than when the result is reported.
    /// </summary>
    [OneWay]
    [Alias("SlotFreedAsync")]
    Task SlotFreedAsync();

    /// <summary>The owner was deleted (the endpoint was disabled in that transaction): drop every pending retry now.</summary>
    [Alias("OwnerDeletedAsync")]
    Task OwnerDeletedAsync();

    /// <summary>The results of attempts, reported together once their records were written (group commit).</summary>
    [OneWay]
    [Alias("AttemptsDoneAsync")]
    Task AttemptsDoneAsync(IReadOnlyList<AttemptOutcome> results);

    /// <summary>What the schedule holds now: circuit state, queued and in-flight deliveries (operations and tests).</summary>
    [AlwaysInterleave]
    [Alias("GetDeliveryStateAsync")]
    Task<DeliveryState> GetDeliveryStateAsync();
}

/// <summary>Lists of webhooks next to the data (a stateless worker on every silo).</summary>
[Alias("IWebhookQueryWorker")]
public interface IWebhookQueryWorker : IGrainWithIntegerKey
{
    /// <summary>The owner's webhooks, newest first.</summary>
    [Alias("ListAsync")]
    Task<WebhookList> ListAsync(string ownerId, int offset, int limit);
}
