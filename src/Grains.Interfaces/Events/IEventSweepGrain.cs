namespace ApiPlatform.Grains.Events;

/// <summary>
/// The cluster's one recovery sweep (key 0), woken by an Orleans reminder (and at silo start-up): republishes events
/// no consumer acknowledged within <c>Events:AcknowledgeTimeout</c>, wakes webhook endpoints whose retries fall due
/// (after a restart, or a long wait in which their grain was collected), and purges the event log and the delivery
/// log past their retention.
/// </summary>
[Alias("IEventSweepGrain")]
public interface IEventSweepGrain : IGrainWithIntegerKey
{
    /// <summary>Registers the reminder (idempotent) and sweeps once now.</summary>
    [Alias("StartAsync")]
    Task StartAsync();

    /// <summary>Sweeps once now: for a silo that just saw another one die.</summary>
    [Alias("SweepAsync")]
    Task SweepAsync();
}
