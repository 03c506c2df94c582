namespace ApiPlatform.Grains.Events;

/// <summary>
/// One queue of the event stream provider (keyed <c>provider/number</c>): the stream messages published to it, in
/// memory, until its pulling agent has read them. A read waits in the queue for the next message instead of the
/// agent polling for it, so an event is read the moment it is queued and an idle queue costs one call per wait.
/// </summary>
[Alias("IEventQueueGrain")]
public interface IEventQueueGrain : IGrainWithStringKey
{
    /// <summary>Queues one stream message; fails when the queue is full (the recovery sweep republishes it later).</summary>
    [Alias("EnqueueAsync")]
    Task EnqueueAsync(EventQueueMessage message);

    /// <summary>
    /// The messages after <paramref name="after"/> (at most <paramref name="max"/>), waiting up to
    /// <paramref name="wait"/> for one when there are none. <paramref name="after"/> also acknowledges: what the reader
    /// read up to it is dropped, but only if <paramref name="epoch"/> is this activation's (a reader of an earlier
    /// activation acknowledges nothing, and reads everything this one holds).
    /// </summary>
    [Alias("ReadAsync")]
    Task<EventQueueRead> ReadAsync(Guid epoch, long after, int max, TimeSpan wait);
}

/// <summary>A stream message as queued: its stream, its items and the publisher's request context; <see cref="Seq"/> is set by the queue.</summary>
[GenerateSerializer, Immutable, Alias("event-queue-message.v1")]
public sealed record EventQueueMessage(
    [property: Id(0)] StreamId StreamId,
    [property: Id(1)] IReadOnlyList<object> Items,
    [property: Id(2)] Dictionary<string, object>? RequestContext,
    [property: Id(3)] long Seq = 0);

/// <summary>What a read found: the queue activation's <see cref="Epoch"/> (the next read sends it back) and the messages.</summary>
[GenerateSerializer, Immutable, Alias("event-queue-read.v1")]
public sealed record EventQueueRead(
    [property: Id(0)] Guid Epoch,
    [property: Id(1)] IReadOnlyList<EventQueueMessage> Messages);
