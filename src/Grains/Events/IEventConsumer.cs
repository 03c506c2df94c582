namespace ApiPlatform.Grains.Events;

/// <summary>
/// A durable consumer of every owner's events, run by the owner's <see cref="OwnerEventsGrain"/> (the webhook
/// fan-out is one). It gets each owner's events once per consumer activation, in log order, as contiguous runs; it
/// must be idempotent by event id (a republished or refilled event comes again after a crash).
/// </summary>
public interface IEventConsumer
{
    /// <summary>
    /// Makes the run's effects durable. Answers true when it also acknowledged the run's last position in that same
    /// transaction (so no separate acknowledgement is needed); false leaves the acknowledgement to the caller.
    /// </summary>
    Task<bool> ConsumeAsync(string ownerId, IReadOnlyList<EventEnvelope> events);
}
