using Orleans.Concurrency;

namespace ApiPlatform.Grains.Events;

/// <inheritdoc cref="IEventQueueGrain"/>
/// <remarks>
/// Reentrant: a read waiting for a message must let the enqueue that brings it in. Every method but the read runs
/// without an await, so no state changes under another call's feet.
/// </remarks>
[Reentrant]
public sealed class EventQueueGrain : Grain, IEventQueueGrain
{
    /// <summary>Messages held at most; a publication past it fails and is left to the recovery sweep.</summary>
    public const int Capacity = 16384;

    private readonly Queue<EventQueueMessage> _messages = new();
    private readonly Guid _epoch = Guid.NewGuid();

    // Sequence numbers grow across activations too (they start at the clock), as the agents' caches order by them.
    private long _next = DateTime.UtcNow.Ticks;
    private TaskCompletionSource? _arrived;

    public Task EnqueueAsync(EventQueueMessage message)
    {
        if (_messages.Count >= Capacity)
        {
            throw new InvalidOperationException($"Event queue {this.GetPrimaryKeyString()} holds {Capacity} messages already.");
        }

        _messages.Enqueue(message with { Seq = ++_next });
        var arrived = _arrived;
        _arrived = null;
        arrived?.TrySetResult();
        return Task.CompletedTask;
    }

    public async Task<EventQueueRead> ReadAsync(Guid epoch, long after, int max, TimeSpan wait)
    {
        if (epoch == _epoch)
        {
            while (_messages.TryPeek(out var head) && head.Seq <= after)
            {
                _messages.Dequeue();
            }
        }

        if (_messages.Count == 0 && wait > TimeSpan.Zero)
        {
            var arrived = (_arrived ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            using var timeout = new CancellationTokenSource();
            await Task.WhenAny(arrived, Task.Delay(wait, timeout.Token));
            await timeout.CancelAsync();
        }

        // Everything held now comes after what the reader acknowledged (or it read from another activation).
        var found = _messages.Take(max).ToList();
        return new EventQueueRead(_epoch, found);
    }
}
