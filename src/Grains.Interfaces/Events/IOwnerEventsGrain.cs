namespace ApiPlatform.Grains.Events;

/// <summary>
/// One owner's event consumer (key: the owner id), implicitly subscribed to the owner's event streams. It processes
/// the owner's events in log order, exactly once per activation: the webhook fan-out, then the live listeners, then the
/// acknowledgement. Out-of-order or missing events are filled from the log, so nothing is skipped.
/// </summary>
[Alias("IOwnerEventsGrain")]
public interface IOwnerEventsGrain : IGrainWithStringKey
{
    /// <summary>
    /// Registers (or refreshes) a live listener for a while; answers the last position processed so far, after which
    /// every event will be pushed to it. Listeners that stop refreshing are dropped.
    /// </summary>
    [Alias("SubscribeAsync")]
    Task<long> SubscribeAsync(IEventListener listener);

    [Alias("UnsubscribeAsync")]
    Task UnsubscribeAsync(IEventListener listener);
}
