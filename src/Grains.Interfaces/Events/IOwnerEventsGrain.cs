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

    /// <summary>Where processing stands (for operators and tests): the next position, and the events held for later.</summary>
    [Alias("GetStateAsync")]
    Task<OwnerEventsState> GetStateAsync();
}

/// <summary>An owner's consumer: the next position it processes, and how many events it holds until their turn comes.</summary>
[GenerateSerializer, Immutable, Alias("owner-events-state.v1")]
public sealed record OwnerEventsState([property: Id(0)] long Next, [property: Id(1)] int Held);
