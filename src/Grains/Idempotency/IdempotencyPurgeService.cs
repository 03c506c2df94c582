using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Grains.Idempotency;

/// <summary>
/// Deletes Idempotency-Key records past their retention, so storage does not grow forever. Runs on every silo;
/// the delete is idempotent, so overlapping runs are harmless.
/// </summary>
public sealed class IdempotencyPurgeService(IdempotencyStore store, IOptions<IdempotencyOptions> options, ApiClock clock,
    ILogger<IdempotencyPurgeService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.PurgeInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var purged = await store.PurgeAsync(clock.UtcNow - options.Value.Retention);
                if (purged > 0)
                {
                    logger.LogInformation("Purged {Count} expired idempotency keys", purged);
                }
            }
            catch (System.Data.Common.DbException e)
            {
                logger.LogWarning(e, "Purging expired idempotency keys failed; will retry");
            }
        }
    }
}
