using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Grains.Webhooks;

/// <summary>
/// Moves committed events from <c>events_outbox</c> to <c>webhook_deliveries</c>, on every silo. Woken at once by
/// <see cref="EventSignals.Outbox"/> after a change on this silo commits, and polling every
/// <see cref="WebhookOptions.PollInterval"/> otherwise, so events committed by another silo, or before a crash, are
/// moved too. Never loses an event: the outbox row is deleted in the transaction that creates its deliveries.
/// </summary>
public sealed class EventRelay(WebhookStore store, EventSignals signals, ApiClock clock, IOptions<WebhookOptions> options,
    ILogger<EventRelay> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.DispatchEnabled)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            var moved = 0;
            try
            {
                moved = await store.RelayAsync(settings.BatchSize, clock.UtcNow);
                if (moved > 0)
                {
                    signals.Deliveries.Set();
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Never let the loop die (a dead background service would stop the host): the events stay in the outbox.
                logger.LogWarning(e, "Relaying webhook events failed; will retry");
            }

            // A full batch means more may be waiting: go again at once.
            if (moved < settings.BatchSize)
            {
                try
                {
                    await signals.Outbox.WaitAsync(settings.PollInterval, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
