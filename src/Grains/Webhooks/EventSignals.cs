namespace ApiPlatform.Grains.Webhooks;

/// <summary>
/// Wakes this silo's <see cref="EventRelay"/> (an event was committed to the outbox) and delivery worker (a delivery is
/// due now). A lost signal only delays work until the next poll.
/// </summary>
public sealed class EventSignals
{
    public Signal Outbox { get; } = new();

    public Signal Deliveries { get; } = new();
}

/// <summary>An auto-reset signal: many sets before a wait wake it once.</summary>
public sealed class Signal
{
    private readonly SemaphoreSlim _semaphore = new(0, 1);

    public void Set()
    {
        try
        {
            _semaphore.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already set.
        }
    }

    /// <summary>Waits for a set or the timeout, whichever comes first.</summary>
    public async Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        await _semaphore.WaitAsync(timeout, cancellationToken);
}
