using Orleans.Concurrency;

namespace ApiPlatform.Grains.Events;

/// <inheritdoc cref="IEventQueryWorker"/>
/// <remarks>Reentrant: every call is one read.</remarks>
[StatelessWorker]
[Reentrant]
public sealed class EventQueryWorker(EventStore store) : Grain, IEventQueryWorker
{
    /// <summary>Most events one read answers.</summary>
    public const int MaxRead = 1000;

    public Task<EventPage> ListAsync(EventQuery query) => store.ListAsync(query);

    public Task<EventEnvelope?> GetAsync(string ownerId, string eventId) => store.GetAsync(ownerId, eventId);

    public Task<long> HeadAsync(string ownerId) => store.HeadAsync(ownerId);

    public Task<IReadOnlyList<EventEnvelope>> ReadAfterAsync(string ownerId, long afterSeq, int limit) =>
        store.ReadAfterAsync(ownerId, afterSeq, Math.Clamp(limit, 1, MaxRead));
}
