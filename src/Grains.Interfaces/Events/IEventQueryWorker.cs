namespace ApiPlatform.Grains.Events;

/// <summary>
/// Reads of the event log next to the data (a stateless worker on every silo), so a gateway needs no database: the
/// event list, one event, and the log after a position (SSE resume and gap filling).
/// </summary>
[Alias("IEventQueryWorker")]
public interface IEventQueryWorker : IGrainWithIntegerKey
{
    [Alias("ListAsync")]
    Task<EventPage> ListAsync(EventQuery query);

    /// <summary>The owner's event; null when it does not exist for this owner (or was purged).</summary>
    [Alias("GetAsync")]
    Task<EventEnvelope?> GetAsync(string ownerId, string eventId);

    /// <summary>The number of the owner's last committed event (0: none yet).</summary>
    [Alias("HeadAsync")]
    Task<long> HeadAsync(string ownerId);

    /// <summary>Up to <paramref name="limit"/> of the owner's events after <paramref name="afterSeq"/>, in log order.</summary>
    [Alias("ReadAfterAsync")]
    Task<IReadOnlyList<EventEnvelope>> ReadAfterAsync(string ownerId, long afterSeq, int limit);
}
