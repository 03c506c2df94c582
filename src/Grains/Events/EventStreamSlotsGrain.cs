namespace ApiPlatform.Grains.Events;

/// <inheritdoc cref="IEventStreamSlotsGrain"/>
public sealed class EventStreamSlotsGrain : Grain, IEventStreamSlotsGrain
{
    /// <summary>How long a slot lives without renewal; holders renew well within it.</summary>
    public static readonly TimeSpan Lease = TimeSpan.FromSeconds(90);

    private readonly Dictionary<string, long> _slots = new(StringComparer.Ordinal);

    public Task<bool> TryAcquireAsync(string connectionId, int max)
    {
        var now = Environment.TickCount64;
        foreach (var (id, until) in _slots.ToList())
        {
            if (until < now)
            {
                _slots.Remove(id);
            }
        }

        if (!_slots.ContainsKey(connectionId) && _slots.Count >= max)
        {
            return Task.FromResult(false);
        }

        _slots[connectionId] = now + (long)Lease.TotalMilliseconds;
        return Task.FromResult(true);
    }

    public Task RenewAsync(IReadOnlyList<string> connectionIds)
    {
        var until = Environment.TickCount64 + (long)Lease.TotalMilliseconds;
        foreach (var id in connectionIds)
        {
            // A slot that lapsed meanwhile is taken again: the connection is still open, so it counts.
            _slots[id] = until;
        }

        return Task.CompletedTask;
    }

    public Task ReleaseAsync(string connectionId)
    {
        _slots.Remove(connectionId);
        if (_slots.Count == 0)
        {
            DeactivateOnIdle();
        }

        return Task.CompletedTask;
    }
}
