using ApiPlatform.Grains.Events;

namespace ApiPlatform.Gateway.Events;

/// <summary>
/// One owner's events in this process, passed on in log order to the owner's connections here. Pushes that come
/// out of order or after a gap are held while the missing events are read from the log (every event before a
/// committed one is committed too, so the read always finds them).
/// </summary>
internal sealed class OwnerFeed(EventStreamHub hub, string ownerId)
{
    private const int ReadBatch = 500;

    private readonly Lock _gate = new();
    private readonly List<EventSubscription> _subscriptions = [];
    private readonly SortedDictionary<long, EventEnvelope> _held = [];
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _position = -1; // unknown until the registration answers
    private bool _filling;
    private bool _new = true;

    public string OwnerId => ownerId;

    public bool Closed { get; private set; }

    public Task Ready => _ready.Task;

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _subscriptions.Count;
            }
        }
    }

    /// <summary>The last position passed on to the connections.</summary>
    public long Position
    {
        get
        {
            lock (_gate)
            {
                return _position;
            }
        }
    }

    public bool TryAdd(EventSubscription subscription)
    {
        lock (_gate)
        {
            if (Closed)
            {
                return false;
            }

            _subscriptions.Add(subscription);
            return true;
        }
    }

    /// <summary>True once: for the caller that must register the feed.</summary>
    public bool IsNew()
    {
        lock (_gate)
        {
            var isNew = _new;
            _new = false;
            return isNew;
        }
    }

    /// <summary>Removes a connection; true when it was the last (the feed is closed then).</summary>
    public bool Remove(EventSubscription subscription)
    {
        lock (_gate)
        {
            _subscriptions.Remove(subscription);
            if (_subscriptions.Count > 0 || Closed)
            {
                return false;
            }

            Closed = true;
            return true;
        }
    }

    public List<EventSubscription> Subscriptions()
    {
        lock (_gate)
        {
            return [.. _subscriptions];
        }
    }

    public void Registered(long position)
    {
        lock (_gate)
        {
            _position = Math.Max(_position, position);
            foreach (var seq in _held.Keys.Where(s => s <= _position).ToList())
            {
                _held.Remove(seq);
            }

            EmitContiguous();
        }

        _ready.TrySetResult();
        FillIfGap();
    }

    public void Failed(Exception exception) => _ready.TrySetException(exception);

    /// <summary>A renewal's answer: events up to <paramref name="position"/> were processed; any not seen here are read from the log.</summary>
    public void Refreshed(long position)
    {
        lock (_gate)
        {
            if (_position < 0 || position <= _position || _held.Count > 0 || _filling)
            {
                return;
            }
        }

        FillIfGap(upTo: position);
    }

    public void Accept(IReadOnlyList<EventEnvelope> events)
    {
        lock (_gate)
        {
            foreach (var e in events)
            {
                if (_position < 0 || e.Seq > _position)
                {
                    _held.TryAdd(e.Seq, e);
                }
            }

            if (_position >= 0)
            {
                EmitContiguous();
            }
        }

        FillIfGap();
    }

    // Under _gate.
    private void EmitContiguous()
    {
        while (_held.Remove(_position + 1, out var e))
        {
            _position = e.Seq;
            foreach (var subscription in _subscriptions)
            {
                subscription.Offer(e);
            }
        }
    }

    private void FillIfGap(long upTo = 0)
    {
        lock (_gate)
        {
            if (_filling || _position < 0 || (_held.Count == 0 && upTo <= _position))
            {
                return;
            }

            _filling = true;
        }

        _ = FillAsync(upTo);
    }

    /// <summary>Reads the missing events from the log until nothing before a held event (or <paramref name="upTo"/>) is missing.</summary>
    private async Task FillAsync(long upTo)
    {
        try
        {
            while (true)
            {
                long after;
                long target;
                lock (_gate)
                {
                    target = Math.Max(upTo, _held.Count > 0 ? _held.First().Key - 1 : 0);
                    if (Closed || target <= _position)
                    {
                        return;
                    }

                    after = _position;
                }

                var events = await hub.Log.ReadAfterAsync(OwnerId, after, (int)Math.Min(ReadBatch, target - after));
                lock (_gate)
                {
                    if (events.Count == 0 || events[0].Seq > _position + 1)
                    {
                        // Purged past retention: continue at what exists.
                        _position = events.Count > 0 ? events[0].Seq - 1 : target;
                    }

                    foreach (var e in events)
                    {
                        if (e.Seq > _position)
                        {
                            _held.TryAdd(e.Seq, e);
                        }
                    }

                    EmitContiguous();
                }
            }
        }
        catch (Exception e)
        {
            EventStreamHub.LogRegisterFailed(hub.Logger, e, OwnerId);
        }
        finally
        {
            lock (_gate)
            {
                _filling = false;
            }
        }
    }
}
