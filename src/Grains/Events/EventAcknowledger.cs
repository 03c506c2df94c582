using Microsoft.Extensions.Logging;

namespace ApiPlatform.Grains.Events;

/// <summary>
/// A silo's acknowledgements of events that needed no transaction of their own (no webhook work), written together:
/// whatever the owners' consumers on this silo acknowledged within <see cref="FlushDelay"/> goes to the database in one
/// statement. It runs only while acknowledgements wait, so an idle silo writes nothing; an acknowledgement lost with a
/// crash only makes the sweep republish events their consumers then skip.
/// </summary>
public sealed partial class EventAcknowledger(EventStore store, ILogger<EventAcknowledger> logger)
{
    /// <summary>How long acknowledgements gather before they are written.</summary>
    public static readonly TimeSpan FlushDelay = TimeSpan.FromMilliseconds(200);

    private readonly Lock _gate = new();
    private Dictionary<string, long> _pending = new(StringComparer.Ordinal);
    private bool _flushing;

    /// <summary>Records that the owner's events up to <paramref name="seq"/> were consumed.</summary>
    public void Acknowledge(string ownerId, long seq)
    {
        lock (_gate)
        {
            if (!_pending.TryGetValue(ownerId, out var known) || known < seq)
            {
                _pending[ownerId] = seq;
            }

            if (_flushing)
            {
                return;
            }

            _flushing = true;
        }

        _ = Task.Run(FlushAsync);
    }

    private async Task FlushAsync()
    {
        var failures = 0;
        while (true)
        {
            await Task.Delay(failures == 0 ? FlushDelay : TimeSpan.FromSeconds(Math.Min(30, 1 << Math.Min(failures, 5))));
            Dictionary<string, long> batch;
            lock (_gate)
            {
                if (_pending.Count == 0)
                {
                    _flushing = false;
                    return;
                }

                batch = _pending;
                _pending = new Dictionary<string, long>(StringComparer.Ordinal);
            }

            try
            {
                await store.AcknowledgeAsync(batch);
                failures = 0;
            }
            catch (Exception e)
            {
                failures++;
                LogAcknowledgeFailed(logger, e, batch.Count);
                lock (_gate)
                {
                    foreach (var (owner, seq) in batch)
                    {
                        if (!_pending.TryGetValue(owner, out var known) || known < seq)
                        {
                            _pending[owner] = seq;
                        }
                    }
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing {Count} event acknowledgement(s) failed; will retry")]
    private static partial void LogAcknowledgeFailed(ILogger logger, Exception exception, int count);
}
