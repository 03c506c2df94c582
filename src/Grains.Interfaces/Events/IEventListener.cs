using Orleans.Concurrency;

namespace ApiPlatform.Grains.Events;

/// <summary>
/// A process that holds live event subscriptions (SSE connections) for some owners: the owner's
/// <see cref="IOwnerEventsGrain"/> pushes each owner's events to it in log order as they are processed.
/// </summary>
[Alias("IEventListener")]
public interface IEventListener : IGrainObserver
{
    /// <summary>Events of one owner, in log order. One-way: a slow or gone listener never holds up the owner's grain.</summary>
    [OneWay]
    [Alias("OnEventsAsync")]
    Task OnEventsAsync(EventBatch batch);
}
