using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Grains.Resources;

/// <summary>Wakes this silo's <see cref="ResourceIndexBuilder"/>: a type's indexes changed while it had resources.</summary>
public sealed class ResourceIndexSignal
{
    private readonly SemaphoreSlim _semaphore = new(0, 1);

    public void Set()
    {
        try
        {
            _semaphore.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already set.
        }
    }

    public async Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => await _semaphore.WaitAsync(timeout, cancellationToken);
}

/// <summary>
/// Re-indexes the resources of types whose indexes changed, on every silo: one batch per transaction
/// (<see cref="ResourceTypeStore.BuildNextAsync"/>), each type's row locked by one silo at a time, the position stored
/// with each batch, so a crash or restart resumes where the last committed batch ended. New writes index themselves
/// under the new declaration meanwhile; a field becomes queryable when its type's build finishes, and the type's grain
/// is told so at once (a grain that missed it rereads its row when a query finds the field still building).
/// </summary>
public sealed class ResourceIndexBuilder(
    ResourceTypeStore store, ResourceIndexSignal signal, IGrainFactory grains, IOptions<ResourceOptions> options, ILogger<ResourceIndexBuilder> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        while (!stoppingToken.IsCancellationRequested)
        {
            var worked = false;
            try
            {
                var (didWork, finished) = await store.BuildNextAsync(settings.IndexBuildBatchSize,
                    (metadata, type) => ResourceIndexValues.Compute(metadata, type, errors: null));
                worked = didWork;
                if (finished is not null)
                {
                    await grains.GetGrain<IResourceTypeGrain>(ResourceTypeRules.Key(finished.OwnerId, finished.Name)).ReloadAsync();
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // A failed batch rolled back; it is taken again on the next round.
                logger.LogWarning(e, "Re-indexing resources failed; will retry");
            }

            if (!worked)
            {
                try
                {
                    await signal.WaitAsync(settings.IndexBuildPollInterval, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
