using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Streams;

namespace ApiPlatform.Grains.Events;

/// <summary>
/// Publishes committed events on the owners' Orleans streams: one stream per owner and event family (namespace
/// <see cref="EventStreams"/>, key the owner id), one stream message per owner and family per commit. Runs off the
/// caller's grain scheduler and is not awaited by the request: a publication that fails is logged and left to the
/// recovery sweep, which republishes whatever no consumer acknowledged.
/// </summary>
public sealed partial class StreamEventPublisher(IClusterClient client, IOptions<EventOptions> options, ILogger<StreamEventPublisher> logger)
    : IEventPublisher
{
    private IStreamProvider? _provider;

    private IStreamProvider Provider => _provider ??= client.GetStreamProvider(EventStreams.Provider);

    public void Publish(IReadOnlyList<EventEnvelope> events)
    {
        if (!options.Value.PublishOnCommit)
        {
            return;
        }

        _ = Task.Run(() => PublishAsync(events));
    }

    /// <summary>Publishes a batch and waits for it to be queued (the sweep's republications).</summary>
    public async Task PublishAsync(IReadOnlyList<EventEnvelope> events, bool replay = false)
    {
        foreach (var group in events.GroupBy(e => (e.OwnerId, Namespace: EventStreams.NamespaceOf(e.Type))))
        {
            try
            {
                var stream = Provider.GetStream<EventBatch>(StreamId.Create(group.Key.Namespace, group.Key.OwnerId));
                await stream.OnNextAsync(new EventBatch(group.Key.OwnerId, group.OrderBy(e => e.Seq).ToList(), replay));
            }
            catch (Exception e)
            {
                LogPublishFailed(logger, e, group.Key.OwnerId, group.Count());
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Publishing {Count} event(s) of {OwnerId} failed; the recovery sweep will republish them")]
    private static partial void LogPublishFailed(ILogger logger, Exception exception, string ownerId, int count);
}
