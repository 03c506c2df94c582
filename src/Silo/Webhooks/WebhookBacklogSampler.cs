using ApiPlatform.Grains.Telemetry;
using ApiPlatform.Grains.Webhooks;

namespace ApiPlatform.Silo.Webhooks;

/// <summary>
/// Samples the webhook backlog (outbox rows and pending deliveries) for the <c>apiplatform.webhook.backlog</c> gauge.
/// A background sample rather than a query per scrape: a scrape must stay cheap and never wait on the database, and
/// a backlog moves slowly enough that a value up to <see cref="Interval"/> old tells an operator what it must.
/// Every silo samples the same shared tables, so dashboards take the maximum across silos, not the sum.
/// </summary>
public sealed class WebhookBacklogSampler(WebhookStore store, ILogger<WebhookBacklogSampler> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(15);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        do
        {
            try
            {
                var (outbox, deliveries) = await store.CountBacklogAsync();
                ApiTelemetry.BacklogSampled(outbox, deliveries);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // The database being away is reported by readiness; the gauge keeps its last value meanwhile.
                logger.LogDebug(e, "Sampling the webhook backlog failed");
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
