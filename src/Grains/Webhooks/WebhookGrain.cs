using System.Security.Cryptography;
using ApiPlatform.Grains.Resources;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace ApiPlatform.Grains.Webhooks;

/// <inheritdoc cref="IWebhookGrain"/>
/// <remarks>
/// No cached state: every call reads and writes the rows, versioned, so the delivery worker (which disables failing
/// webhooks) and the API never overwrite each other's changes.
/// </remarks>
[StatelessWorker]
public sealed class WebhookGrain(WebhookStore store, ApiClock clock, IOptions<WebhookOptions> options) : Grain, IWebhookGrain
{
    public async Task<WebhookOutcome> CreateAsync(WebhookDraft draft, long maxWebhooks)
    {
        if (await NetworkPolicy.CheckUrlAsync(draft.Url, options.Value) is { } error)
        {
            return new WebhookOutcome(WebhookResult.InvalidUrl, Error: error);
        }

        var now = Now();
        var secret = draft.Secret ?? NewSecret();
        var row = new WebhookRow(Ids.New(Ids.Webhook), draft.OwnerId, draft.Url, draft.Events, draft.Description, secret, null, null,
            draft.Enabled, null, now, now, 1);
        return await store.InsertAsync(row, maxWebhooks)
            ? new WebhookOutcome(WebhookResult.Done, row.View(), secret)
            : new WebhookOutcome(WebhookResult.PlanLimitReached);
    }

    public async Task<WebhookView?> GetAsync(string ownerId, string id) => (await store.LoadAsync(ownerId, id))?.View();

    public async Task<WebhookList> ListAsync(string ownerId, int offset, int limit)
    {
        var (items, total) = await store.ListAsync(ownerId, offset, limit);
        return new WebhookList(items.Select(r => r.View()).ToList(), total);
    }

    public async Task<WebhookOutcome> UpdateAsync(string ownerId, string id, WebhookPatch patch)
    {
        if (patch.Url is { } url && await NetworkPolicy.CheckUrlAsync(url, options.Value) is { } error)
        {
            return new WebhookOutcome(WebhookResult.InvalidUrl, Error: error);
        }

        return await WriteAsync(ownerId, id, current =>
        {
            var enabled = patch.Enabled ?? current.Enabled;
            return current with
            {
                Url = patch.Url ?? current.Url,
                Events = patch.Events ?? current.Events,
                Description = patch.ClearDescription ? null : patch.Description ?? current.Description,
                Enabled = enabled,
                // Enabling clears why it was disabled; an owner's own disabling has no reason to show.
                DisabledReason = enabled ? null : current.DisabledReason,
            };
        });
    }

    public Task<bool> DeleteAsync(string ownerId, string id) => store.DeleteAsync(ownerId, id);

    public async Task<WebhookOutcome> RotateSecretAsync(string ownerId, string id)
    {
        var secret = NewSecret();
        var outcome = await WriteAsync(ownerId, id, current => current with
        {
            Secret = secret,
            PreviousSecret = current.Secret,
            PreviousSecretExpiresAt = Now() + options.Value.SecretRotationOverlap,
        });
        return outcome.Result == WebhookResult.Done ? outcome with { Secret = secret } : outcome;
    }

    public async Task<WebhookOutcome> SendTestAsync(string ownerId, string id)
    {
        if (await store.LoadAsync(ownerId, id) is null)
        {
            return new WebhookOutcome(WebhookResult.NotFound);
        }

        var now = Now();
        var delivery = await store.InsertDeliveryAsync(id, ownerId, WebhookEvents.ForTest(ownerId, id, now), null, now);
        Signals()?.Deliveries.Set();
        return new WebhookOutcome(WebhookResult.Done, Delivery: delivery);
    }

    public async Task<DeliveryList?> ListDeliveriesAsync(string ownerId, string id, int offset, int limit)
    {
        if (await store.LoadAsync(ownerId, id) is null)
        {
            return null;
        }

        var (items, total) = await store.ListDeliveriesAsync(id, offset, limit);
        return new DeliveryList(items, total);
    }

    public async Task<WebhookOutcome> RedeliverAsync(string ownerId, string id, string deliveryId)
    {
        if (await store.LoadAsync(ownerId, id) is null || await store.LoadDeliveryEventAsync(ownerId, id, deliveryId) is not { } e)
        {
            return new WebhookOutcome(WebhookResult.NotFound);
        }

        var delivery = await store.InsertDeliveryAsync(id, ownerId, e, deliveryId, Now());
        Signals()?.Deliveries.Set();
        return new WebhookOutcome(WebhookResult.Done, Delivery: delivery);
    }

    /// <summary>Applies <paramref name="change"/> to the current row, retrying when the row moved underneath (the worker disabled it).</summary>
    private async Task<WebhookOutcome> WriteAsync(string ownerId, string id, Func<WebhookRow, WebhookRow> change)
    {
        for (var attempt = 0; ; attempt++)
        {
            if (await store.LoadAsync(ownerId, id) is not { } current)
            {
                return new WebhookOutcome(WebhookResult.NotFound);
            }

            var changed = change(current);
            if (changed == current || Same(changed, current))
            {
                return new WebhookOutcome(WebhookResult.Done, current.View());
            }

            var next = changed with { UpdatedAt = Now(), Version = current.Version + 1 };
            if (await store.UpdateAsync(next, current.Version))
            {
                return new WebhookOutcome(WebhookResult.Done, next.View());
            }

            if (attempt == 3)
            {
                throw new InvalidOperationException($"Webhook {id} kept changing while being updated.");
            }
        }
    }

    private static bool Same(WebhookRow a, WebhookRow b) => a with { Events = b.Events } == b && a.Events.SequenceEqual(b.Events);

    private static string NewSecret() => "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    private EventSignals? Signals() => ServiceProvider.GetService<EventSignals>();

    private DateTimeOffset Now() => ResourceStore.FromMicros(ResourceStore.Micros(clock.UtcNow));
}
