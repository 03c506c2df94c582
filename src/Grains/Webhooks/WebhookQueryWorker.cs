using Orleans.Concurrency;

namespace ApiPlatform.Grains.Webhooks;

/// <inheritdoc cref="IWebhookQueryWorker"/>
[StatelessWorker]
[Reentrant]
public sealed class WebhookQueryWorker(WebhookStore store) : Grain, IWebhookQueryWorker
{
    public async Task<WebhookList> ListAsync(string ownerId, int offset, int limit)
    {
        var (items, total) = await store.ListAsync(ownerId, offset, limit);
        return new WebhookList(items.Select(r => r.View()).ToList(), total);
    }
}
