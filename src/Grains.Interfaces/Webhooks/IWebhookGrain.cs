namespace ApiPlatform.Grains.Webhooks;

/// <summary>
/// Webhook management next to the data: a stateless worker on every silo working on the <c>webhooks</c> and
/// <c>webhook_deliveries</c> rows, so a gateway needs no database. Every method takes the caller's owner: another
/// tenant's webhook answers exactly as a missing one (<see cref="WebhookResult.NotFound"/>).
/// </summary>
[Alias("IWebhookGrain")]
public interface IWebhookGrain : IGrainWithIntegerKey
{
    /// <summary>Creates a webhook unless the owner holds <paramref name="maxWebhooks"/> already; answers the secret once.</summary>
    [Alias("CreateAsync")]
    Task<WebhookOutcome> CreateAsync(WebhookDraft draft, long maxWebhooks);

    [Alias("GetAsync")]
    Task<WebhookView?> GetAsync(string ownerId, string id);

    /// <summary>The owner's webhooks, newest first.</summary>
    [Alias("ListAsync")]
    Task<WebhookList> ListAsync(string ownerId, int offset, int limit);

    /// <summary>Applies a patch; enabling clears the reason it was disabled.</summary>
    [Alias("UpdateAsync")]
    Task<WebhookOutcome> UpdateAsync(string ownerId, string id, WebhookPatch patch);

    /// <summary>Deletes the webhook and drops its pending deliveries; false when it does not exist for this owner.</summary>
    [Alias("DeleteAsync")]
    Task<bool> DeleteAsync(string ownerId, string id);

    /// <summary>A new secret; the previous one keeps signing (as a second signature) for the configured overlap.</summary>
    [Alias("RotateSecretAsync")]
    Task<WebhookOutcome> RotateSecretAsync(string ownerId, string id);

    /// <summary>Queues a <c>webhook.test</c> event for this webhook only, whatever it subscribes to.</summary>
    [Alias("SendTestAsync")]
    Task<WebhookOutcome> SendTestAsync(string ownerId, string id);

    /// <summary>The webhook's deliveries, newest first; null when the webhook does not exist for this owner.</summary>
    [Alias("ListDeliveriesAsync")]
    Task<DeliveryList?> ListDeliveriesAsync(string ownerId, string id, int offset, int limit);

    /// <summary>Queues the delivery's event again as a new delivery (same event id), due now.</summary>
    [Alias("RedeliverAsync")]
    Task<WebhookOutcome> RedeliverAsync(string ownerId, string id, string deliveryId);
}
